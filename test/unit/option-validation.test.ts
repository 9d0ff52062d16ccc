/**
 * Wrong options speak up at construction: an unknown name or a value outside the closed set throws a
 * FlagSyncConfigError listing the valid names or values (issue 21), for FlagSyncInstrumentation (config and
 * setConfig) and the FlagSync exporters. Nothing is accepted silently.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FlagSyncConfigError } from '../../src/config/options.js';
import { FlagSyncLogRecordExporter } from '../../src/exporters/flagsync-log-record-exporter.js';
import { FlagSyncSpanExporter } from '../../src/exporters/flagsync-span-exporter.js';
import { FlagSyncInstrumentation } from '../../src/instrumentation/flagsync-instrumentation.js';
import { instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';

const INSTRUMENTATION_NAMES =
  'delivery, receiptTimeoutMillis, destroyTimeoutMillis, flagSignal, trackSignal, noRecordingSpan, ' +
  'contextAttributes, hashContextKey, omitFlagValues, evaluationMetrics, spanEventCountLimit, enabled, guardSdkDelivery';
const EXPORTER_NAMES =
  'sdkKey, eventsUrl, maxBatchSize, maxBatchBytes, flushIntervalMillis, maxQueueSize, maxQueueBytes, timeoutMillis, ' +
  'initialBackoffMillis, maxBackoffMillis, maxRetryAfterMillis, configErrorRetryDelayMillis, shutdownTimeoutMillis, ' +
  'derivedEventsWindowMillis, derivedEventsMaxTraces, derivedEventsMaxBytes, derivedEventsMaxPerTrace, derivedEvents, ' +
  'providerNames, meterProvider, transport';

/** Built without enabling: nothing is patched or installed in this test process. */
const instrumentation = (config: Record<string, unknown>) =>
  new FlagSyncInstrumentation({ enabled: false, ...config } as never);

describe('instrumentFlagSyncClient', () => {
  const client = () => ({ flag: () => 1, track: () => undefined });
  it('checks its options as FlagSyncInstrumentation does', () => {
    expect(() => instrumentFlagSyncClient(client(), { flagSignal: 'spans' } as never)).toThrow(
      new FlagSyncConfigError(`instrumentFlagSyncClient option flagSignal must be one of 'span', 'log', got "spans"`),
    );
    expect(() => instrumentFlagSyncClient(client(), { flagSignals: 'span' } as never)).toThrow(
      'unknown instrumentFlagSyncClient option "flagSignals" (did you mean flagSignal?)',
    );
    expect(instrumentFlagSyncClient(client(), { flagSignal: 'log', delivery: 'sdk' }).flag).toBeTypeOf('function');
  });
});

describe('FlagSyncInstrumentation', () => {
  it.each([
    [{ flagSignal: 'spans' }, `FlagSyncInstrumentation option flagSignal must be one of 'span', 'log', got "spans"`],
    [{ trackSignal: 'event' }, `FlagSyncInstrumentation option trackSignal must be one of 'span', 'log', got "event"`],
    [{ trackSignal: 1 }, `FlagSyncInstrumentation option trackSignal must be one of 'span', 'log', got 1`],
    [
      { noRecordingSpan: 'drop' },
      `FlagSyncInstrumentation option noRecordingSpan must be one of 'log', 'sdk', got "drop"`,
    ],
    [{ delivery: 'pipeline' }, 'option delivery must be one of auto, sdk, exporter, collector, got "pipeline"'],
  ])('%j throws, listing the valid values', (config, message) => {
    expect(() => instrumentation(config)).toThrow(new FlagSyncConfigError(message));
  });

  it('an unknown name throws, suggesting the near one and listing every valid name', () => {
    expect(() => instrumentation({ flagSignals: 'span' })).toThrow(
      new FlagSyncConfigError(
        `unknown FlagSyncInstrumentation option "flagSignals" (did you mean flagSignal?); valid: ${INSTRUMENTATION_NAMES}`,
      ),
    );
    expect(() => instrumentation({ sampleRate: 0.5 })).toThrow(
      new FlagSyncConfigError(`unknown FlagSyncInstrumentation option "sampleRate"; valid: ${INSTRUMENTATION_NAMES}`),
    );
  });

  it('setConfig() checks the same way; valid configs are taken', () => {
    const inst = instrumentation({ flagSignal: 'log', trackSignal: 'span', noRecordingSpan: 'sdk', delivery: 'sdk' });
    expect(() => inst.setConfig({ noRecordingSpan: 'drop' } as never)).toThrow(
      `FlagSyncInstrumentation option noRecordingSpan must be one of 'log', 'sdk', got "drop"`,
    );
    inst.setConfig({ enabled: false, omitFlagValues: true, guardSdkDelivery: false });
    expect(inst.getConfig()).toMatchObject({ omitFlagValues: true });
  });
});

describe('FlagSync exporters', () => {
  const built: { shutdown(): Promise<void> }[] = [];
  afterAll(() => Promise.all(built.map((e) => e.shutdown())));
  const base = { sdkKey: 'k-0123456789', eventsUrl: 'http://127.0.0.1:9' };

  it.each([
    ['FlagSyncSpanExporter', (o: object) => new FlagSyncSpanExporter(o as never)],
    ['FlagSyncLogRecordExporter', (o: object) => new FlagSyncLogRecordExporter(o as never)],
  ])('%s: an unknown option name throws, listing the valid names', (_name, make) => {
    expect(() => make({ ...base, sdkKee: 'x' })).toThrow(
      new FlagSyncConfigError(
        `unknown FlagSync exporter option "sdkKee" (did you mean sdkKey?); valid: ${EXPORTER_NAMES}`,
      ),
    );
    expect(() => make({ ...base, batchSize: 10 })).toThrow('unknown FlagSync exporter option "batchSize"; valid: ');
    // The instrumentation's setting is not the exporters'.
    expect(() => make({ ...base, delivery: 'exporter' })).toThrow('unknown FlagSync exporter option "delivery"');
    built.push(make({ ...base, maxBatchSize: 10, providerNames: ['flagsync'], derivedEvents: [] }));
  });
});
