/** The examples run as documented, against the stand-in, and deliver what they claim. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
let standIn: StandIn;
/** The team's usual tracing backend, as far as the OTLP exporter can tell. */
let otlpSink: OtlpSink;

beforeAll(async () => {
  standIn = await startStandIn();
  otlpSink = await startOtlpSink();
});
afterAll(async () => {
  await standIn.close();
  await otlpSink.close();
});

function env() {
  return {
    ...process.env,
    FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
    FLAGSYNC_EVENTS_URL: standIn.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpSink.url,
  };
}

describe('examples', () => {
  it('in-process: OTLP exporter and FlagSync exporters side by side', async () => {
    standIn.reset();
    const { stdout } = await run(process.execPath, ['examples/in-process/app.mjs'], {
      cwd: root,
      env: env(),
      timeout: 30_000,
    });
    const served = Object.fromEntries([...stdout.matchAll(/(\w+) sees "([^"]+)"/g)].map((m) => [m[1], m[2]]));
    expect(Object.keys(served)).toEqual(['alice', 'bob', 'carol']);
    expect(
      standIn
        .impressions()
        .map((i) => [(i.context as { key: string }).key, i.flagValue])
        .sort(),
    ).toEqual(Object.entries(served).sort());
    expect(JSON.stringify(standIn.batches)).not.toContain('@example.com');
    const purchases = Object.values(served).filter((copy) => copy !== 'Register').length;
    expect(standIn.events().filter((e) => e.eventKey === 'purchase_event')).toHaveLength(purchases);
    expect(standIn.events().filter((e) => e.eventKey === 'page_load_time')).toHaveLength(3);
    expect(new Set(standIn.batches.map((b) => b.sdkContext.sdkName))).toEqual(new Set(['flagsync-otel']));
    // The usual exporter got the same spans, flag events included.
    const otlp = otlpSink.traceBodies.join('');
    expect(otlp.split('GET /register').length - 1).toBe(3);
    expect(otlp).toContain('feature_flag.evaluation');
    otlpSink.traceBodies.length = 0;
  });

  it('auto-instrumentation: ESM app with no flagsync-otel import', async () => {
    standIn.reset();
    await run(
      process.execPath,
      ['--import', './examples/auto-instrumentation/otel-setup.mjs', 'examples/auto-instrumentation/app.mjs'],
      { cwd: root, env: env(), timeout: 30_000 },
    );
    const impressions = standIn.impressions();
    expect(impressions.map((i) => [i.flagKey, i.flagValue])).toEqual([
      ['price-multiplier', 1.5],
      ['price-multiplier', 1.5],
    ]);
    const keys = impressions.map((i) => (i.context as { key: string }).key);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{64}$/); // hashContextKey with a salt
    expect(standIn.events().map((e) => [(e.context as { key: string }).key, e.eventKey, e.value])).toEqual(
      keys.map((k) => [k, 'job_price_computed', 150]),
    );
  });
});
