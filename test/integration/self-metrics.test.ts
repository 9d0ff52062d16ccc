/**
 * The exporters' self-metrics through the OpenTelemetry Metrics API, read by a real SDK
 * MeterProvider: the same counts as stats(), each series once though two exporters share an
 * engine, and a global provider registered after the exporters were built (as NodeSDK does).
 */
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadSize } from '../../src/convert/payload-size.js';
import { FlagSyncLogRecordExporter } from '../../src/exporters/flagsync-log-record-exporter.js';
import { FlagSyncSpanExporter } from '../../src/exporters/flagsync-span-exporter.js';
import type { ExportResult } from '../../src/otel/sdk-contract.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';

class TestReader extends MetricReader {
  protected override onForceFlush = () => Promise.resolve();
  protected override onShutdown = () => Promise.resolve();
}

/** Every flagsync_otel data point as `name{attr=value,...}` → value. */
async function samples(reader: MetricReader): Promise<Record<string, number>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const out: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (!metric.descriptor.name.startsWith('flagsync_otel.')) continue;
      for (const point of metric.dataPoints) {
        const attributes = Object.entries(point.attributes)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(',');
        const key = `${metric.descriptor.name}{${attributes}}`;
        expect(out[key], `${key} reported twice`).toBeUndefined();
        out[key] = point.value as number;
      }
    }
  }
  return out;
}

function evaluation(user: string, extra: Record<string, unknown> = {}) {
  const attributes: Record<string, unknown> = {
    'flagsync.size': 0,
    'feature_flag.key': 'register-button-copy',
    'feature_flag.provider.name': 'FlagSync',
    'flagsync.value': '"Join Now"',
    'flagsync.context': JSON.stringify({ key: user }),
    ...extra,
  };
  attributes['flagsync.size'] = payloadSize(attributes);
  return { name: 'feature_flag.evaluation', time: [1_795_000_000, 0] as [number, number], attributes };
}

function track(user: string) {
  const body: Record<string, unknown> = {
    'flagsync.size': 0,
    'flagsync.event.key': 'signup',
    'flagsync.context': JSON.stringify({ key: user }),
    'flagsync.call_id': `c-${user}`,
  };
  body['flagsync.size'] = payloadSize(body);
  return { eventName: 'flagsync.track', hrTime: [1_795_000_001, 0] as [number, number], attributes: {}, body };
}

const exported = (exporter: { export(items: never[], cb: (r: ExportResult) => void): void }, items: unknown[]) =>
  new Promise<ExportResult>((resolve) => exporter.export(items as never[], resolve));

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());

describe('self-metrics through the OpenTelemetry Metrics API', () => {
  it('a MeterProvider given to both exporters: delivery counts once per shared engine, conversion counts per signal', async () => {
    standIn.reset();
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const options = { sdkKey: STANDIN_DEFAULT_SDK_KEY, eventsUrl: standIn.url, flushIntervalMillis: 20, meterProvider };
    const spans = new FlagSyncSpanExporter(options);
    const logs = new FlagSyncLogRecordExporter(options);
    // Two evaluations and one that cannot be converted (its context is not JSON).
    await exported(spans, [
      { events: [evaluation('u1'), evaluation('u2'), evaluation('u3', { 'flagsync.context': '{' })] },
    ]);
    await exported(logs, [track('u1')]);
    await spans.forceFlush();
    expect(standIn.impressions()).toHaveLength(2);
    expect(await samples(reader)).toEqual({
      'flagsync_otel.delivered{kind=impression}': 2,
      'flagsync_otel.delivered{kind=event}': 1,
      'flagsync_otel.retries{kind=impression}': 0,
      'flagsync_otel.retries{kind=event}': 0,
      'flagsync_otel.dropped{kind=impression}': 0,
      'flagsync_otel.dropped{kind=event}': 0,
      'flagsync_otel.failed{kind=impression}': 0,
      'flagsync_otel.failed{kind=event}': 0,
      'flagsync_otel.unconfirmed{kind=impression}': 0,
      'flagsync_otel.unconfirmed{kind=event}': 0,
      'flagsync_otel.unanswered{kind=impression}': 0,
      'flagsync_otel.unanswered{kind=event}': 0,
      'flagsync_otel.withdrawn{kind=impression}': 0,
      'flagsync_otel.withdrawn{kind=event}': 0,
      'flagsync_otel.queued_items{}': 0,
      'flagsync_otel.rejected{signal=traces}': 1,
      'flagsync_otel.rejected{signal=logs}': 0,
      'flagsync_otel.damaged{signal=traces}': 0,
      'flagsync_otel.damaged{signal=logs}': 0,
      'flagsync_otel.derived{signal=traces}': 0,
      'flagsync_otel.derived{signal=logs}': 0,
      'flagsync_otel.unattributed{signal=traces}': 0,
      'flagsync_otel.unattributed{signal=logs}': 0,
    });
    const before = await samples(reader);
    // Delivered by the shutdown's last flush with no collection in between: reported once more after it.
    await exported(spans, [{ events: [evaluation('u4')] }]);
    await spans.shutdown();
    await logs.shutdown();
    expect(standIn.impressions()).toHaveLength(3);
    const after = await samples(reader);
    expect(after).toEqual({ ...before, 'flagsync_otel.delivered{kind=impression}': 3 });
    // Then the callbacks are gone; collection still works and keeps the final counts.
    expect(await samples(reader)).toEqual(after);
    await meterProvider.shutdown();
  });

  it('the global MeterProvider, registered after the exporter was built (as NodeSDK does), gets the metrics', async () => {
    standIn.reset();
    standIn.addFault({ status: 503, times: 1 });
    const exporter = new FlagSyncSpanExporter({
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      eventsUrl: standIn.url,
      flushIntervalMillis: 20,
      initialBackoffMillis: 10,
    });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
    try {
      await exported(exporter, [{ events: [evaluation('late')] }]);
      await exporter.forceFlush();
      const collected = await samples(reader);
      expect(collected['flagsync_otel.delivered{kind=impression}']).toBe(1);
      expect(collected['flagsync_otel.retries{kind=impression}']).toBe(1);
      expect(collected['flagsync_otel.rejected{signal=traces}']).toBe(0);
    } finally {
      await exporter.shutdown();
      metrics.disable();
      await meterProvider.shutdown();
    }
  });
});
