// The collector side, measured side by side in one run on this machine:
//  1. CPU per flag event of the collector with the flagsync exporter (collector-config.yaml)
//     against a stock collector forwarding to the FlagSync gateway
//     (collector-config.stock-to-gateway.yaml, collector-config.gateway.yaml), in alternating passes of the same realistic traffic (otlp-traffic.mjs), each counted until
//     every item has reached FlagSync (the stand-in, its own process). CPU from /proc. A third
//     collector runs only the normal pipelines of the same configuration (receiver, batch, the
//     backend exporter): what either setup costs beyond it is FlagSync's share.
//  2. The component's conversion alone, in Go (go test -bench), as flag events per second per core.
//  3. The collector's memory with the flagsync exporter while FlagSync answers 503 for a long
//     time: the persistent queue holds the backlog on disk; RSS is sampled throughout.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAG_EVENTS_PER_REQUEST, SPANS_PER_REQUEST, payloads, post } from './otlp-traffic.mjs';
import { CLI, ROOT, cpuSeconds, freePort, rssMiB, startCollector, startNode } from './spawn.mjs';
import { round2, summarize, writeResult } from './lib.mjs';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const PASSES = 3;
const OUTAGE_REQUESTS = Number(process.env.OUTAGE_REQUESTS ?? 1000);
const KEY = 'standin-sdk-key';

// FlagSync, and the backend of the normal pipelines (a sink in this process: its CPU is not counted).
const standIn = startNode([CLI, 'standin', '--port', String(await freePort())]);
const standInUrl = await standIn.first;
const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const backend = `http://127.0.0.1:${sink.address().port}`;
const queueDir = () => mkdtempSync(join(tmpdir(), 'bench-queue-'));
const control = (path, method = 'POST', body) =>
  fetch(`${standInUrl}/__standin/${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
const arrivedCount = async () => {
  const n = await (await fetch(`${standInUrl}/__standin/counts`)).json();
  return n.impressions + n.events;
};
async function untilArrived(expected, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await arrivedCount()) >= expected) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

// The same configuration without the FlagSync pipelines: the team's pipelines alone.
const baselineConfig = join(mkdtempSync(join(tmpdir(), 'bench-config-')), 'baseline.yaml');
writeFileSync(
  baselineConfig,
  readFileSync(join(ROOT, 'collector-config.yaml'), 'utf8').replace(/ {4}traces\/flagsync:[\s\S]*$/, ''),
);
const baseline = await startCollector(baselineConfig, {
  OTEL_BACKEND_ENDPOINT: backend,
  FLAGSYNC_ENDPOINT: standInUrl,
  FLAGSYNC_SDK_KEY: KEY,
  FLAGSYNC_QUEUE_DIR: queueDir(),
});
const component = await startCollector('collector-config.yaml', {
  OTEL_BACKEND_ENDPOINT: backend,
  FLAGSYNC_ENDPOINT: standInUrl,
  FLAGSYNC_SDK_KEY: KEY,
  FLAGSYNC_QUEUE_DIR: queueDir(),
});
const TOKEN = 'bench-gateway-token-0123456789';
const gateway = await startCollector('collector-config.gateway.yaml', {
  FLAGSYNC_ENDPOINT: standInUrl,
  FLAGSYNC_SDK_KEY: KEY,
  FLAGSYNC_GATEWAY_BEARER_TOKEN: TOKEN,
  FLAGSYNC_QUEUE_DIR: queueDir(),
});
const stock = await startCollector('collector-config.stock-to-gateway.yaml', {
  OTEL_BACKEND_ENDPOINT: backend,
  FLAGSYNC_GATEWAY_ENDPOINT: gateway.url,
  FLAGSYNC_GATEWAY_BEARER_TOKEN: TOKEN,
  FLAGSYNC_FORWARD_QUEUE_DIR: queueDir(),
});

// --- 1. side by side ---
let offset = 1;
const events = REQUESTS * FLAG_EVENTS_PER_REQUEST;
async function pass(collector, processes, expected = events) {
  await control('reset');
  const bodies = payloads(offset, REQUESTS);
  offset += REQUESTS;
  const cpu0 = processes.map((pid) => cpuSeconds(pid));
  const wall0 = performance.now();
  const statuses = await post(`${collector.url}/v1/traces`, bodies);
  // The baseline delivers nothing to FlagSync: give its batches to the backend the same time.
  let complete = true;
  if (expected > 0) complete = await untilArrived(expected, 120_000);
  else await new Promise((r) => setTimeout(r, 1000));
  const cpu = processes.map((pid, i) => cpuSeconds(pid) - cpu0[i]);
  return { statuses, complete, wall: (performance.now() - wall0) / 1000, micros: cpu.map((c) => (c / events) * 1e6) };
}
const setups = {
  baseline: () => pass(baseline, [baseline.child.pid], 0),
  component: () => pass(component, [component.child.pid]),
  gateway: () => pass(stock, [stock.child.pid, gateway.child.pid]),
};
for (const run of Object.values(setups)) await run(); // warm up
const runs = { baseline: [], component: [], gateway: [] };
for (let i = 0; i < PASSES; i++) for (const [name, run] of Object.entries(setups)) runs[name].push(await run());
const total = (r) => r.micros.reduce((a, b) => a + b, 0);
const sideBySide = {
  requests: REQUESTS,
  spansPerRequest: SPANS_PER_REQUEST,
  flagEventsPerRequest: FLAG_EVENTS_PER_REQUEST,
  passes: PASSES,
  allArrived: [...runs.component, ...runs.gateway].every((r) => r.complete),
  statuses: { component: runs.component.at(-1).statuses, gateway: runs.gateway.at(-1).statuses },
  baselineCpuMicrosPerEvent: summarize(runs.baseline.map(total)),
  componentCpuMicrosPerEvent: summarize(runs.component.map(total)),
  stockCollectorCpuMicrosPerEvent: summarize(runs.gateway.map((r) => r.micros[0])),
  gatewayCpuMicrosPerEvent: summarize(runs.gateway.map((r) => r.micros[1])),
  stockAndGatewayCpuMicrosPerEvent: summarize(runs.gateway.map(total)),
};
sideBySide.ratio = round2(
  sideBySide.componentCpuMicrosPerEvent.median / sideBySide.stockAndGatewayCpuMicrosPerEvent.median,
);
// FlagSync's share: each pass minus the baseline pass of the same round (the VM drifts between rounds).
const share = (name) => summarize(runs[name].map((r, i) => total(r) - total(runs.baseline[i])));
sideBySide.componentFlagSyncShareMicrosPerEvent = share('component');
sideBySide.stockAndGatewayFlagSyncShareMicrosPerEvent = share('gateway');
sideBySide.shareRatio = round2(
  sideBySide.componentFlagSyncShareMicrosPerEvent.median / sideBySide.stockAndGatewayFlagSyncShareMicrosPerEvent.median,
);
baseline.child.kill('SIGTERM');
stock.child.kill('SIGTERM');
gateway.child.kill('SIGTERM');
component.child.kill('SIGTERM');

// --- 2. the Go conversion alone ---
const goOut = execFileSync(
  'go',
  ['test', '-run', '^$', '-bench', 'BenchmarkConvertSpanEvents', '-benchtime', '2s', '-count', '5', '.'],
  { cwd: join(ROOT, 'collector/flagsyncexporter'), encoding: 'utf8' },
);
const rates = [...goOut.matchAll(/([\d.]+) events\/s/g)].map((m) => Number(m[1]));
const allocs = [...goOut.matchAll(/(\d+) allocs\/op/g)].map((m) => Number(m[1]));
const goConversion = {
  eventsPerSecondPerCore: summarize(rates),
  allocsPerRequest: allocs[0],
  eventsPerRequest: 'BenchmarkConvertSpanEvents: 512 spans, 1-3 evaluations each and a track event on every fourth',
};

// --- 3. memory through a long outage, with the persistent queue ---
await control('reset');
await control('faults', 'POST', { status: 503, times: null });
const outageQueue = queueDir();
const outage = await startCollector('collector-config.yaml', {
  OTEL_BACKEND_ENDPOINT: backend,
  FLAGSYNC_ENDPOINT: standInUrl,
  FLAGSYNC_SDK_KEY: KEY,
  FLAGSYNC_QUEUE_DIR: outageQueue,
});
const rssStart = rssMiB(outage.child.pid);
let rssPeak = rssStart;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(outage.child.pid))), 200);
const outageStart = Date.now();
// In chunks, so the payloads themselves never sit in this process all at once; RSS after each.
const rssAfterChunks = [];
for (let sent = 0; sent < OUTAGE_REQUESTS; sent += 100) {
  await post(`${outage.url}/v1/traces`, payloads(offset + sent, Math.min(100, OUTAGE_REQUESTS - sent)));
  rssAfterChunks.push(round2(rssMiB(outage.child.pid)));
}
offset += OUTAGE_REQUESTS;
await new Promise((r) => setTimeout(r, 5000));
const rssDuringOutage = rssMiB(outage.child.pid);
const queueSize = await metric(outage.metricsUrl, 'otelcol_exporter_queue_size{data_type="traces"');
const outageSeconds = (Date.now() - outageStart) / 1000;
await control('faults', 'DELETE');
const expectedAfter = OUTAGE_REQUESTS * FLAG_EVENTS_PER_REQUEST;
const recovered = await untilArrived(expectedAfter, 300_000);
clearInterval(sampler);
const memoryOutage = {
  requests: OUTAGE_REQUESTS,
  flagEvents: expectedAfter,
  outageSeconds: round2(outageSeconds),
  queuedRequestsAtEnd: queueSize,
  rssStartMiB: round2(rssStart),
  rssAfterEach100RequestsMiB: rssAfterChunks,
  rssDuringOutageMiB: round2(rssDuringOutage),
  rssPeakMiB: round2(rssPeak),
  deliveredAfterRecovery: await arrivedCount(),
  allDelivered: recovered,
  queue: 'sending_queue: 10,000 requests, file_storage (collector-config.yaml)',
};
outage.child.kill('SIGTERM');
standIn.child.kill('SIGTERM');
sink.close();

async function metric(url, prefix) {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.split(' ').at(-1)) : undefined;
}

const result = {
  sideBySide,
  goConversion,
  memoryOutage,
  targets: { goEventsPerSecondPerCore: 500000 },
};
writeResult('collector-side', result);
console.log(JSON.stringify(result, null, 2));
process.exit(0);
