// Loaded with `node --import ./otel-setup.mjs app.mjs`: ESM instrumentation needs the loader hook
// registered before the app's imports run.
import { register } from 'node:module';
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const { context, logs, trace } = await import('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
const { TracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
const { LoggerProvider, BatchLogRecordProcessor } = await import('@opentelemetry/sdk-logs');
const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
const { FlagSyncInstrumentation } = await import('flagsync-otel/instrumentation');
const { FlagSyncSpanExporter, FlagSyncLogRecordExporter } = await import('flagsync-otel/exporters');

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracerProvider = new TracerProvider({
  spanProcessors: [new BatchSpanProcessor({ exporter: new FlagSyncSpanExporter() })],
});
const loggerProvider = new LoggerProvider({
  processors: [new BatchLogRecordProcessor({ exporter: new FlagSyncLogRecordExporter() })],
});
trace.setGlobalTracerProvider(tracerProvider);
logs.setGlobalLoggerProvider(loggerProvider);
registerInstrumentations({
  instrumentations: [new FlagSyncInstrumentation({ hashContextKey: { salt: 'demo-salt' } })],
});

globalThis.otelShutdown = async () => {
  await tracerProvider.shutdown();
  await loggerProvider.shutdown();
};
