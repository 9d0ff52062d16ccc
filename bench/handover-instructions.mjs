// Receipts on the flag() hot path, counted in instructions: the cases of handover-cost.mjs, each run alone
// under Valgrind's cachegrind (an instruction counter; this VM exposes no hardware counters), once with
// no measured calls and once with CALLS, the same warm-up before both. The difference over CALLS is the
// instructions one call costs in steady state, its span's export and its receipt included, the garbage
// collector's work included. V8 runs `--predictable` (one thread, a fixed seed, no timing-driven heuristics),
// so the same run counts about the same each time. Time on this VM drifts by microseconds between rounds;
// what a count still varies by is mostly where the collector's cycles fall, which a long run evens out.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeResult } from './lib.mjs';

const run = promisify(execFile);
try {
  await run('valgrind', ['--version']);
} catch {
  console.error('handover-instructions: skipped, Valgrind is not installed (Debian: apt-get install valgrind)');
  process.exit(0);
}
const here = fileURLToPath(new URL('.', import.meta.url));
const CALLS = Number(process.env.BENCH_CALLS ?? 100_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const BEFORE_REV = process.env.BENCH_BEFORE_REV ?? '9750719';
const BEFORE_VARIANT_REV = process.env.BENCH_BEFORE_VARIANT_REV ?? '9fc99bd';
const CASES = {
  floorBefore: `floor: bare addEvent with ${BEFORE_REV}'s attributes`,
  floor: "floor: bare addEvent with this build's attributes (the variant)",
  before: `before (${BEFORE_REV}): span event, claimed`,
  now: 'now: span event, handed to the exporters, receipted',
  preVariantFloor: `floor: bare addEvent with ${BEFORE_VARIANT_REV}'s attributes, its own exporter`,
  preVariant: `before variants (${BEFORE_VARIANT_REV}): handed over, receipted by its own exporter`,
};

/** Instructions of one process running `calls` measured calls of `key`. */
async function instructions(key, calls) {
  const { stderr } = await run(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      '--cachegrind-out-file=/dev/null',
      // V8 writes the code it runs: every write is checked for code Valgrind has translated.
      '--smc-check=all-non-file',
      process.execPath,
      '--predictable',
      '--random-seed=1',
      '--hash-seed=1',
      `${here}handover-cost.mjs`,
    ],
    { env: { ...process.env, BENCH_ONE_CASE: key, BENCH_CALLS: String(calls) }, maxBuffer: 1 << 24 },
  );
  const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr);
  if (!refs) throw new Error(`${key}: no instruction count from valgrind:\n${stderr.slice(-2000)}`);
  return Number(refs[1].replaceAll(',', ''));
}

// handover-cost.mjs builds the earlier revisions on first use: once, here, not in two processes at a time.
await run(process.execPath, [`${here}handover-cost.mjs`], {
  env: { ...process.env, BENCH_ONE_CASE: 'floor', BENCH_CALLS: '0', BENCH_WARMUP: '0' },
});

// Every run of every case, two at a time (the machine's cores), repeats interleaved.
const jobs = [];
for (let r = 0; r < REPEATS; r++)
  for (const key of Object.keys(CASES)) for (const calls of [0, CALLS]) jobs.push({ key, calls });
const counts = Object.fromEntries(Object.keys(CASES).map((k) => [k, { 0: [], [CALLS]: [] }]));
let next = 0;
const worker = async () => {
  while (next < jobs.length) {
    const job = jobs[next++];
    counts[job.key][job.calls].push(await instructions(job.key, job.calls));
    console.error(`${job.key} ${job.calls}: ${counts[job.key][job.calls].at(-1)}`);
  }
};
await Promise.all([worker(), worker()]);

// Per call: every measured run against every base run of the case (REPEATS² estimates).
const perCall = (key) => counts[key][CALLS].flatMap((n) => counts[key][0].map((base) => (n - base) / CALLS));
/** A sum of cases' per-call counts with signs, over every combination of their estimates: median and range. */
function combined(terms) {
  let sums = [0];
  for (const [sign, key] of terms) sums = sums.flatMap((s) => perCall(key).map((x) => s + sign * x));
  sums.sort((a, b) => a - b);
  const at = (q) => Math.round(sums[Math.floor(q * (sums.length - 1))]);
  return { median: at(0.5), min: at(0), max: at(1) };
}
const cases = Object.fromEntries(Object.entries(CASES).map(([key, name]) => [name, combined([[1, key]])]));
const added = {
  [`before (${BEFORE_REV}) over its floor`]: combined([
    [1, 'before'],
    [-1, 'floorBefore'],
  ]),
  'now, handed over and receipted, over its floor': combined([
    [1, 'now'],
    [-1, 'floor'],
  ]),
  'the variant attribute (floor with it minus floor without)': combined([
    [1, 'floor'],
    [-1, 'floorBefore'],
  ]),
  [`now minus before (${BEFORE_REV})`]: combined([
    [1, 'now'],
    [-1, 'before'],
  ]),
  // The target: what this build adds over its floor minus what the build before receipts added over its own.
  [`now minus before (${BEFORE_REV}), each over its floor`]: combined([
    [1, 'now'],
    [-1, 'floor'],
    [-1, 'before'],
    [1, 'floorBefore'],
  ]),
  [`before variants (${BEFORE_VARIANT_REV}) over its floor`]: combined([
    [1, 'preVariant'],
    [-1, 'preVariantFloor'],
  ]),
  [`now minus before variants (${BEFORE_VARIANT_REV}), each over its floor`]: combined([
    [1, 'now'],
    [-1, 'floor'],
    [-1, 'preVariant'],
    [1, 'preVariantFloor'],
  ]),
};
console.table(cases);
console.table(added);
writeResult('handover-instructions', {
  beforeRev: BEFORE_REV,
  beforeVariantRev: BEFORE_VARIANT_REV,
  calls: CALLS,
  repeats: REPEATS,
  cases,
  added,
  counts,
});
