// Type-checked (never run) by the matrix: this package's public types against the line's interfaces, as ESM.
import { FlagSyncFactory } from '@flagsync/node-sdk';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace';
import { instrumentFlagSyncClient, type FlagSyncInstrumentationOptions } from 'flagsync-otel';
import { FlagSyncLogRecordExporter, FlagSyncSpanExporter } from 'flagsync-otel/exporters';
import { FlagSyncInstrumentation } from 'flagsync-otel/instrumentation';

const options: FlagSyncInstrumentationOptions = { flagSignal: 'log', noRecordingSpan: 'sdk' };
export const spanExporter: SpanExporter = new FlagSyncSpanExporter({ sdkKey: 'k' });
export const logExporter: LogRecordExporter = new FlagSyncLogRecordExporter({ sdkKey: 'k' });
export const instrumentation: Instrumentation = new FlagSyncInstrumentation(options);
export const processors = [
  new BatchSpanProcessor({ exporter: new FlagSyncSpanExporter() }),
  new BatchLogRecordProcessor({ exporter: new FlagSyncLogRecordExporter() }),
];
export const client = instrumentFlagSyncClient(FlagSyncFactory({ sdkKey: 'k' }).client(), options);
export const value: unknown = client.flag({ key: 'u' }, 'f', 'default');
