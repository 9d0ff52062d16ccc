// What receipts cost on the flag() hot path: this build and the build before receipts (BENCH_BEFORE_REV,
// built once into .cache/bench-before/) measured side by side in one process, alternating rounds, each as
// the added cost over its floor: one bare span.addEvent with the attributes that build writes, in a span,
// on the same stub SDK. CPU time per call (lib.mjs measureCpu), the spans' export and receipts included;
// each difference read round by round (paired), as the machine's drift moves neighbouring rounds together.
// Both builds hand calls over the way they do: before, a claim on the recorded call; now, a claim handed
// to the in-process exporters (`delivery: 'exporter'`) and settled by FlagSync's answer; and the default
// with no FlagSync exporter running (`auto` → `sdk`, nothing handed over).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { getInstrumentationStats, instrumentFlagSyncClient } from 'flagsync-otel';
import { FlagSyncSpanExporter } from 'flagsync-otel/exporters';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import {
  flag,
  floorAttributes,
  floorAttributesWithoutVariant,
  inSpan,
  queueingStubClient,
  stubClient,
} from './flag-call.mjs';
import { measureCpu, revisionCheckout, runCalls, writeResult } from './lib.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
// The last commit before receipts (flagsync.delivery, the handover registry), and the last before variant
// and reason (issue 20), which has receipts.
const BEFORE_REV = process.env.BENCH_BEFORE_REV ?? '9750719';
const BEFORE_VARIANT_REV = process.env.BENCH_BEFORE_VARIANT_REV ?? '9fc99bd';

/** An earlier build's dist/, built from git history with this checkout's node_modules. */
function builtDist(rev) {
  const dir = revisionCheckout(rev);
  if (!existsSync(`${dir}/dist/index.js`))
    execFileSync(`${ROOT}node_modules/.bin/tsup`, [], { cwd: dir, stdio: 'ignore' });
  const load = (entry) => import(pathToFileURL(`${dir}/dist/${entry}.js`).href);
  return Promise.all([load('index'), load('instrumentation'), load('exporters')]);
}
const [before, beforeGuard] = await builtDist(BEFORE_REV);
const [preVariant, preVariantGuard, preVariantExporters] = await builtDist(BEFORE_VARIANT_REV);

// The spans go to this build's FlagSyncSpanExporter, whose FlagSync answers every batch with 200 at
// once: handed-over calls get their receipts as in an app, and every build's events cost the same
// to convert and deliver (the floors' events carry no delivery marker, so this exporter delivers them).
// Batches leave when full (512 spans, the exporter's batch limit) or at each round's flush, never on a
// timer: under a CPU simulator's slowdown timers fire every few hundred calls, and how much each run
// keeps alive for its collector to copy would vary with them.
const accepted = { post: async () => ({ kind: 'success', status: 200 }), close: async () => {} };
const HOUR = 3_600_000;
const exporterOptions = { sdkKey: 'bench', transport: accepted, flushIntervalMillis: HOUR };
const exporter = new FlagSyncSpanExporter(exporterOptions);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const batches = (spanExporter) =>
  new BatchSpanProcessor({ exporter: spanExporter, maxQueueSize: 1 << 16, scheduledDelayMillis: HOUR });
const provider = new TracerProvider({ spanProcessors: [batches(exporter)] });
trace.setGlobalTracerProvider(provider);
const inTracerSpan = inSpan(trace.getTracer('bench'));
// The build before issue 20 keeps receipts in a registry of its own: its spans go to its own exporter.
const preVariantExporter = new preVariantExporters.FlagSyncSpanExporter(exporterOptions);
const preVariantProvider = new TracerProvider({ spanProcessors: [batches(preVariantExporter)] });
const inPreVariantSpan = inSpan(preVariantProvider.getTracer('bench'));

await installSdkDeliveryGuard();
await beforeGuard.installSdkDeliveryGuard();
await preVariantGuard.installSdkDeliveryGuard();

// The stub SDK keeps each call's context until its queue of 50 is sent, as node-sdk does; the one
// retaining nothing shows the claim's life alone.
const stub = queueingStubClient();
const bare = stubClient();
const beforeClient = before.instrumentFlagSyncClient(stub);
const handedOver = instrumentFlagSyncClient(stub, { delivery: 'exporter' });
const sdkDefault = instrumentFlagSyncClient(stub, { delivery: 'sdk' });
const preVariantClient = preVariant.instrumentFlagSyncClient(stub, { delivery: 'exporter' });
const bareBefore = before.instrumentFlagSyncClient(bare);
const bareHandedOver = instrumentFlagSyncClient(bare, { delivery: 'exporter' });

const addEvent = (attributes) => () => {
  flag(stub);
  trace.getActiveSpan().addEvent('feature_flag.evaluation', attributes(), Date.now());
};
const CASES = {
  uninstrumented: 'uninstrumented flag() in a span',
  floorBefore: `floor: bare addEvent with ${BEFORE_REV}'s attributes`,
  floor: "floor: bare addEvent with this build's attributes (the variant)",
  before: `before (${BEFORE_REV}): span event, claimed`,
  now: 'now: span event, handed to the exporters, receipted',
  sdk: 'now: span event, delivery sdk (nothing handed over)',
  preVariantFloor: `floor: bare addEvent with ${BEFORE_VARIANT_REV}'s attributes, its own exporter`,
  preVariant: `before variants (${BEFORE_VARIANT_REV}): handed over, receipted by its own exporter`,
  bareBefore: `before (${BEFORE_REV}), on a stub retaining nothing`,
  bareNow: 'now, handed over, on a stub retaining nothing',
};
const fns = {
  uninstrumented: inTracerSpan(() => flag(stub)),
  floorBefore: inTracerSpan(addEvent(floorAttributesWithoutVariant)),
  floor: inTracerSpan(addEvent(floorAttributes)),
  before: inTracerSpan(() => flag(beforeClient)),
  now: inTracerSpan(() => flag(handedOver)),
  sdk: inTracerSpan(() => flag(sdkDefault)),
  preVariantFloor: inPreVariantSpan(addEvent(floorAttributesWithoutVariant)),
  preVariant: inPreVariantSpan(() => flag(preVariantClient)),
  bareBefore: inTracerSpan(() => flag(bareBefore)),
  bareNow: inTracerSpan(() => flag(bareHandedOver)),
};
const cases = Object.entries(CASES).map(([key, name]) => ({ name, fn: fns[key] }));
const settle = () => Promise.all([provider.forceFlush(), preVariantProvider.forceFlush()]);

// One case alone (handover-instructions.mjs runs it under a CPU simulator, counting instructions):
// warm up, then BENCH_CALLS calls, their spans exported and receipted, and exit.
if (process.env.BENCH_ONE_CASE) {
  const fn = fns[process.env.BENCH_ONE_CASE];
  if (!fn) throw new Error(`BENCH_ONE_CASE: one of ${Object.keys(fns).join(', ')}`);
  await runCalls(fn, Number(process.env.BENCH_WARMUP ?? 20_000));
  await settle();
  await runCalls(fn, Number(process.env.BENCH_CALLS ?? 0));
  await settle();
  await exporter.forceFlush();
  process.exit(0);
}

// CPU time per call, each case's spans exported (and their calls receipted) inside its own measurement.
const { results, paired } = await measureCpu(
  cases.map((c) => ({ ...c, settle })),
  { rounds: Number(process.env.BENCH_ROUNDS ?? 31), calls: 10_000 },
);
await exporter.forceFlush();
await preVariantExporter.forceFlush();
const handover = getInstrumentationStats(handedOver).handover;

// Each build over the floor with the attributes it writes (the delivery marker is this build's own cost:
// a floor event carrying it would be left to the SDK, not delivered).
const added = {
  [`before (${BEFORE_REV}) over its floor`]: paired(CASES.before, CASES.floorBefore),
  'now, handed over and receipted, over its floor': paired(CASES.now, CASES.floor),
  'now, delivery sdk, over its floor': paired(CASES.sdk, CASES.floor),
  [`before variants (${BEFORE_VARIANT_REV}) over its floor`]: paired(CASES.preVariant, CASES.preVariantFloor),
  [`before (${BEFORE_REV}) over its floor, stub retaining nothing`]: paired(CASES.bareBefore, CASES.floorBefore),
  'now over its floor, stub retaining nothing': paired(CASES.bareNow, CASES.floor),
  'the variant attribute (floor with it minus floor without)': paired(CASES.floor, CASES.floorBefore),
  [`now minus before (${BEFORE_REV})`]: paired(CASES.now, CASES.before),
  // The targets: each build over its own floor, the two differences taken round by round.
  [`now minus before (${BEFORE_REV}), each over its floor`]: paired(
    CASES.now,
    CASES.floor,
    CASES.before,
    CASES.floorBefore,
  ),
  [`now minus before variants (${BEFORE_VARIANT_REV}), each over its floor`]: paired(
    CASES.now,
    CASES.floor,
    CASES.preVariant,
    CASES.preVariantFloor,
  ),
};
console.table(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.median])));
console.table(added);
console.table(handover);
writeResult('handover-cost', { beforeRev: BEFORE_REV, beforeVariantRev: BEFORE_VARIANT_REV, results, added, handover });
process.exit(0);
