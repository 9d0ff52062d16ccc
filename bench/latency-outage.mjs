// The app's flag()+track() cost while FlagSync is reachable, then unreachable (stand-in stopped),
// then back: one process, real TracerProvider + BatchSpanProcessor + FlagSyncSpanExporter, the
// stand-in in its own process. Delivery is off the call path, so the three should match.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { instrumentFlagSyncClient } from 'flagsync-otel';
import { FlagSyncSpanExporter } from 'flagsync-otel/exporters';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import { CLI, freePort, startNode } from './spawn.mjs';
import { measure, writeResult } from './lib.mjs';

const port = await freePort();
let standIn = startNode([CLI, 'standin', '--port', String(port)]);
const url = await standIn.first;

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new FlagSyncSpanExporter({
  sdkKey: 'standin-sdk-key',
  eventsUrl: url,
  flushIntervalMillis: 200,
  initialBackoffMillis: 200,
  maxBackoffMillis: 2000,
});
const provider = new TracerProvider({
  spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 200 })],
});
trace.setGlobalTracerProvider(provider);
const tracer = trace.getTracer('bench');
await installSdkDeliveryGuard();
// A stub SDK client: the SDK's own cost is the same in every phase and not what is measured here.
const client = instrumentFlagSyncClient({ flag: () => 'Join Now', track: () => undefined });
const user = { key: 'user-1', attributes: { plan: 'pro' } };
const call = () => {
  const span = tracer.startSpan('GET /register');
  context.with(trace.setSpan(context.active(), span), () => {
    client.flag(user, 'register-button-copy', 'Register');
    client.track(user, 'page_load_time', 812);
  });
  span.end();
};
const phase = async () =>
  (await measure([{ name: 'flag()+track() in a span', fn: call }], { rounds: 3, inner: 50, time: 1000 }))[
    'flag()+track() in a span'
  ];

const reachable = await phase();
standIn.child.kill('SIGTERM');
await standIn.exited;
const unreachable = await phase();
standIn = startNode([CLI, 'standin', '--port', String(port)]);
await standIn.first;
const recovered = await phase();
// The last flush reports the items dropped at the queue bound as a failed export, which the
// provider passes on as a rejection: expected here, the queue is full in every phase.
await provider.shutdown().catch(() => undefined);
standIn.child.kill('SIGTERM');

const stats = exporter.stats();
const summary = {
  unit: 'ns per request (one flag() and one track() in a span)',
  reachable,
  unreachable,
  recovered,
  exporter: {
    delivered: stats.impressions.delivered + stats.events.delivered,
    retries: stats.impressions.retries + stats.events.retries,
    dropped: stats.impressions.dropped + stats.events.dropped,
  },
};
writeResult('latency-outage', summary);
console.log(JSON.stringify(summary, null, 2));
process.exit(0);
