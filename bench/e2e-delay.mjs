// Time from flag()/track() to arrival at FlagSync (the stand-in), default settings everywhere:
// in-process exporters; through the real collector with the flagsync exporter
// (collector-config.yaml); and through the collector and the sidecar service
// (collector-config.sidecar.yaml).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, freePort, percentile, startCollector, startNode } from './spawn.mjs';
import { writeResult } from './lib.mjs';

const RATE = 200;
const DURATION_S = Number(process.env.DELAY_DURATION_S ?? 20);

async function run(mode, extraEnv, standInUrl) {
  const app = startNode([join(ROOT, 'bench/app-load.mjs')], {
    MODE: mode,
    RATE: String(RATE),
    DURATION_S: String(DURATION_S),
    IDLE_AFTER_S: '12',
    STANDIN_URL: standInUrl,
    ...extraEnv,
  });
  await app.exited;
  const delays = (await (await fetch(`${standInUrl}/__standin/delays`)).json()).sort((a, b) => a - b);
  await fetch(`${standInUrl}/__standin/reset`, { method: 'POST' });
  return {
    items: delays.length,
    p50Ms: percentile(delays, 50),
    p99Ms: percentile(delays, 99),
    maxMs: delays[delays.length - 1],
  };
}

const standIn = startNode([CLI, 'standin', '--port', String(await freePort())]);
const url = await standIn.first;
const inProcess = await run('inprocess', { FLAGSYNC_SDK_KEY: 'standin-sdk-key', FLAGSYNC_EVENTS_URL: url }, url);

const queueDir = () => mkdtempSync(join(tmpdir(), 'delay-queue-'));
const component = await startCollector('collector-config.yaml', {
  OTEL_BACKEND_ENDPOINT: `${url}/sink`,
  FLAGSYNC_ENDPOINT: url,
  FLAGSYNC_SDK_KEY: 'standin-sdk-key',
  FLAGSYNC_QUEUE_DIR: queueDir(),
});
const viaComponent = await run('otlp', { OTLP_ENDPOINT: component.url }, url);
component.child.kill('SIGTERM');

const service = startNode([CLI, 'serve', '--port', String(await freePort())], {
  FLAGSYNC_SDK_KEY: 'standin-sdk-key',
  FLAGSYNC_EVENTS_URL: url,
  OTEL_LOG_LEVEL: 'warn',
});
const sidecar = await startCollector('collector-config.sidecar.yaml', {
  OTEL_BACKEND_ENDPOINT: `${url}/sink`,
  FLAGSYNC_SERVICE_ENDPOINT: await service.first,
  FLAGSYNC_QUEUE_DIR: queueDir(),
});
const viaSidecar = await run('otlp', { OTLP_ENDPOINT: sidecar.url }, url);
sidecar.child.kill('SIGTERM');
service.child.kill('SIGTERM');
standIn.child.kill('SIGTERM');

const summary = {
  ratePerSecond: RATE,
  durationSeconds: DURATION_S,
  inProcess,
  viaComponent,
  viaSidecar,
  settings: 'defaults: BatchSpanProcessor 5 s, FlagSync exporter 2 s; collector batch 200 ms; service 200 ms',
};
writeResult('e2e-delay', summary);
console.log(JSON.stringify(summary, null, 2));
process.exit(0);
