// Type-checked (never run) by the matrix: this package's public types against the line's interfaces, as CommonJS.
import { FlagSyncFactory } from '@flagsync/node-sdk';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace';
import { instrumentFlagSyncClient, type FlagSyncInstrumentationOptions } from 'flagsync-otel';
import { FlagSyncLogRecordExporter, FlagSyncSpanExporter } from 'flagsync-otel/exporters';
import { FlagSyncInstrumentation } from 'flagsync-otel/instrumentation';

const options: FlagSyncInstrumentationOptions = { flagSignal: 'log', noRecordingSpan: 'sdk' };
const _spanExporter: SpanExporter = new FlagSyncSpanExporter({ sdkKey: 'k' });
const _logExporter: LogRecordExporter = new FlagSyncLogRecordExporter({ sdkKey: 'k' });
const _instrumentation: Instrumentation = new FlagSyncInstrumentation(options);
const _processors = [
  new BatchSpanProcessor({ exporter: new FlagSyncSpanExporter() }),
  new BatchLogRecordProcessor({ exporter: new FlagSyncLogRecordExporter() }),
];
const client = instrumentFlagSyncClient(FlagSyncFactory({ sdkKey: 'k' }).client(), options);
const _value: unknown = client.flag({ key: 'u' }, 'f', 'default');
