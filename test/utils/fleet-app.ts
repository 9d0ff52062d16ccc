/**
 * The fleet test's app: checkout requests recorded by the real OTel SDK (an HTTP server span, a
 * handler span below it with 2 flag() calls and, for 4 requests in 5, a track(); 1 request in 5
 * also tracks a signup outside any span, a log record without a trace id), through the
 * instrumentation in collector mode and the real OTLP/protobuf exporters. The bodies those
 * exporters post are captured, then replayed to the fleet by a sender that retries each one until
 * it is answered 2xx, as an app's exporter does. Server spans end a few requests after their handler
 * spans (requests overlap), so many traces straddle two OTLP requests.
 */
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { installSdkDeliveryGuard } from '../../src/instrumentation/node-sdk-delivery-guard.js';
import { getInstrumentationStats, instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { STANDIN_DEFAULT_SDK_KEY } from '../../src/standin/server.js';
import { setupOtel } from './otel.js';

const HTTP_SCOPE = '@opentelemetry/instrumentation-http';

/** The README's two derived-event rules ("Metrics without track()"), as the collector takes them. */
export const README_RULES = [
  {
    event_key: 'checkout_latency_ms',
    match: { kind: 'server', scope: HTTP_SCOPE, attributes: [{ key: 'http.route', equals: '/checkout' }] },
    value: { from: 'duration' },
    properties: ['http.request.method', 'http.response.status_code'],
  },
  { event_key: 'http_server_error', match: { kind: 'server' }, value: { from: 'flag', when: { status: 'error' } } },
];

/** What FlagSync must end with, one identity per item, sorted. */
interface Expected {
  impressions: string[];
  events: string[];
}

export interface AppRun {
  /** The OTLP/protobuf bodies the app's exporters posted, with their paths (/v1/traces, /v1/logs). */
  bodies: OtlpBody[];
  expected: Expected;
}

/** Requests overlapping: a server span ends this many requests after its handler span. */
const OVERLAP = 7;

/**
 * Records `requests` checkout requests for users `u<first>`…; the FlagSync SDK reads its flags
 * from `flagsUrl` (a stand-in of its own: its copies of the calls never reach the one under test).
 */
export async function recordApp(options: { requests: number; first: number; flagsUrl: string }): Promise<AppRun> {
  const capture = await startCapture();
  const otel = setupOtel({
    logProcessors: [
      new BatchLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: `${capture.url}/v1/logs`, concurrencyLimit: 10_000 }),
        maxExportBatchSize: 20,
        maxQueueSize: 100_000,
        scheduledDelayMillis: 20,
      }),
    ],
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${capture.url}/v1/traces`, concurrencyLimit: 10_000 }),
        maxExportBatchSize: 20,
        maxQueueSize: 100_000,
        scheduledDelayMillis: 20,
      }),
    ],
  });
  await installSdkDeliveryGuard();
  const client = instrumentFlagSyncClient(
    FlagSyncFactory({
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      urls: { sdk: options.flagsUrl },
      sync: { type: 'off' },
    }).client(),
    { delivery: 'collector' },
  );
  await client.waitForReady();
  const http = otel.tracerProvider.getTracer(HTTP_SCOPE);
  const handler = otel.tracerProvider.getTracer('checkout');
  const open: Span[] = [];
  const impressions: string[] = [];
  const tracked: string[] = [];
  for (let r = 0; r < options.requests; r++) {
    const n = options.first + r;
    const user = { key: `u${n}`, attributes: { plan: n % 2 ? 'pro' : 'free' } };
    const failed = n % 10 === 3;
    if (n % 5 === 3) {
      // Outside any span: a log-based event without a trace id, spread over the gateways at random.
      client.track(user, 'signup');
      tracked.push(`${user.key} signup undefined`);
    }
    const server = http.startSpan('GET /checkout', {
      kind: SpanKind.SERVER,
      attributes: { 'http.route': '/checkout', 'http.request.method': 'GET', 'flagsync.test.user': user.key },
    });
    server.setAttribute('http.response.status_code', failed ? 500 : 200);
    if (failed) server.setStatus({ code: SpanStatusCode.ERROR });
    context.with(trace.setSpan(context.active(), server), () =>
      handler.startActiveSpan('checkout handler', (span) => {
        client.flag(user, 'register-button-copy', 'Register');
        client.flag(user, 'price-multiplier', 1);
        impressions.push(`${user.key} register-button-copy`, `${user.key} price-multiplier`);
        if (n % 5 !== 4) {
          client.track(user, 'purchase', n);
          tracked.push(`${user.key} purchase ${n}`);
        }
        span.end();
      }),
    );
    open.push(server);
    if (open.length > OVERLAP) open.shift()!.end();
    // Let the batch processor post as a busy app's would, between requests.
    if (r % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
  }
  for (const span of open) span.end();
  await otel.tracerProvider.forceFlush();
  const derived = otel.spans
    .getFinishedSpans()
    .filter((s) => s.kind === SpanKind.SERVER)
    .flatMap((s) => {
      const user = String(s.attributes['flagsync.test.user']);
      const ms = (s.duration[0] * 1e9 + s.duration[1]) / 1e6;
      const error = s.status.code === SpanStatusCode.ERROR ? 1 : 0;
      return [`${user} checkout_latency_ms ${ms}`, `${user} http_server_error ${error}`];
    });
  await otel.shutdown();
  await capture.close();
  // Every call was handed over in an OTLP body the capture answered: none went back to the SDK.
  const returned = Object.values(getInstrumentationStats(client)!.handover.returned).reduce((a, b) => a + b, 0);
  if (returned > 0) throw new Error(`${returned} calls went back to the SDK while recording the app`);
  return {
    bodies: capture.bodies,
    expected: { impressions: impressions.sort(), events: [...tracked, ...derived].sort() },
  };
}

/** The identities of what reached FlagSync, in the form of Expected. */
export function identities(items: { impressions: Record<string, unknown>[]; events: Record<string, unknown>[] }) {
  const key = (item: Record<string, unknown>) => (item.context as { key: string }).key;
  return {
    impressions: items.impressions.map((i) => `${key(i)} ${String(i.flagKey)}`).sort(),
    events: items.events.map((e) => `${key(e)} ${String(e.eventKey)} ${String(e.value)}`).sort(),
  };
}

/** Lost, duplicated and unexpected identities (with a few examples): all 0 when delivery was exact. */
export function compare(expected: string[], received: string[]) {
  const counts = new Map<string, number>();
  for (const id of received) counts.set(id, (counts.get(id) ?? 0) + 1);
  const wanted = new Set(expected);
  const lost = expected.filter((id) => !counts.has(id));
  const duplicated = [...counts].filter(([id, n]) => n > 1 && wanted.has(id)).map(([id]) => id);
  const unexpected = [...counts.keys()].filter((id) => !wanted.has(id));
  return {
    lost: lost.length,
    duplicated: duplicated.length,
    unexpected: unexpected.length,
    examples: [...lost, ...duplicated, ...unexpected].slice(0, 5),
  };
}

interface OtlpBody {
  path: string;
  body: Buffer;
}

/** A stand-in for the app's OTLP endpoint: keeps the bodies, answers 200. */
async function startCapture() {
  const bodies: OtlpBody[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The app's exporter: posts every body, each retried until answered 2xx (refusals and resets
 * counted), `concurrency` at once, each worker pausing `paceMs` between bodies as a live app's would.
 */
export class Sender {
  acknowledged = 0;
  refused = 0;
  failed = 0;

  constructor(
    private readonly target: () => string,
    private readonly concurrency = 4,
    private readonly paceMs = 0,
    private readonly headers: Record<string, string> = {},
  ) {}

  async send(bodies: OtlpBody[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        await this.post(body);
        this.acknowledged++;
        if (this.paceMs) await new Promise((resolve) => setTimeout(resolve, this.paceMs));
      }
    };
    await Promise.all(Array.from({ length: this.concurrency }, worker));
  }

  private async post({ path, body }: OtlpBody): Promise<void> {
    for (;;) {
      try {
        const response = await fetch(`${this.target()}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', ...this.headers },
          body: new Uint8Array(body),
          signal: AbortSignal.timeout(30_000),
        });
        await response.arrayBuffer();
        if (response.ok) return;
        this.refused++;
      } catch {
        this.failed++;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
