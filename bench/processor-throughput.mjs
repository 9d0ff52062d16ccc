// Processor throughput: OTLP protobuf+gzip batches of 512 spans (a realistic share carrying flag
// and track events) posted over loopback to `flagsync-otel serve`, which delivers to the stand-in
// (its own process). CPU is read from /proc for each process, so the figures are per core.
// The same traffic then goes through the real collector running collector-config.yaml, in front
// of the service, to compare CPU per event of the two stages.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { Agent, request } from 'undici';
import { createClientInstrumenter } from 'flagsync-otel';
import { writeResult, round2 } from './lib.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SPANS_PER_REQUEST = 512;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const CONCURRENCY = 4;
const TICKS = 100; // USER_HZ for /proc/<pid>/stat

// --- build one realistic request: 40% of spans evaluate 1-3 flags, 10% also track an event ---
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const memory = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
trace.setGlobalTracerProvider(provider);
const tracer = trace.getTracer('bench');
const stub = { flag: (_c, key) => ({ 'register-button-copy': 'Join Now', 'new-checkout': true, 'price-multiplier': 1.5 })[key], track: () => undefined };
const client = createClientInstrumenter({}, () => true).wrap(stub);
let seed = 7;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
let flagEvents = 0;
for (let i = 0; i < SPANS_PER_REQUEST; i++) {
  tracer.startActiveSpan(`GET /page/${i % 17}`, { attributes: { 'http.request.method': 'GET', 'url.path': `/page/${i % 17}`, 'http.response.status_code': 200 } }, (span) => {
    const user = { key: `user-${i}`, attributes: { plan: i % 3 ? 'free' : 'pro' } };
    if (rand() < 0.4) {
      const n = 1 + Math.floor(rand() * 3);
      for (const key of ['register-button-copy', 'new-checkout', 'price-multiplier'].slice(0, n)) client.flag(user, key);
      flagEvents += n;
      if (rand() < 0.25) {
        client.track(user, 'purchase_event', null, { price: 42.5, currency: 'USD' });
        flagEvents++;
      }
    }
    span.end();
  });
}
await provider.forceFlush();
const spans = memory.getFinishedSpans();
// Fresh trace/span ids per request, so the service's duplicate removal does not see repeats.
function payload(n) {
  for (const span of spans) {
    const sc = span.spanContext();
    sc.traceId = n.toString(16).padStart(8, '0') + sc.traceId.slice(8);
    sc.spanId = n.toString(16).padStart(8, '0') + sc.spanId.slice(8);
  }
  return gzipSync(ProtobufTraceSerializer.serializeRequest(spans));
}

// --- processes ---
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
};
const freePort = async () => {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
};
function startNode(args, env) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout.once('data', (c) => resolve({ child, url: c.toString().trim().split('\n')[0] })));
}
const cli = join(ROOT, 'dist/cli/main.js');
const standInPort = await freePort();
const standIn = await startNode([cli, 'standin', '--port', String(standInPort)], {});
const servicePort = await freePort();
const service = await startNode([...(process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : []), cli, 'serve', '--port', String(servicePort)], {
  FLAGSYNC_SDK_KEY: 'standin-sdk-key', FLAGSYNC_EVENTS_URL: standIn.url, OTEL_LOG_LEVEL: 'warn',
  FLAGSYNC_EXPORT_SCHEDULE_DELAY: '20', FLAGSYNC_EXPORT_MAX_BATCH_SIZE: '1000', FLAGSYNC_SERVICE_MAX_CONCURRENT_REQUESTS: '64',
});
const dispatcher = new Agent({ connections: CONCURRENCY });

async function blast(url, headers) {
  let next = 0;
  const statuses = {};
  const worker = async () => {
    while (next < REQUESTS) {
      const n = next++;
      const res = await request(url, { method: 'POST', dispatcher, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', ...headers }, body: payloads[n] });
      await res.body.dump();
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}
// Every request unique: a repeated request would be removed as a duplicate and cost less.
const makePayloads = (offset) => Array.from({ length: REQUESTS }, (_, i) => payload(offset + i));
let payloads = [];
// Warm up, then measure PASSES times with fresh ids (a repeat would be removed as a duplicate);
// the figure is the median pass, with the spread, since two cores are shared with the load generator and stand-in.
const PASSES = 3;
let offset = 1;
const events = REQUESTS * flagEvents;
// The same service with delivered ids kept on disk (FLAGSYNC_SERVICE_DEDUPE_DIR), as for several
// instances or crash safety. Passes alternate between the two, so the VM's drift hits both alike.
const journaled = await startNode([cli, 'serve', '--port', String(await freePort())], {
  FLAGSYNC_SDK_KEY: 'standin-sdk-key', FLAGSYNC_EVENTS_URL: standIn.url, OTEL_LOG_LEVEL: 'warn',
  FLAGSYNC_EXPORT_SCHEDULE_DELAY: '20', FLAGSYNC_EXPORT_MAX_BATCH_SIZE: '1000', FLAGSYNC_SERVICE_MAX_CONCURRENT_REQUESTS: '64',
  FLAGSYNC_SERVICE_DEDUPE_DIR: mkdtempSync(join(tmpdir(), 'bench-dedupe-')),
});
async function pass(svc) {
  payloads = makePayloads(offset);
  offset += REQUESTS;
  const cpu0 = cpuSeconds(svc.child.pid);
  const wall0 = performance.now();
  const statuses = await blast(`${svc.url}/v1/traces`, {});
  return { cpu: cpuSeconds(svc.child.pid) - cpu0, wall: (performance.now() - wall0) / 1000, statuses };
}
function summarise(passes) {
  const rates = passes.map((p) => events / p.cpu).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  return {
    requests: REQUESTS, passes: PASSES, spansPerRequest: SPANS_PER_REQUEST, flagEventsPerRequest: flagEvents, statuses: passes.at(-1).statuses,
    requestBytesGzip: Math.round(payloads.reduce((a, p) => a + p.length, 0) / payloads.length),
    eventsPerSecondPerCore: Math.round(median), eventsPerSecondPerCoreMin: Math.round(rates[0]), eventsPerSecondPerCoreMax: Math.round(rates[rates.length - 1]),
    cpuMicrosPerEvent: round2(1e6 / median), wallSecondsPerPass: round2(passes.reduce((a, p) => a + p.wall, 0) / PASSES),
  };
}
await pass(service);
await pass(journaled);
const memoryPasses = [];
const journalPasses = [];
for (let i = 0; i < PASSES; i++) {
  memoryPasses.push(await pass(service));
  journalPasses.push(await pass(journaled));
}
const direct = summarise(memoryPasses);
const withDedupeDir = summarise(journalPasses);
journaled.child.kill('SIGTERM');
const expectedTotal = () => Math.round(((offset - 1) / REQUESTS) * events);

// --- the same traffic through the real collector in front of the service ---
let viaCollector;
try {
  const bin = execFileSync('bash', [join(ROOT, 'scripts/build-collector.sh')], { encoding: 'utf8' }).trim();
  // The team's backend for the normal pipeline: a sink in this process (its CPU is not counted).
  const { createServer } = await import('node:http');
  const sink = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()); });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const [http, grpc, health] = [await freePort(), await freePort(), await freePort()];
  const col = spawn(bin, ['--config', join(ROOT, 'collector-config.yaml')], {
    env: { PATH: process.env.PATH, OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`, OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`, OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${health}`, OTELCOL_METRICS_PORT: String(await freePort()),
      OTEL_BACKEND_ENDPOINT: `http://127.0.0.1:${sink.address().port}`, FLAGSYNC_SERVICE_ENDPOINT: service.url, FLAGSYNC_QUEUE_DIR: mkdtempSync(join(tmpdir(), 'bench-queue-')) },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) { try { if ((await fetch(`http://127.0.0.1:${health}/`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }
  payloads = makePayloads(offset);
  offset += REQUESTS;
  const c0 = cpuSeconds(col.pid), s0 = cpuSeconds(service.child.pid);
  const colStatuses = await blast(`http://127.0.0.1:${http}/v1/traces`, {});
  // Let the collector finish exporting its batches to the service: wait until all has arrived.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const n = await (await fetch(`${standIn.url}/__standin/counts`)).json();
    if (n.impressions + n.events >= expectedTotal()) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const collectorCpu = cpuSeconds(col.pid) - c0, serviceCpu2 = cpuSeconds(service.child.pid) - s0;
  col.kill('SIGTERM');
  sink.close();
  viaCollector = {
    statuses: colStatuses, collectorCpuSeconds: round2(collectorCpu), serviceCpuSeconds: round2(serviceCpu2),
    collectorCpuMicrosPerEvent: round2((collectorCpu / events) * 1e6), serviceCpuMicrosPerEvent: round2((serviceCpu2 / events) * 1e6),
    note: 'the collector runs both pipelines of collector-config.yaml (normal traces to a sink, and the FlagSync pipeline with its persistent queue); its CPU includes receiving, filtering, batching and exporting',
  };
} catch (error) {
  viaCollector = { error: String(error) };
}

service.child.kill('SIGTERM');
const counts = await (await fetch(`${standIn.url}/__standin/counts`)).json();
const deliveredTotal = counts.impressions + counts.events;
const delivered = { expected: expectedTotal(), atStandIn: deliveredTotal };
writeResult('processor-throughput', { direct, withDedupeDir, viaCollector, delivered, targets: { eventsPerSecondPerCore: 100000, cpuPerEvent: 'below the collector stage' } });
console.log(JSON.stringify({ direct, withDedupeDir, viaCollector, delivered }, null, 2));
standIn.child.kill('SIGTERM');
process.exit(0);
