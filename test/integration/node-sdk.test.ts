/**
 * Real @flagsync/node-sdk + real OpenTelemetry SDK (batch processors) + our exporters + the stand-in
 * over loopback. Asserts the exact impressions and events FlagSync receives.
 */
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AlwaysOffSampler, BatchSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FlagSyncLogRecordExporter } from '../../src/exporters/flagsync-log-record-exporter.js';
import { FlagSyncSpanExporter } from '../../src/exporters/flagsync-span-exporter.js';
import { handoverStats } from '../../src/instrumentation/handover.js';
import { installSdkDeliveryGuard } from '../../src/instrumentation/node-sdk-delivery-guard.js';
import { removeSdkDeliveryGuards, sdkDeliveryGuardStats } from '../../src/instrumentation/sdk-delivery-guard.js';
import { instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import type { FlagSyncInstrumentationOptions } from '../../src/types.js';
import { setupOtel, type TestOtel } from '../utils/otel.js';
import { canonical, EVENTS_PER_SCENARIO, runScenario, type ServerLikeClient } from '../utils/scenario.js';

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
  standIn.reset();
});

function newSdkClient() {
  return FlagSyncFactory({
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    urls: { sdk: standIn.url },
    sync: { type: 'off' },
  }).client();
}

/** OTel SDK with both FlagSync exporters behind batch processors, as an app would set it up. */
function setupPipeline(sampler?: Sampler) {
  const exporterOptions = { sdkKey: STANDIN_DEFAULT_SDK_KEY, eventsUrl: standIn.url, flushIntervalMillis: 50 };
  otel = setupOtel({
    ...(sampler ? { sampler } : {}),
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new FlagSyncSpanExporter(exporterOptions), scheduledDelayMillis: 50 }),
    ],
    logProcessors: [
      new BatchLogRecordProcessor({
        exporter: new FlagSyncLogRecordExporter(exporterOptions),
        scheduledDelayMillis: 50,
      }),
    ],
  });
  return otel;
}

async function instrumentedClient(options: FlagSyncInstrumentationOptions = {}) {
  await installSdkDeliveryGuard();
  const client = instrumentFlagSyncClient(newSdkClient(), options);
  await client.waitForReady();
  return client;
}

function inSpans(o: TestOtel) {
  return (name: string, fn: () => void) =>
    o.tracer.startActiveSpan(name, (span) => {
      fn();
      span.end();
    });
}

describe('node-sdk through the OpenTelemetry SDK to FlagSync', () => {
  it('delivers exactly one impression per flag() of an existing flag and one event per track()', async () => {
    const o = setupPipeline();
    const client = await instrumentedClient();
    const expectedImpressions = runScenario(client as unknown as ServerLikeClient, inSpans(o));
    await o.shutdown(); // provider shutdown flushes the exporters, which deliver before resolving
    otel = undefined;
    expect(standIn.impressions()).toHaveLength(expectedImpressions);
    expect(standIn.events()).toHaveLength(EVENTS_PER_SCENARIO);
    expect(standIn.batches.every((b) => b.sdkContext.sdkName === 'flagsync-otel')).toBe(true);
    const first = standIn
      .impressions()
      .find((i) => (i.context as { key: string }).key === 'user-1' && i.flagKey === 'string-true');
    expect(first).toMatchObject({
      flagKey: 'string-true',
      flagValue: 'true',
      context: { key: 'user-1', attributes: { plan: 'pro', email: 'one@example.com' } },
    });
    const numberOne = standIn.impressions().find((i) => i.flagKey === 'number-one');
    expect(numberOne?.flagValue).toBe(1);
    await client.destroy();
  });

  it('more calls than node-sdk queues (50): the call that fills its queue, which the SDK sends from inside flag(), arrives once', async () => {
    const o = setupPipeline();
    const client = await instrumentedClient();
    const filteredBefore = sdkDeliveryGuardStats().filteredItems;
    for (let i = 0; i < 120; i++)
      inSpans(o)(`GET /page/${i}`, () => client.flag({ key: `full-queue-${i}` }, 'string-true'));
    await o.shutdown();
    otel = undefined;
    await client.destroy();
    const keys = standIn.impressions().map((i) => (i.context as { key: string }).key);
    expect(keys.sort()).toEqual(Array.from({ length: 120 }, (_, i) => `full-queue-${i}`).sort());
    expect(standIn.batches.every((b) => b.sdkContext.sdkName === 'flagsync-otel')).toBe(true);
    expect(sdkDeliveryGuardStats().filteredItems - filteredBefore).toBe(120);
  });

  it('overlapping requests whose spans end out of order, several calls each: every call once, every one receipted', async () => {
    const o = setupPipeline();
    const client = await instrumentedClient({ delivery: 'exporter' });
    const before = handoverStats();
    const tick = () => new Promise((r) => setImmediate(r));
    // 300 requests at once, each with a span holding three calls made across awaits; they end in an order
    // of their own, so the exporter meets calls far from the order they were handed over in.
    const requests = Array.from({ length: 300 }, (_, i) =>
      o.tracer.startActiveSpan(`GET /r/${i}`, async (span) => {
        for (let c = 0; c < 3; c++) {
          client.flag({ key: `overlap-${i}` }, c === 1 ? 'number-one' : 'string-true');
          for (let t = (i * 7 + c) % 5; t >= 0; t--) await tick();
        }
        span.end();
      }),
    );
    await Promise.all(requests);
    await o.shutdown();
    otel = undefined;
    await client.destroy();
    const calls = standIn.impressions().map((i) => `${(i.context as { key: string }).key}/${i.flagKey}`);
    const expected = Array.from({ length: 300 }, (_, i) => [
      `overlap-${i}/string-true`,
      `overlap-${i}/number-one`,
      `overlap-${i}/string-true`,
    ]).flat();
    expect(calls.sort()).toEqual(expected.sort());
    expect(standIn.batches.every((b) => b.sdkContext.sdkName === 'flagsync-otel')).toBe(true);
    const after = handoverStats();
    expect(after.handedOver - before.handedOver).toBe(900);
    expect(after.receipted - before.receipted).toBe(900);
    expect(after.pending).toBe(0);
  });

  it('matches what the SDK sends natively, field by field', async () => {
    // 1. Native: the SDK's own delivery (guard off), flushed by destroy().
    removeSdkDeliveryGuards();
    const native = newSdkClient();
    await native.waitForReady();
    const nativeStart = Date.now();
    runScenario(native as unknown as ServerLikeClient);
    await native.destroy();
    await standIn.waitFor(() => standIn.batches.length >= 2);
    const nativeBatches = standIn.batches.filter((b) => b.sdkContext.sdkName === '@flagsync/node-sdk');
    const nativeImpressions = nativeBatches.filter((b) => b.route === 'impressions').flatMap((b) => b.items);
    const nativeEvents = nativeBatches.filter((b) => b.route === 'events').flatMap((b) => b.items);
    standIn.reset();

    // 2. Through OpenTelemetry: span events, log fallback outside spans, guard on.
    const o = setupPipeline();
    const client = await instrumentedClient();
    const otelStart = Date.now();
    runScenario(client as unknown as ServerLikeClient, (name, fn) =>
      name.endsWith('3') ? fn() : inSpans(o)(name, fn),
    );
    await client.destroy(); // the SDK's own flush: must not reach FlagSync
    await o.shutdown();
    otel = undefined;

    expect(standIn.batches.filter((b) => b.sdkContext.sdkName !== 'flagsync-otel')).toEqual([]);
    expect(canonical(standIn.impressions())).toEqual(canonical(nativeImpressions));
    expect(canonical(standIn.events())).toEqual(canonical(nativeEvents));
    expect(nativeImpressions.length).toBeGreaterThan(0);
    // Timestamps: each taken at the call, so both runs are offset by the same start difference.
    const offset = otelStart - nativeStart;
    const byKey = (items: Record<string, unknown>[]) =>
      new Map(items.map((i) => [JSON.stringify({ ...i, timestamp: undefined }), Date.parse(i.timestamp as string)]));
    const nativeTimes = byKey(nativeImpressions);
    for (const [key, time] of byKey(standIn.impressions())) {
      expect(Math.abs(time - offset - nativeTimes.get(key)!)).toBeLessThan(1000);
    }
  });

  it('delivers every call when the sampler drops every trace (0%)', async () => {
    const o = setupPipeline(new AlwaysOffSampler());
    const client = await instrumentedClient();
    const expectedImpressions = runScenario(client as unknown as ServerLikeClient, inSpans(o));
    await o.shutdown();
    otel = undefined;
    expect(o.spans.getFinishedSpans()).toHaveLength(0);
    expect(standIn.impressions()).toHaveLength(expectedImpressions);
    expect(standIn.events()).toHaveLength(EVENTS_PER_SCENARIO);
  });

  it('delivers calls made with no active span at all', async () => {
    const o = setupPipeline();
    const client = await instrumentedClient();
    const expectedImpressions = runScenario(client as unknown as ServerLikeClient);
    await o.shutdown();
    otel = undefined;
    expect(standIn.impressions()).toHaveLength(expectedImpressions);
    expect(standIn.events()).toHaveLength(EVENTS_PER_SCENARIO);
  });

  it('delivers with the log signal chosen for both, and hashes keys the same on impressions and events', async () => {
    const o = setupPipeline();
    const client = await instrumentedClient({
      flagSignal: 'log',
      trackSignal: 'log',
      hashContextKey: { salt: 'pepper' },
      contextAttributes: { deny: ['email'] },
    });
    runScenario(client as unknown as ServerLikeClient, inSpans(o));
    await o.shutdown();
    otel = undefined;
    const impressionKeys = new Set(standIn.impressions().map((i) => (i.context as { key: string }).key));
    const eventKeys = new Set(standIn.events().map((i) => (i.context as { key: string }).key));
    expect(impressionKeys.size).toBe(4);
    expect(eventKeys).toEqual(impressionKeys);
    for (const key of impressionKeys) expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(standIn.batches)).not.toContain('one@example.com');
    expect(JSON.stringify(standIn.batches)).not.toContain('user-1');
  });

  it('keeps everything when FlagSync answers 500 and 429 for a while', async () => {
    standIn.addFault({ status: 500, times: 2 });
    standIn.addFault({ status: 429, retryAfter: '1', times: 1 });
    const o = setupPipeline();
    const client = await instrumentedClient();
    const expectedImpressions = runScenario(client as unknown as ServerLikeClient, inSpans(o));
    await o.shutdown();
    otel = undefined;
    expect(standIn.rejections.map((r) => r.status).sort()).toEqual([429, 500, 500]);
    expect(standIn.impressions()).toHaveLength(expectedImpressions);
    expect(standIn.events()).toHaveLength(EVENTS_PER_SCENARIO);
    expect(new Set(canonical(standIn.events())).size).toBe(EVENTS_PER_SCENARIO);
  });

  it("the guard suppressed the SDK's own track requests instead of sending them", () => {
    expect(sdkDeliveryGuardStats().suppressedRequests).toBeGreaterThan(0);
  });
});
