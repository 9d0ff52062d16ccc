/**
 * End to end through the real collector built with the flagsync exporter (collector/manifest.yaml),
 * running the repo's collector-config.yaml unchanged (endpoints and paths from env): instrumented
 * app (real node-sdk, real OTel SDK, OTLP exporters) -> collector -> FlagSync stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { arrived, firstHalf, nativeReference, ofFirstHalf, runApp, secondHalf } from '../utils/e2e-app.js';
import { CHECKOUT_RULES_YAML, expectedCheckoutEvents, receivedEvents, runHttpApp } from '../utils/http-app.js';
import { distinctKeys, manyEvaluationsRequest, postTraces } from '../utils/otlp-request.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import { metricValue, startCollector, waitUntil, type Collector, type CollectorOptions } from '../utils/processes.js';
import { canonical } from '../utils/scenario.js';

let standIn: StandIn;
let collector: Collector;
let backend: OtlpSink;
let native: { impressions: string[]; events: string[] };

const options = (more: Partial<CollectorOptions> = {}): CollectorOptions =>
  ({
    flagsyncEndpoint: standIn.url,
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    backendEndpoint: backend.url,
    configErrorRetryDelay: '2s',
    ...more,
  }) as CollectorOptions;

/** One of the flagsync exporter's own counters, from the collector's metrics. */
const exporterMetric = (name: string) => metricValue(collector.metricsUrl, `otelcol_exporter_flagsync_${name}`);

beforeAll(async () => {
  standIn = await startStandIn();
  backend = await startOtlpSink();
  collector = await startCollector(options());
  native = await nativeReference(standIn);
}, 600_000);

afterAll(async () => {
  await collector?.stop();
  await standIn?.close();
  await backend?.close();
});

describe.each(['proto', 'json'] as const)(
  'the flagsync exporter in the real collector, app encoding OTLP %s',
  (encoding) => {
    it("delivers exactly what the SDK would, and the app's other telemetry still reaches its backend", async () => {
      standIn.reset();
      backend.traceBodies.length = 0;
      await runApp(collector.otlpHttp, standIn, encoding);
      await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 30_000);
      expect(canonical(standIn.impressions())).toEqual(native.impressions);
      expect(canonical(standIn.events())).toEqual(native.events);
      expect(standIn.batches.every((b) => b.sdkContext.sdkName === 'flagsync-otel' && b.audience === 'server')).toBe(
        true,
      );
      await waitUntil(() => backend.traceBodies.join('').includes('GET /broken'), 10_000, 'spans at the backend');
    });
  },
);

describe('large and unusual requests through the flagsync exporter', () => {
  it("another provider's event nested 40 levels deep in the same request: ignored, everything else delivered", async () => {
    standIn.reset();
    const rejectedBefore = await exporterMetric('rejected');
    expect(
      await postTraces(
        collector.otlpHttp,
        manyEvaluationsRequest({ spans: 50, perSpan: 2, offset: 100_000, deepOther: 40 }),
      ),
    ).toBe(200);
    await arrived(standIn, { impressions: 100, events: 0 }, 60_000);
    expect(distinctKeys(standIn.impressions())).toBe(100);
    expect(standIn.impressions()).toHaveLength(100);
    expect(await exporterMetric('rejected')).toBe(rejectedBefore);
  }, 90_000);

  it('10,000 spans of 5 evaluations each, in requests the batch processor merges: 50,000 impressions, each once', async () => {
    standIn.reset();
    for (let part = 0; part < 5; part++)
      expect(
        await postTraces(
          collector.otlpHttp,
          manyEvaluationsRequest({ spans: 2000, perSpan: 5, offset: part * 10_000 }),
        ),
      ).toBe(200);
    await arrived(standIn, { impressions: 50_000, events: 0 }, 120_000);
    expect(standIn.impressions()).toHaveLength(50_000);
    expect(distinctKeys(standIn.impressions())).toBe(50_000);
  }, 180_000);
});

describe('re-sent requests', () => {
  it('the same OTLP request sent again after it was delivered (a retry whose answer was lost): each item once', async () => {
    standIn.reset();
    const skippedBefore = await exporterMetric('duplicates_skipped');
    const body = manyEvaluationsRequest({ spans: 10, perSpan: 2, offset: 200_000 });
    expect(await postTraces(collector.otlpHttp, body)).toBe(200);
    await arrived(standIn, { impressions: 20, events: 0 }, 30_000);
    expect(await postTraces(collector.otlpHttp, body)).toBe(200);
    await waitUntil(
      async () => (await exporterMetric('duplicates_skipped')) - skippedBefore === 20,
      30_000,
      'the second copy skipped',
    );
    expect(standIn.impressions()).toHaveLength(20);
    expect(distinctKeys(standIn.impressions())).toBe(20);
  }, 90_000);
});

describe('FlagSync failures through the flagsync exporter', () => {
  it('FlagSync answers 503, then 429 with Retry-After, then recovers: everything arrives once', async () => {
    standIn.reset();
    standIn.addFault({ status: 503, times: 2 });
    standIn.addFault({ status: 429, retryAfter: '2', times: 1 });
    await runApp(collector.otlpHttp, standIn, 'proto');
    await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 120_000);
    expect(standIn.rejections.map((r) => r.status)).toEqual([503, 503, 429]);
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
  }, 180_000);

  it('an SDK key FlagSync does not accept yet, then accepts: one clear error per signal, nothing lost, nothing twice', async () => {
    standIn.reset();
    await collector.stop();
    collector = await startCollector(options({ sdkKey: 'key-not-yet-active' }));
    await runApp(collector.otlpHttp, standIn, 'proto');
    await waitUntil(
      () => standIn.rejections.filter((r) => r.status === 401).length >= 4,
      30_000,
      'FlagSync refusing the key',
    );
    expect(standIn.impressions()).toHaveLength(0);
    // The key becomes active in FlagSync: the kept data goes through on the next retry.
    standIn.setSdkKeys([STANDIN_DEFAULT_SDK_KEY, 'key-not-yet-active']);
    await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 60_000);
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
    const reports = collector
      .output()
      .split('\n')
      .filter((line) => line.includes('configuration problem'));
    expect(reports.map((line) => /"otelcol.signal": "(\w+)"/.exec(line)?.[1]).sort()).toEqual(['logs', 'traces']);
    expect(collector.output()).not.toContain('key-not-yet-active');
    standIn.setSdkKeys([STANDIN_DEFAULT_SDK_KEY]);
    await collector.stop();
    collector = await startCollector(options());
  }, 120_000);

  it('the collector killed (SIGKILL) mid-delivery and restarted with its persistent queue: what arrived is skipped, nothing is lost', async () => {
    standIn.reset();
    // FlagSync holds the events batch: the collector dies after the request's impressions arrived.
    standIn.addFault({ route: 'events', delayMs: 10_000 });
    await runApp(collector.otlpHttp, standIn, 'proto', firstHalf);
    await waitUntil(() => standIn.impressions().length > 0, 30_000, 'first impressions delivered');
    await new Promise((r) => setTimeout(r, 300));
    expect(standIn.events()).toHaveLength(0);
    await collector.stop('SIGKILL');
    // More calls while the collector is down would be the app's to retry; the queue is on disk.
    collector = await startCollector(options({ queueDir: collector.queueDir }));
    standIn.clearFaults();
    const expected = { impressions: native.impressions.filter(ofFirstHalf), events: native.events.filter(ofFirstHalf) };
    await arrived(standIn, { impressions: expected.impressions.length, events: expected.events.length }, 90_000);
    expect(canonical(standIn.impressions())).toEqual(expected.impressions);
    expect(canonical(standIn.events())).toEqual(expected.events);
    // The restarted collector's counters: the replayed request's impressions were skipped, its
    // events sent again and counted (they may have reached FlagSync; here they had not).
    expect(await exporterMetric('duplicates_skipped')).toBe(expected.impressions.length);
    expect(await exporterMetric('unconfirmed')).toBe(expected.events.length);
    await runApp(collector.otlpHttp, standIn, 'proto', secondHalf);
    await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 60_000);
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
  }, 240_000);

  it('killed while FlagSync had stored the batch and not yet answered: the resend is what the counter reports', async () => {
    standIn.reset();
    standIn.addFault({ route: 'events', lateAnswerMs: 10_000 });
    await runApp(collector.otlpHttp, standIn, 'proto', firstHalf);
    const expected = { impressions: native.impressions.filter(ofFirstHalf), events: native.events.filter(ofFirstHalf) };
    await waitUntil(() => standIn.events().length >= expected.events.length, 30_000, 'events stored, not answered');
    await collector.stop('SIGKILL');
    collector = await startCollector(options({ queueDir: collector.queueDir }));
    standIn.clearFaults();
    await arrived(standIn, { impressions: expected.impressions.length, events: expected.events.length * 2 }, 90_000);
    // FlagSync has no idempotency key: the events were stored once before the kill and once after.
    const resent = standIn.events().length - expected.events.length;
    expect(resent).toBe(await exporterMetric('unconfirmed'));
    expect(resent).toBe(expected.events.length);
    expect(canonical(standIn.impressions())).toEqual(expected.impressions);
  }, 240_000);
});

describe('derived events through the flagsync exporter', () => {
  it('an app with HTTP server spans: one latency and one error-rate event per request for its user, once, across a SIGKILL of the collector', async () => {
    standIn.reset();
    await collector.stop();
    collector = await startCollector(options({ derivedEvents: CHECKOUT_RULES_YAML }));
    // FlagSync holds the events: the collector is killed with the derived events sent, unanswered.
    standIn.addFault({ route: 'events', delayMs: 10_000 });
    const { servers } = await runHttpApp(standIn, { otlpEndpoint: collector.otlpHttp });
    await waitUntil(() => standIn.impressions().length >= 6, 30_000, 'impressions');
    await new Promise((r) => setTimeout(r, 300));
    await collector.stop('SIGKILL');
    standIn.clearFaults();
    collector = await startCollector(options({ derivedEvents: CHECKOUT_RULES_YAML, queueDir: collector.queueDir }));
    await waitUntil(() => standIn.events().length >= 12, 60_000, 'derived events');
    await new Promise((r) => setTimeout(r, 500));
    expect(receivedEvents(standIn)).toEqual(expectedCheckoutEvents(servers));
    expect(standIn.impressions()).toHaveLength(6);
    expect(await exporterMetric('duplicates_skipped')).toBe(6);
  }, 180_000);
});
