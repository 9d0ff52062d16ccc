/**
 * registerInstrumentations({ instrumentations: [new FlagSyncInstrumentation()] }) with no app code
 * change, for require() and for ESM import, each in its own Node process running the built package.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';

const run = promisify(execFile);
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
let standIn: StandIn;

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(async () => {
  await standIn.close();
});
afterEach(() => standIn.reset());

async function runFixture(args: string[], env: Record<string, string> = {}) {
  const { stdout } = await run(process.execPath, args, {
    cwd: fixtures,
    env: { ...process.env, FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY, FLAGSYNC_EVENTS_URL: standIn.url, ...env },
    timeout: 30_000,
  });
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  return JSON.parse(line!) as {
    served: string[];
    stats: { spanEvents: number; logEvents: number; sdkDelivered: Record<string, number> };
  };
}

function summary() {
  return {
    senders: [...new Set(standIn.batches.map((b) => b.sdkContext.sdkName))],
    impressions: standIn
      .impressions()
      .map((i) => [i.flagKey, i.flagValue, (i.context as { key: string }).key])
      .sort(),
    events: standIn
      .events()
      .map((e) => [e.eventKey, e.value ?? null, (e.context as { key: string }).key])
      .sort(),
  };
}

describe.each([
  ['CommonJS require', ['app.cjs']],
  ['ESM import (--import hook)', ['--import', './register-esm.mjs', 'app.mjs']],
])('auto-instrumentation: %s', (_name, args) => {
  it('instruments clients from FlagSyncFactory and delivers each call once', async () => {
    const { served, stats } = await runFixture(args);
    expect([stats.spanEvents, stats.logEvents]).toEqual([4, 2]);
    expect(Object.values(stats.sdkDelivered).every((n) => n === 0)).toBe(true);
    expect(summary()).toEqual({
      senders: ['flagsync-otel'],
      impressions: [
        ['number-one', 1, 'u4'],
        ...served.map((value, i) => ['register-button-copy', value, `u${i + 1}`]),
      ].sort(),
      events: [
        ['page_load_time', 321, 'u4'],
        ['purchase_event', null, 'u1'],
      ],
    });
  });

  it('disable() hands delivery back to the SDK', async () => {
    const { served } = await runFixture(args, { DISABLE_MIDWAY: '1' });
    const { impressions, events, senders } = summary();
    expect(senders.sort()).toEqual(['@flagsync/node-sdk', 'flagsync-otel']);
    expect(impressions).toEqual(
      [['number-one', 1, 'u4'], ...served.map((value, i) => ['register-button-copy', value, `u${i + 1}`])].sort(),
    );
    expect(events).toEqual([
      ['page_load_time', 321, 'u4'],
      ['purchase_event', null, 'u1'],
    ]);
    const native = standIn.batches
      .filter((b) => b.sdkContext.sdkName === '@flagsync/node-sdk')
      .flatMap((b) => b.items.map((i) => i.flagKey ?? i.eventKey));
    expect(native.sort()).toEqual(['number-one', 'page_load_time']);
  });
});
