/**
 * End to end through a real OpenTelemetry Collector running the repo's collector-config.yaml:
 * instrumented app (real node-sdk, real OTel SDK, OTLP exporters) -> collector -> flagsync-otel
 * service (its own process) -> FlagSync stand-in. Endpoints and paths are the only overrides.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { logs } from '@opentelemetry/api';
import { OTLPLogExporter as OTLPLogExporterJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPLogExporterProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installSdkDeliveryGuard } from '../../src/instrumentation/node-sdk-delivery-guard.js';
import { removeSdkDeliveryGuards } from '../../src/instrumentation/sdk-delivery-guard.js';
import { instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { setupOtel } from '../utils/otel.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import { startRoundRobinProxy } from '../utils/round-robin-proxy.js';
import { freePort, startCollector, startServiceProcess, waitUntil, type Collector, type ServiceProcess } from '../utils/processes.js';
import { canonical, runScenario, type ServerLikeClient } from '../utils/scenario.js';

const TOKEN = 'e2e-token-0123456789abcdef';
let standIn: StandIn;
let service: ServiceProcess;
let servicePort: number;
let collector: Collector;
let backend: OtlpSink;
let native: { impressions: string[]; events: string[] };
/** Shared by every service process of this file: restarts and instances all see what was delivered. */
const dedupeDir = mkdtempSync(join(tmpdir(), 'flagsync-dedupe-'));

function serviceEnv(): Record<string, string> {
  return {
    FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
    FLAGSYNC_EVENTS_URL: standIn.url,
    FLAGSYNC_SERVICE_PORT: String(servicePort),
    FLAGSYNC_SERVICE_BEARER_TOKEN: TOKEN,
    FLAGSYNC_EXPORT_SCHEDULE_DELAY: '50',
    FLAGSYNC_SERVICE_DEDUPE_DIR: dedupeDir,
    OTEL_LOG_LEVEL: 'warn',
  };
}

async function serviceMetric(name: string, of: ServiceProcess = service): Promise<number> {
  const text = await (await fetch(`${of.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return Number(line?.split(' ')[1] ?? NaN);
}

beforeAll(async () => {
  standIn = await startStandIn();
  backend = await startOtlpSink();
  servicePort = await freePort();
  service = await startServiceProcess(serviceEnv());
  collector = await startCollector({ serviceEndpoint: service.url, backendEndpoint: backend.url, token: TOKEN });

  // What the SDK sends natively for the same calls: the reference for every test below.
  removeSdkDeliveryGuards();
  const nativeClient = FlagSyncFactory({ sdkKey: STANDIN_DEFAULT_SDK_KEY, urls: { sdk: standIn.url }, sync: { type: 'off' } }).client();
  await nativeClient.waitForReady();
  runScenario(nativeClient as unknown as ServerLikeClient);
  await nativeClient.destroy();
  await standIn.waitFor(() => standIn.batches.length >= 2);
  native = { impressions: canonical(standIn.impressions()), events: canonical(standIn.events()) };
  standIn.reset();
  await installSdkDeliveryGuard();
}, 600_000);

afterAll(async () => {
  await collector?.stop();
  await service?.stop();
  await standIn?.close();
  await backend?.close();
});

/** The app: OTLP exporters to the collector, users 1-2 in spans (span events), 3-4 without (log form), plus unrelated telemetry. */
async function runApp(encoding: 'proto' | 'json', scenario: (client: ServerLikeClient, step: (name: string, fn: () => void) => void) => void = runScenario) {
  const traces = `${collector.otlpHttp}/v1/traces`;
  const logsUrl = `${collector.otlpHttp}/v1/logs`;
  const otel = setupOtel({
    spanProcessors: [new BatchSpanProcessor({ exporter: encoding === 'proto' ? new OTLPTraceExporterProto({ url: traces }) : new OTLPTraceExporterJson({ url: traces }), scheduledDelayMillis: 50 })],
    logProcessors: [new BatchLogRecordProcessor({ exporter: encoding === 'proto' ? new OTLPLogExporterProto({ url: logsUrl }) : new OTLPLogExporterJson({ url: logsUrl }), scheduledDelayMillis: 50 })],
  });
  const client = instrumentFlagSyncClient(FlagSyncFactory({ sdkKey: STANDIN_DEFAULT_SDK_KEY, urls: { sdk: standIn.url }, sync: { type: 'off' } }).client());
  await client.waitForReady();
  scenario(client as unknown as ServerLikeClient, (name, fn) => (/[12]$/.test(name) ? otel.tracer.startActiveSpan(name, (span) => (fn(), span.end())) : fn()));
  // Telemetry FlagSync does not need: must reach the backend, never the service.
  for (let i = 0; i < 5; i++) otel.tracer.startActiveSpan('GET /health', (span) => span.end());
  otel.tracer.startActiveSpan('GET /broken', (span) => (span.addEvent('exception', { 'exception.message': 'boom' }), span.end()));
  for (let i = 0; i < 3; i++) logs.getLogger('app').emit({ body: `app log ${i}` });
  await otel.shutdown();
}

/** The scenario for users 1-2 only, or 3-4 only: to split a run around a failure. */
const firstHalf = (client: ServerLikeClient, step: (name: string, fn: () => void) => void) => runScenario(client, (name, fn) => (/[12]$/.test(name) ? step(name, fn) : undefined));
const secondHalf = (client: ServerLikeClient, step: (name: string, fn: () => void) => void) => runScenario(client, (name, fn) => (/[34]$/.test(name) ? step(name, fn) : undefined));

const ofFirstHalf = (item: string) => /"key":"user-[12]"/.test(item);

async function arrived(expected: { impressions: number; events: number }, timeoutMs: number) {
  await waitUntil(() => standIn.impressions().length >= expected.impressions && standIn.events().length >= expected.events, timeoutMs, 'impressions and events at the stand-in');
  // Anything extra (duplicates) would arrive in the same breath: give it a moment before comparing.
  await new Promise((r) => setTimeout(r, 500));
}

describe.each(['proto', 'json'] as const)('through the real collector, app encoding OTLP %s', (encoding) => {
  it('delivers exactly what the SDK would, spans without flag data never reach the service', async () => {
    standIn.reset();
    backend.traceBodies.length = 0;
    const tracesBefore = await serviceMetric('flagsync_otel_received_records_total{signal="traces"}');
    const logsBefore = await serviceMetric('flagsync_otel_received_records_total{signal="logs"}');
    await runApp(encoding);
    await arrived({ impressions: native.impressions.length, events: native.events.length }, 30_000);
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
    expect(standIn.batches.every((b) => b.sdkContext.sdkName === 'flagsync-otel')).toBe(true);
    // Only the two request spans with flag events, and only FlagSync's log records (users 3 and 4: 8 flag() + 4 track() each).
    expect((await serviceMetric('flagsync_otel_received_records_total{signal="traces"}')) - tracesBefore).toBe(2);
    expect((await serviceMetric('flagsync_otel_received_records_total{signal="logs"}')) - logsBefore).toBe(24);
    // The normal pipeline still gets everything.
    await waitUntil(() => backend.traceBodies.join('').includes('GET /broken'), 10_000, 'spans at the backend');
    expect(backend.traceBodies.join('').split('GET /health').length - 1).toBe(5);
  });
});

describe('failures through the real collector', () => {
  it('FlagSync answers 503 and 429 for a while, then recovers: everything arrives once', async () => {
    standIn.reset();
    standIn.addFault({ status: 503, times: 3 });
    standIn.addFault({ status: 429, retryAfter: '2', times: 1 });
    await runApp('proto');
    await arrived({ impressions: native.impressions.length, events: native.events.length }, 90_000);
    expect(standIn.rejections.map((r) => r.status)).toEqual([503, 503, 503, 429]);
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
  });

  it('service killed (SIGKILL) in the middle of a request, the collector restarted while data waits: everything arrives once', async () => {
    standIn.reset();
    const deliveredBefore = await serviceMetric('flagsync_otel_delivered_total{kind="impression"}');
    // FlagSync holds the first events batch: the service dies with it in flight, after the
    // request's impressions were delivered and before the request was acknowledged.
    standIn.addFault({ route: 'events', delayMs: 5000 });
    await runApp('proto', firstHalf);
    await waitUntil(async () => standIn.impressions().length > 0 && (await serviceMetric('flagsync_otel_delivered_total{kind="impression"}')) - deliveredBefore === standIn.impressions().length, 30_000, 'first impressions delivered');
    expect(standIn.events()).toHaveLength(0);
    await service.stop('SIGKILL');
    // The second half reaches the collector while the service is dead...
    await runApp('proto', secondHalf);
    await new Promise((r) => setTimeout(r, 1000));
    // ...and the collector itself restarts, keeping the backlog in its file_storage queue.
    const queueDir = collector.queueDir;
    await collector.stop();
    collector = await startCollector({ serviceEndpoint: service.url, backendEndpoint: backend.url, token: TOKEN, queueDir });
    service = await startServiceProcess(serviceEnv());
    await arrived({ impressions: native.impressions.length, events: native.events.length }, 120_000);
    // The collector sent the killed request again; the impressions it had delivered were skipped.
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
    expect(await serviceMetric('flagsync_otel_duplicates_total')).toBeGreaterThan(0);
  });

  it('service stopped and restarted mid-stream: everything arrives, no duplicates', async () => {
    standIn.reset();
    // First half of the users while the service runs...
    await runApp('proto', firstHalf);
    await waitUntil(() => standIn.impressions().length > 0, 30_000, 'first half');
    expect(await service.stop('SIGTERM')).toBe(0);
    // ...the second half while it is down: the collector keeps it in its persistent queue.
    await runApp('proto', secondHalf);
    await new Promise((r) => setTimeout(r, 1000));
    service = await startServiceProcess(serviceEnv());
    await arrived({ impressions: native.impressions.length, events: native.events.length }, 120_000);
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
  });
});

describe('several service instances behind one collector', () => {
  type Balancer = Awaited<ReturnType<typeof startRoundRobinProxy>>;

  /** Runs `fn` while runApp's `collector` is one sending FlagSync data to a round-robin balancer over `instances`. */
  async function behindBalancer(instances: ServiceProcess[], fn: (proxy: Balancer) => Promise<void>) {
    const proxy = await startRoundRobinProxy(instances.map((i) => i.url));
    const ownCollector = await startCollector({ serviceEndpoint: proxy.url, backendEndpoint: backend.url, token: TOKEN });
    const saved = collector;
    collector = ownCollector;
    try {
      await fn(proxy);
    } finally {
      collector = saved;
      await ownCollector.stop();
      await proxy.close();
    }
  }

  async function twoInstances(env: Record<string, string>): Promise<ServiceProcess[]> {
    return [await startServiceProcess({ ...env, FLAGSYNC_SERVICE_PORT: String(await freePort()) }), await startServiceProcess({ ...env, FLAGSYNC_SERVICE_PORT: String(await freePort()) })];
  }

  /** A metric summed over instances. */
  async function total(name: string, instances: ServiceProcess[]): Promise<number> {
    let sum = 0;
    for (const i of instances) sum += await serviceMetric(name, i);
    return sum;
  }

  it('a round-robin load balancer over two instances sharing a dedupe directory, one killed mid-request: no loss, no double delivery', async () => {
    standIn.reset();
    const first = service;
    const second = await startServiceProcess({ ...serviceEnv(), FLAGSYNC_SERVICE_PORT: String(await freePort()) });
    try {
      await behindBalancer([first, second], async (proxy) => {
        const delivered = (p: ServiceProcess) => serviceMetric('flagsync_otel_delivered_total{kind="impression"}', p);
        const before = [await delivered(first), await delivered(second)];
        // Every events batch held up for now, whichever instance (or instances) the collector picks.
        standIn.addFault({ route: 'events', delayMs: 5000, times: Infinity });
        await runApp('proto', firstHalf);
        // Kill whichever instance holds the request: its impressions delivered (and known to it), its events held up at FlagSync.
        let holder: ServiceProcess | undefined;
        await waitUntil(async () => {
          const arrivedNow = standIn.impressions().length;
          for (const [i, p] of [first, second].entries()) {
            if (arrivedNow > 0 && (await serviceMetric('flagsync_otel_queued_items', p)) > 0 && (await delivered(p)) - before[i]! === arrivedNow) holder = p;
          }
          return holder !== undefined;
        }, 30_000, 'an instance holding a half-delivered request');
        expect(standIn.events()).toHaveLength(0);
        await holder!.stop('SIGKILL');
        standIn.clearFaults();
        await runApp('proto', secondHalf);
        await arrived({ impressions: native.impressions.length, events: native.events.length }, 90_000);
        expect(canonical(standIn.impressions())).toEqual(native.impressions);
        expect(canonical(standIn.events())).toEqual(native.events);
        expect(proxy.hits.every((n) => n > 0)).toBe(true);
      });
    } finally {
      await second.stop();
      if (first.process.exitCode !== null || first.process.signalCode !== null) service = await startServiceProcess(serviceEnv());
    }
  }, 150_000);

  it('FlagSync down for longer than the ack timeout, two instances: requests handed back and retried elsewhere arrive once', async () => {
    standIn.reset();
    const instances = await twoInstances({ ...serviceEnv(), FLAGSYNC_SERVICE_ACK_TIMEOUT: '2000' });
    try {
      await behindBalancer(instances, async (proxy) => {
        standIn.addFault({ status: 503, times: Infinity });
        // Users 1 and 2 only: one request, so the collector's retries alternate between the instances.
        await runApp('proto', firstHalf);
        // Long enough for several ack timeouts, each followed by a retry through the load balancer.
        await new Promise((r) => setTimeout(r, 7000));
        standIn.clearFaults();
        const expected = { impressions: native.impressions.filter(ofFirstHalf), events: native.events.filter(ofFirstHalf) };
        expect(expected.impressions.length).toBeGreaterThan(0);
        await arrived({ impressions: expected.impressions.length, events: expected.events.length }, 90_000);
        // Until neither instance holds anything: a copy still queued somewhere would arrive as a duplicate.
        await waitUntil(async () => (await total('flagsync_otel_queued_items', instances)) === 0, 60_000, 'both instances empty');
        await new Promise((r) => setTimeout(r, 500));
        expect(canonical(standIn.impressions())).toEqual(expected.impressions);
        expect(canonical(standIn.events())).toEqual(expected.events);
        expect(proxy.hits.every((n) => n > 0)).toBe(true);
        expect((await total('flagsync_otel_withdrawn_total{kind="impression"}', instances)) + (await total('flagsync_otel_withdrawn_total{kind="event"}', instances))).toBeGreaterThan(0);
      });
    } finally {
      for (const i of instances) await i.stop();
    }
  }, 150_000);

  it('FlagSync slower than the ack timeout, two instances: the retry waits for the instance FlagSync has not answered yet, nothing arrives twice', async () => {
    standIn.reset();
    const instances = await twoInstances({ ...serviceEnv(), FLAGSYNC_SERVICE_ACK_TIMEOUT: '1500' });
    try {
      await behindBalancer(instances, async (proxy) => {
        // FlagSync stores batches only after 8 s (longer than the collector waits to retry, and past
        // the ack timeout), until one instance holds a request...
        standIn.addFault({ delayMs: 8000, times: Infinity });
        await runApp('proto', firstHalf);
        await waitUntil(async () => (await total('flagsync_otel_in_flight_at_ack_timeout_total', instances)) > 0, 30_000, 'a request held past the ack timeout');
        // ...then at normal speed for the retries that follow.
        standIn.clearFaults();
        const expected = { impressions: native.impressions.filter(ofFirstHalf), events: native.events.filter(ofFirstHalf) };
        await arrived({ impressions: expected.impressions.length, events: expected.events.length }, 60_000);
        // Until the collector's retries got the request acknowledged (the first retry after the 503 goes to
        // the other instance). The 200 line appears with the first 200 answer: absent counts as none.
        const acknowledged = async (i: ServiceProcess) => (await serviceMetric('flagsync_otel_responses_total{code="200"}', i)) || 0;
        await waitUntil(async () => (await acknowledged(instances[0]!)) + (await acknowledged(instances[1]!)) >= 1, 60_000, 'the request acknowledged');
        await waitUntil(async () => (await total('flagsync_otel_queued_items', instances)) === 0, 60_000, 'both instances empty');
        await new Promise((r) => setTimeout(r, 1500));
        expect(canonical(standIn.impressions())).toEqual(expected.impressions);
        expect(canonical(standIn.events())).toEqual(expected.events);
        // The retries did go through the balancer to both instances while FlagSync was slow.
        expect(proxy.hits.every((n) => n > 0)).toBe(true);
      });
    } finally {
      for (const i of instances) await i.stop();
    }
  }, 150_000);
});
