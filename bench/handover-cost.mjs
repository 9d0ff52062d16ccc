// What receipts cost on the flag() hot path: this build and the build before receipts (BENCH_BEFORE_REV,
// built once into .cache/bench-before/) measured side by side in one process, alternating rounds, each
// as the added cost over an uninstrumented flag() in a span, against the floor of one bare span.addEvent
// with the same attributes. CPU time per call (lib.mjs measureCpu), the spans' export and receipts
// included. Both builds hand calls over the way they do: before, a claim on the recorded
// call; now, a claim handed to the in-process exporters (`delivery: 'exporter'`) and registered for its
// receipt, and the default with no FlagSync exporter running (`auto` → `sdk`, nothing handed over).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { getInstrumentationStats, instrumentFlagSyncClient } from 'flagsync-otel';
import { FlagSyncSpanExporter } from 'flagsync-otel/exporters';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import { startStandIn } from 'flagsync-otel/testing';
import { flag, floorAttributes, inSpan, neverFlushingClient, stubClient } from './flag-call.mjs';
import { measureCpu, writeResult } from './lib.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
// The last commit before receipts (flagsync.delivery, the handover registry).
const BEFORE_REV = process.env.BENCH_BEFORE_REV ?? '9750719';

/** The earlier build's dist/, built from git history with this checkout's node_modules. */
function beforeDist() {
  const dir = `${ROOT}.cache/bench-before/${BEFORE_REV}`;
  if (!existsSync(`${dir}/dist/index.js`)) {
    mkdirSync(`${ROOT}.cache/bench-before`, { recursive: true });
    if (!existsSync(dir)) execFileSync('git', ['worktree', 'add', '--detach', '-f', dir, BEFORE_REV], { cwd: ROOT });
    if (!existsSync(`${dir}/node_modules`)) symlinkSync(`${ROOT}node_modules`, `${dir}/node_modules`);
    execFileSync(`${ROOT}node_modules/.bin/tsup`, [], { cwd: dir, stdio: 'ignore' });
  }
  return `${dir}/dist`;
}
const before = await import(pathToFileURL(`${beforeDist()}/index.js`).href);
const beforeGuard = await import(pathToFileURL(`${beforeDist()}/instrumentation.js`).href);

// The spans go to this build's FlagSyncSpanExporter, whose FlagSync answers every batch with 200 at
// once: handed-over calls get their receipts as in an app (the registry stays the size it has there),
// and both builds' spans cost the same to export.
const accepted = { post: async () => ({ kind: 'success', status: 200 }), close: async () => {} };
const exporter = new FlagSyncSpanExporter({ sdkKey: 'bench', transport: accepted });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 1 << 16 })] });
trace.setGlobalTracerProvider(provider);
const tracer = trace.getTracer('bench');

const standIn = await startStandIn();
await installSdkDeliveryGuard();
await beforeGuard.installSdkDeliveryGuard();
const raw = await neverFlushingClient(standIn);
const beforeClient = before.instrumentFlagSyncClient(raw);
const handedOver = instrumentFlagSyncClient(raw, { delivery: 'exporter' });
const sdkDefault = instrumentFlagSyncClient(raw, { delivery: 'sdk' });

const inTracerSpan = inSpan(tracer);
// The wrapper alone, on a stub client that does no SDK work and retains nothing: the real SDK above
// keeps every queued item (it never flushes here), which inflates what per-call objects cost.
const stub = stubClient();
const stubBefore = before.instrumentFlagSyncClient(stub);
const stubHandedOver = instrumentFlagSyncClient(stub, { delivery: 'exporter' });
const stubSdk = instrumentFlagSyncClient(stub, { delivery: 'sdk' });

const cases = [
  { name: 'uninstrumented, in span', fn: inTracerSpan(() => flag(raw)) },
  {
    name: 'floor (bare addEvent), in span',
    fn: inTracerSpan(() => {
      flag(raw);
      trace.getActiveSpan().addEvent('feature_flag.evaluation', floorAttributes(), Date.now());
    }),
  },
  { name: `before (${BEFORE_REV}): span event, claimed`, fn: inTracerSpan(() => flag(beforeClient)) },
  { name: 'now: span event, handed to the exporters', fn: inTracerSpan(() => flag(handedOver)) },
  { name: 'now: span event, delivery sdk (nothing handed over)', fn: inTracerSpan(() => flag(sdkDefault)) },
  { name: 'stub: uninstrumented, in span', fn: inTracerSpan(() => flag(stub)) },
  { name: `stub: before (${BEFORE_REV}), span event, claimed`, fn: inTracerSpan(() => flag(stubBefore)) },
  { name: 'stub: now, span event, handed to the exporters', fn: inTracerSpan(() => flag(stubHandedOver)) },
  { name: 'stub: now, span event, delivery sdk', fn: inTracerSpan(() => flag(stubSdk)) },
];
// CPU time per call, each case's spans exported (and their calls receipted) inside its own measurement.
const settle = () => provider.forceFlush();
const results = await measureCpu(
  cases.map((c) => ({ ...c, settle })),
  { rounds: Number(process.env.BENCH_ROUNDS ?? 9), calls: 20_000 },
);
await standIn.close();
await exporter.forceFlush();
const handover = getInstrumentationStats(stubHandedOver).handover;

const added = (name) => +(results[name].median - results['uninstrumented, in span'].median).toFixed(1);
const floor = added('floor (bare addEvent), in span');
const summary = {
  'floor: bare addEvent with the same attributes': floor,
  [`before (${BEFORE_REV}): added over the floor`]: +(added(cases[2].name) - floor).toFixed(1),
  'now, handed to the exporters: added over the floor': +(added(cases[3].name) - floor).toFixed(1),
  'now, delivery sdk (nothing handed over): added over the floor': +(added(cases[4].name) - floor).toFixed(1),
};
const overStub = (name) => +(results[name].median - results['stub: uninstrumented, in span'].median).toFixed(1);
const wrapper = {
  [`before (${BEFORE_REV})`]: overStub(cases[6].name),
  'now, handed to the exporters': overStub(cases[7].name),
  'now, delivery sdk': overStub(cases[8].name),
};
console.table(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.median])));
console.table(summary);
console.table(wrapper);
console.table(handover);
writeResult('handover-cost', { beforeRev: BEFORE_REV, results, summary, wrapper, handover });
process.exit(0);
