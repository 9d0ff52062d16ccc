// Time from flag()/track() to arrival at FlagSync (the stand-in), default settings everywhere:
// in-process exporters, and through the real collector (collector-config.yaml) and the service.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, collectorBinary, freePort, percentile, startNode } from './spawn.mjs';
import { writeResult } from './lib.mjs';

const RATE = 200;
const DURATION_S = Number(process.env.DELAY_DURATION_S ?? 20);

async function run(mode, extraEnv, standInUrl) {
  const app = startNode([join(ROOT, 'bench/app-load.mjs')], { MODE: mode, RATE: String(RATE), DURATION_S: String(DURATION_S), IDLE_AFTER_S: '12', STANDIN_URL: standInUrl, ...extraEnv });
  await app.exited;
  const delays = (await (await fetch(`${standInUrl}/__standin/delays`)).json()).sort((a, b) => a - b);
  await fetch(`${standInUrl}/__standin/reset`, { method: 'POST' });
  return { items: delays.length, p50Ms: percentile(delays, 50), p99Ms: percentile(delays, 99), maxMs: delays[delays.length - 1] };
}

const standIn = startNode([CLI, 'standin', '--port', String(await freePort())]);
const url = await standIn.first;
const inProcess = await run('inprocess', { FLAGSYNC_SDK_KEY: 'standin-sdk-key', FLAGSYNC_EVENTS_URL: url }, url);

const service = startNode([CLI, 'serve', '--port', String(await freePort())], { FLAGSYNC_SDK_KEY: 'standin-sdk-key', FLAGSYNC_EVENTS_URL: url, OTEL_LOG_LEVEL: 'warn' });
const serviceUrl = await service.first;
const [http, grpc, health] = [await freePort(), await freePort(), await freePort()];
const collector = spawn(collectorBinary(), ['--config', join(ROOT, 'collector-config.yaml')], {
  env: { PATH: process.env.PATH, OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`, OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`, OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${health}`, OTELCOL_METRICS_PORT: String(await freePort()), OTEL_BACKEND_ENDPOINT: `${url}/sink`, FLAGSYNC_SERVICE_ENDPOINT: serviceUrl, FLAGSYNC_QUEUE_DIR: mkdtempSync(join(tmpdir(), 'delay-queue-')) },
  stdio: 'ignore',
});
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${health}/`)).ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
const viaCollector = await run('otlp', { OTLP_ENDPOINT: `http://127.0.0.1:${http}` }, url);
collector.kill('SIGTERM');
service.child.kill('SIGTERM');
standIn.child.kill('SIGTERM');

const summary = { ratePerSecond: RATE, durationSeconds: DURATION_S, inProcess, viaCollector, settings: 'defaults: BatchSpanProcessor 5 s, FlagSync exporter 2 s; collector batch 200 ms; service 200 ms' };
writeResult('e2e-delay', summary);
console.log(JSON.stringify(summary, null, 2));
process.exit(0);
