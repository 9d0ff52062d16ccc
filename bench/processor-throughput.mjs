// Sidecar service throughput: realistic OTLP protobuf+gzip requests (otlp-traffic.mjs) posted over
// loopback to `flagsync-otel serve`, which delivers to the stand-in (its own process). CPU is
// read from /proc for the service process, so the figures are per core. The same service with
// FLAGSYNC_SERVICE_DEDUPE_DIR (ids on disk) runs in alternating passes. The collector in front of
// it is measured side by side with the flagsync exporter in collector-side.mjs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAG_EVENTS_PER_REQUEST, SPANS_PER_REQUEST, payloads, post } from './otlp-traffic.mjs';
import { CLI, cpuSeconds, freePort, startNode } from './spawn.mjs';
import { round2, writeResult } from './lib.mjs';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
// The median pass, with the spread: two cores are shared with the load generator and stand-in.
const PASSES = 3;

const standIn = startNode([CLI, 'standin', '--port', String(await freePort())]);
const standInUrl = await standIn.first;
const serviceEnv = {
  FLAGSYNC_SDK_KEY: 'standin-sdk-key',
  FLAGSYNC_EVENTS_URL: standInUrl,
  OTEL_LOG_LEVEL: 'warn',
  FLAGSYNC_EXPORT_SCHEDULE_DELAY: '20',
  FLAGSYNC_EXPORT_MAX_BATCH_SIZE: '1000',
  FLAGSYNC_SERVICE_MAX_CONCURRENT_REQUESTS: '64',
};
const profile = process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : [];
const memoryOnly = startNode([...profile, CLI, 'serve', '--port', String(await freePort())], serviceEnv);
const journaled = startNode([CLI, 'serve', '--port', String(await freePort())], {
  ...serviceEnv,
  FLAGSYNC_SERVICE_DEDUPE_DIR: mkdtempSync(join(tmpdir(), 'bench-dedupe-')),
});
const services = {
  memoryOnly: { ...memoryOnly, url: await memoryOnly.first },
  journaled: { ...journaled, url: await journaled.first },
};

let offset = 1;
const events = REQUESTS * FLAG_EVENTS_PER_REQUEST;
async function pass(svc) {
  const bodies = payloads(offset, REQUESTS);
  offset += REQUESTS;
  const cpu0 = cpuSeconds(svc.child.pid);
  const wall0 = performance.now();
  const statuses = await post(`${svc.url}/v1/traces`, bodies);
  return {
    cpu: cpuSeconds(svc.child.pid) - cpu0,
    wall: (performance.now() - wall0) / 1000,
    statuses,
    bytes: bodies.reduce((a, b) => a + b.length, 0) / bodies.length,
  };
}
function summarise(passes) {
  const rates = passes.map((p) => events / p.cpu).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  return {
    requests: REQUESTS,
    passes: PASSES,
    spansPerRequest: SPANS_PER_REQUEST,
    flagEventsPerRequest: FLAG_EVENTS_PER_REQUEST,
    statuses: passes.at(-1).statuses,
    requestBytesGzip: Math.round(passes.at(-1).bytes),
    eventsPerSecondPerCore: Math.round(median),
    eventsPerSecondPerCoreMin: Math.round(rates[0]),
    eventsPerSecondPerCoreMax: Math.round(rates[rates.length - 1]),
    cpuMicrosPerEvent: round2(1e6 / median),
    wallSecondsPerPass: round2(passes.reduce((a, p) => a + p.wall, 0) / PASSES),
  };
}
// Warm up both, then alternate, so the VM's drift hits both alike.
await pass(services.memoryOnly);
await pass(services.journaled);
const memoryPasses = [];
const journalPasses = [];
for (let i = 0; i < PASSES; i++) {
  memoryPasses.push(await pass(services.memoryOnly));
  journalPasses.push(await pass(services.journaled));
}
const direct = summarise(memoryPasses);
const withDedupeDir = summarise(journalPasses);
for (const s of Object.values(services)) s.child.kill('SIGTERM');
await Promise.all(Object.values(services).map((s) => s.exited));
const counts = await (await fetch(`${standInUrl}/__standin/counts`)).json();
const delivered = { expected: (offset - 1) * FLAG_EVENTS_PER_REQUEST, atStandIn: counts.impressions + counts.events };
standIn.child.kill('SIGTERM');
writeResult('processor-throughput', { direct, withDedupeDir, delivered, targets: { eventsPerSecondPerCore: 100000 } });
console.log(JSON.stringify({ direct, withDedupeDir, delivered }, null, 2));
process.exit(0);
