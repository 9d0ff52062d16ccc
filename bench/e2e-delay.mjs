// Time from flag()/track() to arrival at FlagSync (the stand-in), default settings everywhere:
// in-process exporters; through the real collector with the flagsync exporter
// (collector-config.yaml); and through a stock collector and the FlagSync gateway
// (collector-config.stock-to-gateway.yaml, collector-config.gateway.yaml).
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

const TOKEN = 'bench-gateway-token-0123456789';
const gateway = await startCollector('collector-config.gateway.yaml', {
  FLAGSYNC_ENDPOINT: url,
  FLAGSYNC_SDK_KEY: 'standin-sdk-key',
  FLAGSYNC_GATEWAY_BEARER_TOKEN: TOKEN,
  FLAGSYNC_QUEUE_DIR: queueDir(),
});
const stock = await startCollector('collector-config.stock-to-gateway.yaml', {
  OTEL_BACKEND_ENDPOINT: `${url}/sink`,
  FLAGSYNC_GATEWAY_ENDPOINT: gateway.url,
  FLAGSYNC_GATEWAY_BEARER_TOKEN: TOKEN,
  FLAGSYNC_FORWARD_QUEUE_DIR: queueDir(),
});
const viaGateway = await run('otlp', { OTLP_ENDPOINT: stock.url }, url);
stock.child.kill('SIGTERM');
gateway.child.kill('SIGTERM');
standIn.child.kill('SIGTERM');

const summary = {
  ratePerSecond: RATE,
  durationSeconds: DURATION_S,
  inProcess,
  viaComponent,
  viaGateway,
  settings:
    'defaults: BatchSpanProcessor 5 s, FlagSync exporter 2 s; collector batch 200 ms; stock collector queue batch 200 ms',
};
writeResult('e2e-delay', summary);
console.log(JSON.stringify(summary, null, 2));
process.exit(0);
