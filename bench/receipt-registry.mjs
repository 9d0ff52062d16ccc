// The receipt registry alone: what a handed-over call costs in it (filed at hand-over, found and taken by the
// exporter, receipted by FlagSync's answer), for this checkout and an earlier revision (BENCH_REGISTRY_REV, the
// build before the hand-over queue), each bundled from its own source and run side by side in one process,
// rounds alternating. Calls are exported in batches of 512 as a span processor sends them: in hand-over order,
// and with spans ending out of order (each batch's calls in random order). Wall time per call of a tight loop:
// no span, no SDK, nothing else in the measurement, so differences of tens of nanoseconds show.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { quantile, revisionCheckout, writeResult } from './lib.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const REV = process.env.BENCH_REGISTRY_REV ?? 'abda923';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 41);
const CALLS = 51_200;
const BATCH = 512;

/** The registry and claims modules of a source tree, bundled (they are internal: no build exports them). */
function bundled(srcDir, name) {
  const out = `${ROOT}.cache/bench-registry/${name}`;
  mkdirSync(out, { recursive: true });
  execFileSync(
    `${ROOT}node_modules/.bin/esbuild`,
    [
      `${srcDir}/src/instrumentation/claims.ts`,
      `${srcDir}/src/instrumentation/handover.ts`,
      '--bundle',
      '--format=esm',
      '--platform=node',
      '--splitting',
      `--outdir=${out}`,
      '--log-level=warning',
    ],
    { cwd: ROOT },
  );
  const load = (entry) => import(pathToFileURL(`${out}/${entry}.js`).href);
  return Promise.all([load('claims'), load('handover')]);
}

const builds = {
  now: await bundled(ROOT, 'now'),
  [REV]: await bundled(revisionCheckout(REV), REV),
};
const user = { key: 'user-123', attributes: { plan: 'pro', country: 'NO' } };
// Span ids as the OTel SDK makes them (hex of random bytes), and one stored event object per call.
const holders = Array.from({ length: CALLS }, () => randomBytes(8).toString('hex'));
const events = Array.from({ length: CALLS }, () => ({}));

function shuffled(from, to) {
  const order = Array.from({ length: to - from }, (_, i) => from + i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
const inOrder = Array.from({ length: CALLS / BATCH }, (_, b) => Array.from({ length: BATCH }, (_, i) => b * BATCH + i));
const outOfOrder = inOrder.map((batch) => shuffled(batch[0], batch[0] + BATCH));

/** One pass: every call handed over (its claim the SDK's context copy), then each batch found, taken, receipted. */
function pass([claims, registry], batches) {
  const queued = new Array(CALLS);
  let found = 0;
  for (let b = 0; b < batches.length; b++) {
    for (let i = b * BATCH; i < (b + 1) * BATCH; i++) {
      queued[i] = claims.ownContext(user);
      registry.handOver(queued[i], 'exporter', holders[i], events[i]);
    }
    const taken = [];
    for (const i of batches[b]) {
      const claim = registry.claimFor(holders[i], events[i]);
      if (claim && registry.take(claim)) taken.push(claim);
    }
    for (const claim of taken) registry.receipt(claim);
    found += taken.length;
  }
  if (found !== CALLS || registry.handoverStats().pending !== 0)
    throw new Error(`${found} of ${CALLS} calls receipted`);
}

const copyOnly = ([claims]) => {
  const kept = new Array(CALLS);
  for (let i = 0; i < CALLS; i++) kept[i] = claims.ownContext(user);
};

const ORDERS = { 'in hand-over order': inOrder, 'out of order': outOfOrder };
const COPY = 'the context copy alone';
const cases = [];
for (const [name, build] of Object.entries(builds)) {
  for (const [order, batches] of Object.entries(ORDERS))
    cases.push({ name: `${name}: exported ${order}`, fn: () => pass(build, batches) });
  cases.push({ name: `${name}: ${COPY}`, fn: () => copyOnly(build) });
}
const perRound = Object.fromEntries(cases.map((c) => [c.name, []]));
for (let round = -3; round < ROUNDS; round++) {
  for (const c of round % 2 ? [...cases].reverse() : cases) {
    const started = process.hrtime.bigint();
    c.fn();
    if (round >= 0) perRound[c.name].push(Number(process.hrtime.bigint() - started) / CALLS);
  }
}

const oneDecimal = (sorted, q) => Math.round(quantile(sorted, q) * 10) / 10;
const paired = (name, base) => {
  const diffs = perRound[name].map((v, i) => v - perRound[base][i]).sort((a, b) => a - b);
  return {
    median: oneDecimal(diffs, 0.5),
    q1: oneDecimal(diffs, 0.25),
    q3: oneDecimal(diffs, 0.75),
    above: diffs.filter((d) => d > 0).length,
    rounds: diffs.length,
  };
};
const results = Object.fromEntries(
  Object.entries(perRound).map(([name, values]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return [
      name,
      { median: oneDecimal(sorted, 0.5), min: oneDecimal(sorted, 0), max: oneDecimal(sorted, 1), rounds: ROUNDS },
    ];
  }),
);
// The registry's share: each pass minus the same build's context copies, round by round.
const registryCost = {};
for (const order of Object.keys(ORDERS)) {
  for (const name of Object.keys(builds))
    registryCost[`${name}, exported ${order}`] = paired(`${name}: exported ${order}`, `${name}: ${COPY}`);
  registryCost[`now minus ${REV}, exported ${order}`] = paired(`now: exported ${order}`, `${REV}: exported ${order}`);
}
console.table(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.median])));
console.table(registryCost);
writeResult('receipt-registry', { rev: REV, calls: CALLS, batch: BATCH, results, registryCost });
