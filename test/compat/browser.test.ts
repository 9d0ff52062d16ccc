/**
 * A real browser (Debian's Chromium, driven by playwright-core): a page bundled from a fixture app
 * (js-sdk, OpenTelemetry JS web, this package's packed tarball) sends OTLP/HTTP JSON to the FlagSync
 * gateway (the built collector running collector-config.gateway.yaml, its own process) and talks to
 * FlagSync (the stand-in) itself. With a context manager (span
 * events), without one (log-based events), and with nothing to record on (the SDK delivers), what
 * FlagSync receives is exactly what js-sdk sends on its own.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';
import { metricValue, ROOT, startCollector, type Collector } from '../utils/processes.js';
import { canonicalSortedKeys as canonical } from '../utils/scenario.js';

const run = promisify(execFile);
let standIn: StandIn;
let gateway: Collector;
const TOKEN = 'browser-gateway-token-0123456789';
let site: Server;
let origin: string;
let browser: Browser;
let native: { impressions: string[]; events: string[] };

/**
 * The page's origin: the bundle, FlagSync's routes (to the stand-in) and OTLP (to the gateway, with
 * its bearer token added here, as a site's ingress would: a page keeps no secret).
 */
function startSite(dir: string): Promise<Server> {
  const html = readFileSync(join(dir, 'index.html'));
  const bundle = readFileSync(join(dir, 'page.bundle.js'));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    if (path === '/page.bundle.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    const otlp = path.startsWith('/v1/');
    const target = new URL(otlp ? gateway.otlpHttp : standIn.url);
    const headers = otlp ? { ...req.headers, authorization: `Bearer ${TOKEN}` } : req.headers;
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function session(mode: string) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(origin);
    await page.waitForFunction(() => typeof (window as unknown as { runSession?: unknown }).runSession === 'function');
    await page.evaluate(
      (m) => (window as unknown as { runSession(mode: string): Promise<string> }).runSession(m),
      mode,
    );
  } finally {
    await context.close();
  }
}

beforeAll(async () => {
  const executablePath = (
    await run('bash', [join(ROOT, 'scripts/ensure-chromium.sh')], { timeout: 600_000 })
  ).stdout.trim();
  const dir = await installFixture('browser', { sharedFiles: 'browser-app' });
  await run(
    join(dir, 'node_modules/.bin/esbuild'),
    ['page.mjs', '--bundle', '--format=esm', '--platform=browser', '--outfile=page.bundle.js', '--log-level=warning'],
    { cwd: dir },
  );
  standIn = await startStandIn();
  gateway = await startCollector({
    gateway: { token: TOKEN },
    flagsyncEndpoint: standIn.url,
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    backendEndpoint: '',
  });
  site = await startSite(dir);
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  // The flags the browser-only machines refuse: no background networking, no sandbox as root.
  browser = await chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });

  await session('native');
  await standIn.waitFor(() => standIn.impressions().length === 10 && standIn.events().length === 8, 20_000);
  expect(standIn.batches.every((b) => b.audience === 'client' && b.sdkContext.sdkName === '@flagsync/js-sdk')).toBe(
    true,
  );
  native = { impressions: canonical(standIn.impressions()), events: canonical(standIn.events()) };
}, 900_000);

afterAll(async () => {
  await browser?.close();
  if (site) await new Promise((resolve) => site.close(resolve));
  await gateway?.stop();
  await standIn?.close();
});

describe('in Chromium, with @flagsync/js-sdk', () => {
  it.each([
    ['context-manager', 'span events (a context manager makes the request span active)', 'flagsync-otel', 'traces'],
    ['no-context-manager', 'log-based events (no context manager: no span is ever active)', 'flagsync-otel', 'logs'],
    [
      'no-signal',
      "the SDK's own delivery (no context manager and no LoggerProvider: nothing to record on)",
      '@flagsync/js-sdk',
      undefined,
    ],
  ])('%s: every call arrives once, through %s', async (mode, _how, sender, signal) => {
    standIn.reset();
    const logRecords = () => metricValue(gateway.metricsUrl, 'otelcol_receiver_accepted_log_records');
    const before = await logRecords();
    await session(mode);
    await standIn.waitFor(
      () =>
        standIn.impressions().length >= native.impressions.length && standIn.events().length >= native.events.length,
      20_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
    expect(standIn.rejections).toEqual([]);
    // Who delivered: this package (the null-config fallback included: js-sdk records it), or the SDK alone.
    expect([...new Set(standIn.batches.map((b) => b.sdkContext.sdkName))]).toEqual([sender]);
    // Which signal the page's OTLP carried the 18 calls on: events on the request spans (no log
    // record), or one log record each.
    expect((await logRecords()) - before).toBe(signal === 'logs' ? 18 : 0);
  });
});
