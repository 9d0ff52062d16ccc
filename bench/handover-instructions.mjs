// Receipts on the flag() hot path, counted in instructions: the cases of handover-cost.mjs, each run alone
// under Valgrind's cachegrind (an instruction counter; this VM exposes no hardware counters), once with
// no measured calls and once with CALLS, the same warm-up before both. The difference over CALLS is the
// instructions one call costs in steady state, its span's export and its receipt included, the garbage
// collector's work included. V8 runs `--predictable` (one thread, fixed seeds) with the collector's
// schedule fixed, so the same run counts about the same each time. The optimizing compilers' own work is
// counted apart: when tiering falls moves with timers (between runs of one case, by up to 100 million
// instructions), and it is the warm-up's, not a call's.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { quantile, writeResult } from './lib.mjs';

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
const WARMUP = Number(process.env.BENCH_WARMUP ?? 100_000);
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
// The garbage collector's schedule. Fixed for the rows: V8 sizes the young generation (up to 16 MB, where
// a busy app's settles) and the old one from timings, so its cycles would fall at different allocations
// run by run. V8's own, adaptive, for the issue 17 target again.
const GC = {
  fixed: ['--min-semi-space-size=16', '--max-semi-space-size=16', '--heap-growing-percent=100', '--no-memory-reducer'],
  adaptive: [],
};
const ADAPTIVE_CASES = ['floorBefore', 'floor', 'before', 'now'];

// V8's optimizing compilers (Turbofan, Maglev): when they run depends on where tiering falls, which moves with
// timers under Valgrind; that work is the warm-up's, not a call's. Counted apart from the rest.
const COMPILER = /v8::internal::(compiler|maglev|turboshaft)::/;
const outDir = mkdtempSync(join(tmpdir(), 'handover-instructions-'));
let outFiles = 0;

/** Instructions of one process running `calls` measured calls of `key`: in all, and without the compilers. */
async function instructions(key, calls, gc) {
  const out = join(outDir, `cachegrind.${outFiles++}`);
  await run(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      `--cachegrind-out-file=${out}`,
      // V8 writes the code it runs: every write is checked for code Valgrind has translated.
      '--smc-check=all-non-file',
      process.execPath,
      '--predictable',
      '--random-seed=1',
      '--hash-seed=1',
      ...GC[gc],
      `${here}handover-cost.mjs`,
    ],
    {
      env: { ...process.env, BENCH_ONE_CASE: key, BENCH_CALLS: String(calls), BENCH_WARMUP: String(WARMUP) },
      maxBuffer: 1 << 24,
    },
  );
  // Per function: `fn=<name>` then `<line> <instructions>` rows.
  let all = 0;
  let compiler = 0;
  let inCompiler = false;
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) inCompiler = COMPILER.test(line);
    else if (line >= '0' && line <= ':') {
      const n = Number(line.slice(line.indexOf(' ') + 1));
      all += n;
      if (inCompiler) compiler += n;
    }
  }
  rmSync(out);
  if (!all) throw new Error(`${key}: no instruction count from valgrind`);
  return { all, run: all - compiler };
}

// handover-cost.mjs builds the earlier revisions on first use: once, here, not in two processes at a time.
await run(process.execPath, [`${here}handover-cost.mjs`], {
  env: { ...process.env, BENCH_ONE_CASE: 'floor', BENCH_CALLS: '0', BENCH_WARMUP: '0' },
});

// Every run of every case, two at a time (the machine's cores), repeats interleaved.
const jobs = [];
for (let r = 0; r < REPEATS; r++)
  for (const [gc, keys] of [
    ['fixed', Object.keys(CASES)],
    ['adaptive', ADAPTIVE_CASES],
  ])
    for (const key of keys) for (const calls of [0, CALLS]) jobs.push({ key, calls, gc });
const countsOf = (keys) => Object.fromEntries(keys.map((k) => [k, { 0: [], [CALLS]: [] }]));
const counts = { fixed: countsOf(Object.keys(CASES)), adaptive: countsOf(ADAPTIVE_CASES) };
let next = 0;
const worker = async () => {
  while (next < jobs.length) {
    const { key, calls, gc } = jobs[next++];
    const count = await instructions(key, calls, gc);
    counts[gc][key][calls].push(count);
    console.error(`${gc} ${key} ${calls}: ${count.all} (${count.run} without the compilers)`);
  }
};
await Promise.all([worker(), worker()]);

// Per call: every measured run against every base run of the case (REPEATS² estimates); `measure` is
// `run` (the optimizing compilers left out) or `all`.
const perCall = (key, measure, gc) =>
  counts[gc][key][CALLS].flatMap((n) => counts[gc][key][0].map((base) => (n[measure] - base[measure]) / CALLS));
/** A sum of cases' per-call counts with signs, over every combination of their estimates: median and range. */
function combined(terms, measure = 'run', gc = 'fixed') {
  let sums = [0];
  for (const [sign, key] of terms) sums = sums.flatMap((s) => perCall(key, measure, gc).map((x) => s + sign * x));
  sums.sort((a, b) => a - b);
  const at = (q) => Math.round(quantile(sums, q));
  return { median: at(0.5), min: at(0), max: at(1) };
}
const TARGET = `now minus before (${BEFORE_REV}), each over its floor`;
const TARGET_VARIANTS = `now minus before variants (${BEFORE_VARIANT_REV}), each over its floor`;
const targetTerms = [
  [1, 'now'],
  [-1, 'floor'],
  [-1, 'before'],
  [1, 'floorBefore'],
];
const variantTerms = [
  [1, 'now'],
  [-1, 'floor'],
  [-1, 'preVariant'],
  [1, 'preVariantFloor'],
];
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
  [TARGET]: combined(targetTerms),
  [`before variants (${BEFORE_VARIANT_REV}) over its floor`]: combined([
    [1, 'preVariant'],
    [-1, 'preVariantFloor'],
  ]),
  [TARGET_VARIANTS]: combined(variantTerms),
};
// The same targets with the optimizing compilers' work counted in.
const withCompilers = {
  [TARGET]: combined(targetTerms, 'all'),
  [TARGET_VARIANTS]: combined(variantTerms, 'all'),
};
// The target under V8's adaptive schedule, without and with the compilers.
const adaptive = {
  [`before (${BEFORE_REV}) over its floor`]: combined(
    [
      [1, 'before'],
      [-1, 'floorBefore'],
    ],
    'run',
    'adaptive',
  ),
  'now, handed over and receipted, over its floor': combined(
    [
      [1, 'now'],
      [-1, 'floor'],
    ],
    'run',
    'adaptive',
  ),
  [TARGET]: combined(targetTerms, 'run', 'adaptive'),
  [`${TARGET}, the compilers' work counted in`]: combined(targetTerms, 'all', 'adaptive'),
};
console.table(cases);
console.table(added);
console.table(withCompilers);
console.table(adaptive);
rmSync(outDir, { recursive: true, force: true });
writeResult('handover-instructions', {
  beforeRev: BEFORE_REV,
  beforeVariantRev: BEFORE_VARIANT_REV,
  calls: CALLS,
  warmup: WARMUP,
  repeats: REPEATS,
  cases,
  added,
  withCompilers,
  adaptive,
  counts,
});
