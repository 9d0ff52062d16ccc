// One app process as users run it, for whole-process CPU timings of a build: the real node-sdk (flushing as
// it does) and the FlagSync stand-in on loopback, a TracerProvider whose spans go to the FlagSyncSpanExporter,
// CALLS flag() calls in spans (BURST of them between turns of the event loop), then client.destroy().
// BUILD=now (this checkout's dist/), BUILD=<rev> (a build from git history, made by handover-cost.mjs into
// .cache/bench-before/<rev>), or BUILD=none (the same app without this package: its spans dropped, the SDK
// delivering every call itself). It checks that FlagSync got every call exactly once and exits non-zero
// otherwise, so a timing of it is a timing of a correct run, and prints its CPU by phase. Time it as a whole
// process too, A and B in turn: `/usr/bin/time -v node bench/app-handover.mjs` per build.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { startStandIn } from 'flagsync-otel/testing';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const build = process.env.BUILD ?? 'now';
const calls = Number(process.env.CALLS ?? 60_000);
// Calls between turns of the event loop: 500 is a burst the exporter's one request at a time falls behind on.
const burst = Number(process.env.BURST ?? 500);
const dist = build === 'now' || build === 'none' ? `${ROOT}dist` : `${ROOT}.cache/bench-before/${build}/dist`;
const load = (entry) => import(pathToFileURL(`${dist}/${entry}.js`).href);
const [{ instrumentFlagSyncClient }, { FlagSyncSpanExporter }, { installSdkDeliveryGuard }] = await Promise.all([
  load('index'),
  load('exporters'),
  load('instrumentation'),
]);

const standIn = await startStandIn();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const dropSpans = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
const exporter =
  build === 'none' ? dropSpans : new FlagSyncSpanExporter({ sdkKey: 'standin-sdk-key', eventsUrl: standIn.url });
const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);
const tracer = trace.getTracer('app');
if (build !== 'none') await installSdkDeliveryGuard();

const raw = FlagSyncFactory({ sdkKey: 'standin-sdk-key', urls: { sdk: standIn.url }, sync: { type: 'off' } }).client();
const client = build === 'none' ? raw : instrumentFlagSyncClient(raw, build === 'now' ? { delivery: 'exporter' } : {});
await client.waitForReady();
const users = Array.from({ length: 100 }, (_, i) => ({
  key: `user-${i}`,
  attributes: { plan: i % 3 ? 'pro' : 'free' },
}));
// CPU by phase: start-up (modules, the guard's install, the SDK ready), the calls, the end (flush, destroy).
const cpuMs = () => (({ user, system }) => Math.round((user + system) / 1000))(process.cpuUsage());
const startupMs = cpuMs();
for (let i = 0; i < calls; i++) {
  const span = tracer.startSpan('request');
  context.with(trace.setSpan(context.active(), span), () =>
    client.flag(users[i % 100], 'register-button-copy', 'Register'),
  );
  span.end();
  // As requests come and go: the event loop runs between them every so often.
  if (i % burst === burst - 1) await new Promise((resolve) => setImmediate(resolve));
}
const callsDoneMs = cpuMs();
await provider.forceFlush();
await exporter.forceFlush();
await client.destroy();
await provider.shutdown();
// node-sdk's destroy() resolves before its last request is answered: give it the time it takes.
for (let waited = 0; standIn.impressions().length < calls && waited < 5000; waited += 20)
  await new Promise((resolve) => setTimeout(resolve, 20));

const endMs = cpuMs();
const impressions = standIn.impressions().length;
await standIn.close();
if (impressions !== calls) {
  console.error(`expected ${calls} impressions at FlagSync, got ${impressions}`);
  process.exit(1);
}
console.log(`${build}: ${calls} flag() calls, ${impressions} impressions at FlagSync`);
console.log(
  `cpu ms: start-up ${startupMs}, calls ${callsDoneMs - startupMs}, end ${endMs - callsDoneMs} (flush, destroy, answers)`,
);
// node-sdk keeps timers of its own after destroy() (one per queue flush) and holds SIGTERM: end as apps do.
process.exit(0);
