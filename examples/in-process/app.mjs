// The team's usual OTLP trace exporter and the FlagSync exporters side by side, in-process.
// FLAGSYNC_SDK_KEY and FLAGSYNC_EVENTS_URL configure the FlagSync exporters.
import { context, logs, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { instrumentFlagSyncClient } from 'flagsync-otel';
import { FlagSyncLogRecordExporter, FlagSyncSpanExporter } from 'flagsync-otel/exporters';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracerProvider = new TracerProvider({
  spanProcessors: [
    new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }), // your tracing backend, unchanged
    new BatchSpanProcessor({ exporter: new FlagSyncSpanExporter() }), // FlagSync impressions and events
  ],
});
const loggerProvider = new LoggerProvider({
  processors: [new BatchLogRecordProcessor({ exporter: new FlagSyncLogRecordExporter() })],
});
trace.setGlobalTracerProvider(tracerProvider);
logs.setGlobalLoggerProvider(loggerProvider);

await installSdkDeliveryGuard(); // FlagSync gets each impression once: from us, not also from the SDK
const flags = instrumentFlagSyncClient(
  FlagSyncFactory({
    sdkKey: process.env.FLAGSYNC_SDK_KEY,
    urls: { sdk: process.env.FLAGSYNC_EVENTS_URL },
    sync: { type: 'off' },
  }).client(),
  { contextAttributes: { deny: ['email'] } },
);
await flags.waitForReady();

const tracer = trace.getTracer('checkout-service');
for (const key of ['alice', 'bob', 'carol']) {
  tracer.startActiveSpan('GET /register', (span) => {
    const user = { key, attributes: { plan: key === 'alice' ? 'pro' : 'free', email: `${key}@example.com` } };
    const copy = flags.flag(user, 'register-button-copy', 'Register');
    flags.track(user, 'page_load_time', 640 + key.length * 10);
    if (copy !== 'Register') flags.track(user, 'purchase_event', null, { price: 42.5, currency: 'USD' });
    console.log(`${key} sees "${copy}"`);
    span.end();
  });
}

await tracerProvider.shutdown();
await loggerProvider.shutdown();
await flags.destroy();
process.exit(0); // node-sdk 0.1.1 keeps a timer after destroy()
