// The delivery store's price per flag event for a whole gateway (#19), the figures of
// results/shared-store.md: the built collector with collector-config.yaml as is (the local store:
// delivery records in the sending queue's file_storage) and the same with
// delivery_store.postgres.dsn (a throwaway PostgreSQL, scripts/postgres.sh), side by side, in
// passes alternating between them, each counted until every item has reached FlagSync (the
// stand-in, its own process) exactly once. CPU is user + system time from /proc: the collector's,
// and the PostgreSQL server's processes. Traffic: otlp-traffic.mjs (call times advancing with the
// wall clock). Other builds join the comparison with STORE_BENCH_OTHERS, a JSON list of
// {"name", "binary", "config"} (e.g. a collector built from an earlier commit, with its own config).
// Not part of bench/run.mjs: results/shared-store.md is written by hand from its output.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAG_EVENTS_PER_REQUEST, payloads, post } from './otlp-traffic.mjs';
import { CLI, ROOT, collectorBinary, cpuSeconds, freePort, startCollector, startNode } from './spawn.mjs';
import { summarize } from './lib.mjs';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100);
const PASSES = Number(process.env.BENCH_PASSES ?? 5);
const KEY = 'standin-sdk-key';
const events = REQUESTS * FLAG_EVENTS_PER_REQUEST;

const standIn = startNode([CLI, 'standin', '--port', String(await freePort())]);
const standInUrl = await standIn.first;
process.on('exit', () => standIn.child.kill('SIGTERM'));
const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const backend = `http://127.0.0.1:${sink.address().port}`;
const temp = () => mkdtempSync(join(tmpdir(), 'bench-store-'));
const counts = async () => {
  const n = await (await fetch(`${standInUrl}/__standin/counts`)).json();
  return n.impressions + n.events;
};

const pgParent = temp();
chmodSync(pgParent, 0o755); // as root the server runs as nobody, who must reach its folder
const pgDir = join(pgParent, 'pg');
const dsn = execFileSync('bash', [join(ROOT, 'scripts/postgres.sh'), 'start', pgDir], { encoding: 'utf8' }).trim();
const postmaster = Number(readFileSync(join(pgDir, 'data/postmaster.pid'), 'utf8').split('\n')[0]);
/** CPU seconds of the PostgreSQL server: the postmaster, its live children, and those it has reaped. */
function serverCpu() {
  const stat = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const own = stat(postmaster);
  let seconds = (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) / 100;
  for (const name of execFileSync('ls', ['/proc'], { encoding: 'utf8' }).split('\n')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = stat(name);
      if (Number(fields[1]) === postmaster) seconds += cpuSeconds(Number(name));
    } catch {} // exited meanwhile
  }
  return seconds;
}

const postgresConfig = join(temp(), 'postgres.yaml');
writeFileSync(
  postgresConfig,
  readFileSync(join(ROOT, 'collector-config.yaml'), 'utf8').replace(
    /( {4}sdk_key: .*\n)/,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the collector's own ${env:...} syntax
    '$1    delivery_store:\n      postgres:\n        dsn: ${env:FLAGSYNC_STORE_DSN}\n',
  ),
);
const setups = [
  ...JSON.parse(process.env.STORE_BENCH_OTHERS ?? '[]'),
  { name: 'local', binary: collectorBinary(), config: join(ROOT, 'collector-config.yaml') },
  { name: 'postgres', binary: collectorBinary(), config: postgresConfig, postgres: true },
];
for (const setup of setups) {
  setup.collector = await startCollector(
    setup.config,
    {
      OTEL_BACKEND_ENDPOINT: backend,
      FLAGSYNC_ENDPOINT: standInUrl,
      FLAGSYNC_SDK_KEY: KEY,
      FLAGSYNC_QUEUE_DIR: temp(),
      ...(setup.postgres ? { FLAGSYNC_STORE_DSN: dsn } : {}),
    },
    setup.binary,
  );
  setup.runs = [];
}

let offset = 1;
async function pass(setup) {
  await fetch(`${standInUrl}/__standin/reset`, { method: 'POST' });
  const bodies = payloads(offset, REQUESTS);
  offset += REQUESTS;
  const pid = setup.collector.child.pid;
  const [cpu0, server0] = [cpuSeconds(pid), serverCpu()];
  const statuses = await post(`${setup.collector.url}/v1/traces`, bodies);
  const deadline = Date.now() + 180_000;
  while ((await counts()) < events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const [cpu, server] = [cpuSeconds(pid) - cpu0, serverCpu() - server0];
  // A late copy would show within a moment.
  await new Promise((r) => setTimeout(r, 500));
  return {
    statuses,
    exact: (await counts()) === events,
    micros: (cpu / events) * 1e6,
    server: (server / events) * 1e6,
  };
}
for (const setup of setups) await pass(setup); // warm up
for (let i = 0; i < PASSES; i++) {
  for (const setup of i % 2 ? [...setups].reverse() : setups) {
    const run = await pass(setup);
    setup.runs.push(run);
    console.error(
      `${setup.name}: ${run.micros.toFixed(2)} µs per event${setup.postgres ? `, server ${run.server.toFixed(2)}` : ''}`,
    );
  }
}
const result = {
  requests: REQUESTS,
  flagEventsPerRequest: FLAG_EVENTS_PER_REQUEST,
  passes: PASSES,
  everyItemOnce: setups.every((s) => s.runs.every((r) => r.exact)),
  statuses: Object.fromEntries(setups.map((s) => [s.name, s.runs.at(-1).statuses])),
  cpuMicrosPerEvent: Object.fromEntries(setups.map((s) => [s.name, summarize(s.runs.map((r) => r.micros))])),
  postgresServerCpuMicrosPerEvent: summarize(setups.find((s) => s.postgres).runs.map((r) => r.server)),
};
console.log(JSON.stringify(result, null, 2));
for (const setup of setups) setup.collector.child.kill('SIGTERM');
await Promise.all(setups.map((s) => new Promise((r) => s.collector.child.once('exit', r))));
execFileSync('bash', [join(ROOT, 'scripts/postgres.sh'), 'stop', pgDir]);
standIn.child.kill('SIGTERM');
sink.close();
