/**
 * Variant names and reasons from node-sdk's downloaded flag definitions on `feature_flag.evaluation`, and the opt-in
 * `feature_flag.evaluations` counter read through a real MeterProvider (sdk-metrics of the repo's 3.x line).
 */
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { FlagSyncFactory as BrowserFlagSyncFactory } from '@flagsync/js-sdk';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installSdkDeliveryGuard } from '../../src/instrumentation/node-sdk-delivery-guard.js';
import { instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import type { FlagSyncInstrumentationOptions } from '../../src/types.js';
import { setupOtel, type TestOtel } from '../utils/otel.js';

let standIn: StandIn;
let otel: TestOtel | undefined;

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(async () => {
  await standIn.close();
});
afterEach(async () => {
  await otel?.shutdown();
  otel = undefined;
  metrics.disable();
  standIn.reset();
});

async function serverClient(options: FlagSyncInstrumentationOptions = {}) {
  await installSdkDeliveryGuard();
  const client = instrumentFlagSyncClient(
    FlagSyncFactory({ sdkKey: STANDIN_DEFAULT_SDK_KEY, urls: { sdk: standIn.url }, sync: { type: 'off' } }).client(),
    options,
  );
  await client.waitForReady();
  return client;
}

type Attrs = Record<string, unknown>;

function evaluations(o: TestOtel): Attrs[] {
  return o.spans
    .getFinishedSpans()
    .flatMap((s) => s.events)
    .filter((e) => e.name === 'feature_flag.evaluation')
    .map((e) => e.attributes as Attrs);
}

function pick(a: Attrs) {
  return {
    key: a['feature_flag.key'],
    variant: a['feature_flag.result.variant'],
    reason: a['feature_flag.result.reason'],
    error: a['error.type'],
  };
}

describe('feature_flag.result.variant and reason (node-sdk definitions)', () => {
  it('names the variant and the reason of each served value', async () => {
    otel = setupOtel();
    const o = otel;
    const client = await serverClient({ delivery: 'sdk' });
    const users = Array.from({ length: 12 }, (_, i) => ({ key: `user-${i}` }));
    o.tracer.startActiveSpan('request', (span) => {
      for (const user of users) client.flag(user, 'register-button-copy');
      client.flag({ key: 'u', attributes: { plan: 'pro' } }, 'price-multiplier');
      client.flag({ key: 'u', attributes: { plan: 'free' } }, 'price-multiplier');
      client.flag({ key: 'u' }, 'checkout-config');
      client.flag({ key: 'u' }, 'retired-banner');
      client.flag({ key: 'u' }, 'no-such-flag', 'dflt');
      client.flag({ key: 'u' }, 'stale-variant', 'fallback');
      span.end();
    });
    const seen = evaluations(o).map(pick);
    const copy = seen.filter((e) => e.key === 'register-button-copy');
    expect(copy).toHaveLength(12);
    for (const e of copy) {
      expect(['Register', 'Join Now', 'Sign Up']).toContain(e.variant);
      expect(e.reason).toBe('split');
    }
    const rest = seen.filter((e) => e.key !== 'register-button-copy');
    expect(rest).toEqual([
      { key: 'price-multiplier', variant: 'pro', reason: 'targeting_match', error: undefined },
      { key: 'price-multiplier', variant: 'standard', reason: 'default', error: undefined },
      { key: 'checkout-config', variant: 'grid', reason: 'static', error: undefined },
      { key: 'retired-banner', variant: 'off', reason: 'disabled', error: undefined },
      { key: 'no-such-flag', variant: undefined, reason: 'error', error: 'flag_not_found' },
      // node-sdk served undefined (the variant is gone), then the default: no definition names it.
      { key: 'stale-variant', variant: 'fallback', reason: 'default', error: undefined },
    ]);
  });

  it('omitFlagValues leaves the variant out too', async () => {
    otel = setupOtel();
    const o = otel;
    const client = await serverClient({ delivery: 'sdk', omitFlagValues: true });
    o.tracer.startActiveSpan('request', (span) => {
      client.flag({ key: 'u' }, 'new-checkout');
      span.end();
    });
    const [event] = evaluations(o);
    expect(event?.['feature_flag.result.variant']).toBeUndefined();
    expect(event?.['feature_flag.result.reason']).toBe('split');
  });
});

describe('feature_flag.evaluations (evaluationMetrics)', () => {
  async function withMeter() {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    return {
      async points() {
        await reader.forceFlush();
        const found = exporter
          .getMetrics()
          .flatMap((r) => r.scopeMetrics)
          .flatMap((s) => s.metrics)
          .filter((m) => m.descriptor.name === 'feature_flag.evaluations');
        const last = found.at(-1);
        return (last?.dataPoints ?? []).map((p): Attrs => ({ ...(p.attributes as Attrs), value: p.value }));
      },
      shutdown: () => provider.shutdown(),
    };
  }

  it('counts every flag() by key, variant, reason and error type, spans or not', async () => {
    const meter = await withMeter();
    const client = await serverClient({ delivery: 'sdk', evaluationMetrics: true });
    // No span and no LoggerProvider: nothing is recorded, the calls are still counted.
    for (let i = 0; i < 30; i++) client.flag({ key: `m-${i}` }, 'new-checkout');
    client.flag({ key: 'u' }, 'no-such-flag', false);
    const points = await meter.points();
    const checkout = points.filter((p) => p['feature_flag.key'] === 'new-checkout');
    expect(checkout.reduce((n, p) => n + (p.value as number), 0)).toBe(30);
    for (const p of checkout) {
      expect(['on', 'off']).toContain(p['feature_flag.result.variant']);
      expect(p['feature_flag.result.reason']).toBe('split');
      expect(Object.keys(p).sort()).toEqual([
        'feature_flag.key',
        'feature_flag.result.reason',
        'feature_flag.result.variant',
        'value',
      ]);
    }
    expect(points.filter((p) => p['feature_flag.key'] === 'no-such-flag')).toEqual([
      {
        'feature_flag.key': 'no-such-flag',
        'feature_flag.result.reason': 'error',
        'error.type': 'flag_not_found',
        value: 1,
      },
    ]);
    await meter.shutdown();
  });

  it('is off by default', async () => {
    const meter = await withMeter();
    const client = await serverClient({ delivery: 'sdk' });
    client.flag({ key: 'u' }, 'number-one');
    const points = await meter.points();
    expect(points.filter((p) => p['feature_flag.key'] === 'number-one')).toEqual([]);
    await meter.shutdown();
  });

  it('js-sdk: the string form of the served value, reason cached', async () => {
    const meter = await withMeter();
    const raw = BrowserFlagSyncFactory({
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      core: { key: 'browser-user' },
      urls: { sdk: standIn.url },
      sync: { type: 'off' },
    } as never).client();
    const client = instrumentFlagSyncClient(raw, { delivery: 'sdk', evaluationMetrics: true });
    await client.waitForReady();
    client.flag('number-one', 0);
    const points = await meter.points();
    expect(points.filter((p) => p['feature_flag.key'] === 'number-one')).toEqual([
      {
        'feature_flag.key': 'number-one',
        'feature_flag.result.variant': '1',
        'feature_flag.result.reason': 'cached',
        value: 1,
      },
    ]);
    client.kill();
    // kill() flushes with fetch: let it arrive before the stand-in closes.
    await standIn.waitFor(() => standIn.batches.some((b) => b.route === 'impressions' && b.audience === 'client'));
    await meter.shutdown();
  });
});
