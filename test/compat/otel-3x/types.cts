// Type-checked (never run) by the matrix: this package's public types against the line's interfaces, as CommonJS.
import { FlagSyncFactory } from '@flagsync/node-sdk';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace';
import { instrumentFlagSyncClient, type FlagSyncInstrumentationOptions } from 'flagsync-otel';
import { FlagSyncLogRecordExporter, FlagSyncSpanExporter } from 'flagsync-otel/exporters';
import { FlagSyncInstrumentation } from 'flagsync-otel/instrumentation';

const options: FlagSyncInstrumentationOptions = { flagSignal: 'log', noRecordingSpan: 'sdk' };
const spanExporter: SpanExporter = new FlagSyncSpanExporter({ sdkKey: 'k' });
const logExporter: LogRecordExporter = new FlagSyncLogRecordExporter({ sdkKey: 'k' });
const instrumentation: Instrumentation = new FlagSyncInstrumentation(options);
const processors = [new BatchSpanProcessor({ exporter: new FlagSyncSpanExporter() }), new BatchLogRecordProcessor({ exporter: new FlagSyncLogRecordExporter() })];
const client = instrumentFlagSyncClient(FlagSyncFactory({ sdkKey: 'k' }).client(), options);
const value: unknown = client.flag({ key: 'u' }, 'f', 'default');
