// Shared benchmark harness: tinybench tasks, each call running a loop of `inner` operations
// (sub-microsecond work needs batching to rise above timer resolution), repeated over several
// rounds in alternating order; reports the median per-op time across rounds and its spread.
import { Bench } from 'tinybench';
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function measure(cases, options) {
  return summarizeRounds(await measureRounds(cases, options));
}

/** As `measure`, with differences between cases read round by round (`paired`, see measureCpu). */
export async function measurePaired(cases, options) {
  const perRound = await measureRounds(cases, options);
  return { results: summarizeRounds(perRound), paired: pairing(perRound) };
}

async function measureRounds(
  cases,
  { rounds = 5, inner = 100, time = 400, warmupTime = 150, iterations, warmupIterations } = {},
) {
  const perRound = Object.fromEntries(cases.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    // A fixed iteration count (time 0) bounds memory when the code under test retains what it is given.
    const bench = new Bench(
      iterations
        ? { time: 0, iterations, warmupTime: 0, warmupIterations: warmupIterations ?? Math.ceil(iterations / 5) }
        : { time, warmupTime },
    );
    const ordered = round % 2 ? [...cases].reverse() : cases;
    for (const c of ordered) {
      // Async cases (LaunchDarkly's variation() returns a promise) await each call in the loop.
      bench.add(
        c.name,
        c.async
          ? async () => {
              for (let i = 0; i < inner; i++) await c.fn(i);
            }
          : () => {
              for (let i = 0; i < inner; i++) c.fn(i);
            },
      );
    }
    await bench.run();
    for (const task of bench.tasks) {
      if (task.result.state !== 'completed')
        throw new Error(`${task.name}: ${task.result.state} ${task.result.error ?? ''}`);
      perRound[task.name].push((task.result.latency.mean * 1e6) / inner);
    }
  }
  return perRound;
}

const summarizeRounds = (perRound) =>
  Object.fromEntries(Object.entries(perRound).map(([name, values]) => [name, summarize(values)]));

/**
 * `name` minus `base`, round by round: median, quartiles and the rounds it was above zero. Given a
 * second pair, the difference of the two differences (one build's cost over its floor minus another's).
 */
/** The value at quantile `q` of ascending `sorted` (the lower of two neighbours): one rule for every bench. */
export const quantile = (sorted, q) => sorted[Math.floor(q * (sorted.length - 1))];

const pairing = (perRound) => (name, base, otherName, otherBase) => {
  const other = (i) => (otherName === undefined ? 0 : perRound[otherName][i] - perRound[otherBase][i]);
  const diffs = perRound[name].map((v, i) => v - perRound[base][i] - other(i)).sort((a, b) => a - b);
  const at = (q) => round2(quantile(diffs, q));
  return {
    median: at(0.5),
    q1: at(0.25),
    q3: at(0.75),
    above: diffs.filter((d) => d > 0).length,
    rounds: diffs.length,
  };
};

/**
 * CPU time per call (process.cpuUsage: this process's user + system time, its GC and other threads
 * included), for code whose cost is paid partly later (span export, receipts): each case runs
 * `calls` calls per round in slices of `slice`, yielding to the event loop between slices so timers
 * (span processors' exports) run inside the measured time. Rounds alternate the order of cases. CPU
 * time, unlike wall time, is not inflated by other processes competing for the cores; what they
 * still move (caches, clock speed) moves neighbouring rounds together, so a difference between two
 * cases is best read pair by pair within each round (`paired`).
 */
export async function measureCpu(cases, { rounds = 9, calls = 20_000, slice = 500, warmup = 5_000 } = {}) {
  const run = (fn, n) => runCalls(fn, n, slice);
  for (const c of cases) await run(c.fn, warmup);
  const perRound = Object.fromEntries(cases.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const c of round % 2 ? [...cases].reverse() : cases) {
      await c.before?.();
      // No forced collection between rounds: a full collection outside the measured time leaves its
      // concurrent sweeping and a shrunk young generation to the next round, which no app pays for.
      const start = process.cpuUsage();
      await run(c.fn, calls);
      await c.settle?.();
      const used = process.cpuUsage(start);
      perRound[c.name].push(((used.user + used.system) * 1000) / calls);
    }
  }
  return { results: summarizeRounds(perRound), paired: pairing(perRound) };
}

/** `n` calls of `fn`, `slice` at a time, the event loop turning between slices (timers, exports). */
export async function runCalls(fn, n, slice = 500) {
  for (let done = 0; done < n; done += slice) {
    for (let i = 0; i < slice; i++) fn(i);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return {
    median: round2(median),
    min: round2(sorted[0]),
    max: round2(sorted[sorted.length - 1]),
    rounds: values.length,
  };
}

export function round2(x) {
  return Math.round(x * 100) / 100;
}

export function machine() {
  return {
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

export function writeResult(name, result) {
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL(`./results/${name}.json`, import.meta.url),
    `${JSON.stringify({ machine: machine(), ...result }, null, 2)}\n`,
  );
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * A source tree of an earlier revision, to measure it beside this one: a git worktree in
 * .cache/bench-before/<rev>, made once, sharing this checkout's node_modules.
 */
export function revisionCheckout(rev) {
  const dir = `${ROOT}.cache/bench-before/${rev}`;
  if (!existsSync(dir)) {
    mkdirSync(`${ROOT}.cache/bench-before`, { recursive: true });
    execFileSync('git', ['worktree', 'add', '--detach', '-f', dir, rev], { cwd: ROOT });
  }
  if (!existsSync(`${dir}/node_modules`)) symlinkSync(`${ROOT}node_modules`, `${dir}/node_modules`);
  return dir;
}
