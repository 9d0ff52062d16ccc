/**
 * The exporters' self-metrics through the OpenTelemetry Metrics API, read by a real SDK
 * MeterProvider: the same counts as stats(), each series once though two exporters share an
 * engine, and a global provider registered after the exporters were built (as NodeSDK does).
 */
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlagSyncLogRecordExporter } from '../../src/exporters/flagsync-log-record-exporter.js';
import { FlagSyncSpanExporter } from '../../src/exporters/flagsync-span-exporter.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { evaluationEvent, exported, trackLogRecord } from '../utils/exporter-input.js';

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
      { events: [evaluationEvent('u1'), evaluationEvent('u2'), evaluationEvent('u3', { 'flagsync.context': '{' })] },
    ]);
    await exported(logs, [trackLogRecord('u1')]);
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
      'flagsync_otel.derived_dropped{reason=max_bytes,signal=traces}': 0,
      'flagsync_otel.derived_dropped{reason=max_per_trace,signal=traces}': 0,
      'flagsync_otel.derived_dropped{reason=max_bytes,signal=logs}': 0,
      'flagsync_otel.derived_dropped{reason=max_per_trace,signal=logs}': 0,
      'flagsync_otel.elsewhere{signal=traces}': 0,
      'flagsync_otel.elsewhere{signal=logs}': 0,
    });
    const before = await samples(reader);
    // Delivered by the shutdown's last flush with no collection in between: reported once more after it.
    await exported(spans, [{ events: [evaluationEvent('u4')] }]);
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
      await exported(exporter, [{ events: [evaluationEvent('late')] }]);
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
