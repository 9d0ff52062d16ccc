// An instrumented app under steady load, for the memory and delay benchmarks (run as a child).
// Env: MODE=inprocess|otlp, RATE (events/s: flag() and track() calls), DURATION_S, IDLE_AFTER_S,
// STANDIN_URL (flag rules), OTLP_ENDPOINT (otlp mode), FLAGSYNC_* (inprocess mode). Defaults
// everywhere else, as an app would run. Prints one JSON line of results at the end.
import { context, logs, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { getInstrumentationStats, instrumentFlagSyncClient } from 'flagsync-otel';
import { FlagSyncLogRecordExporter, FlagSyncSpanExporter } from 'flagsync-otel/exporters';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';

const mode = process.env.MODE ?? 'inprocess';
const rate = Number(process.env.RATE ?? 1000);
const duration = Number(process.env.DURATION_S ?? 10);
const idleAfter = Number(process.env.IDLE_AFTER_S ?? 0);

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const spanExporter =
  mode === 'otlp'
    ? new OTLPTraceExporter({ url: `${process.env.OTLP_ENDPOINT}/v1/traces` })
    : new FlagSyncSpanExporter();
const logExporter =
  mode === 'otlp'
    ? new OTLPLogExporter({ url: `${process.env.OTLP_ENDPOINT}/v1/logs` })
    : new FlagSyncLogRecordExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: spanExporter })] });
const loggerProvider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: logExporter })] });
trace.setGlobalTracerProvider(tracerProvider);
logs.setGlobalLoggerProvider(loggerProvider);

await installSdkDeliveryGuard();
const client = instrumentFlagSyncClient(
  FlagSyncFactory({
    sdkKey: 'standin-sdk-key',
    urls: { sdk: process.env.STANDIN_URL },
    sync: { type: 'off' },
  }).client(),
  // Through a collector, the collector delivers (as FLAGSYNC_DELIVERY=collector says); in-process, the exporters.
  mode === 'otlp' ? { delivery: 'collector' } : {},
);
await client.waitForReady();
process.stdout.write('ready\n');

const tracer = trace.getTracer('load');
const rss = () => process.memoryUsage().rss / 2 ** 20;
const baseline = rss();
let peak = baseline;
let calls = 0;
const tickMs = 10;
const perTick = rate / (1000 / tickMs) / 2; // a flag() and a track() per request
const start = Date.now();
let n = 0;
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - start) / tickMs) * perTick) - n;
    for (let i = 0; i < due; i++, n++) {
      tracer.startActiveSpan('GET /register', (span) => {
        const user = { key: `user-${n % 5000}`, attributes: { plan: n % 3 ? 'free' : 'pro' } };
        client.flag(user, 'register-button-copy', 'Register');
        client.track(user, 'page_load_time', 300 + (n % 700));
        span.end();
      });
      calls += 2;
    }
    peak = Math.max(peak, rss());
    if (Date.now() - start >= duration * 1000) {
      clearInterval(timer);
      resolve();
    }
  }, tickMs);
});
// Sample memory while idle too (the queue is still held), e.g. while FlagSync comes back.
const idleEnd = Date.now() + idleAfter * 1000;
while (Date.now() < idleEnd) {
  peak = Math.max(peak, rss());
  await new Promise((r) => setTimeout(r, 200));
}
await tracerProvider.shutdown();
await loggerProvider.shutdown();
const result = {
  calls,
  rssBaselineMiB: Math.round(baseline),
  rssPeakMiB: Math.round(peak),
  recorder: getInstrumentationStats(client),
};
if (mode === 'inprocess')
  Object.assign(result, { spanExporter: spanExporter.stats(), logExporter: logExporter.stats() });
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
