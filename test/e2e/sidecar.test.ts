/**
 * End to end through a real OpenTelemetry Collector running the repo's collector-config.sidecar.yaml
 * (a stock collector's otlp_http exporter): instrumented app (real node-sdk, real OTel SDK, OTLP
 * exporters) -> collector -> flagsync-otel service (its own process, the sidecar) -> FlagSync
 * stand-in. Endpoints and paths are the only overrides.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { arrived, firstHalf, nativeReference, runApp, secondHalf } from '../utils/e2e-app.js';
import { CHECKOUT_RULES, expectedCheckoutEvents, receivedEvents, runHttpApp } from '../utils/http-app.js';
import { distinctKeys, manyEvaluationsRequest, postTraces } from '../utils/otlp-request.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import {
  freePort,
  startCollector,
  startServiceProcess,
  waitUntil,
  type Collector,
  type ServiceProcess,
} from '../utils/processes.js';
import { canonical } from '../utils/scenario.js';

const TOKEN = 'e2e-token-0123456789abcdef';
let standIn: StandIn;
let service: ServiceProcess;
let servicePort: number;
let collector: Collector;
let backend: OtlpSink;
let native: { impressions: string[]; events: string[] };
/** The sidecar's local volume: a restarted service knows what was delivered. */
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
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

beforeAll(async () => {
  standIn = await startStandIn();
  backend = await startOtlpSink();
  servicePort = await freePort();
  service = await startServiceProcess(serviceEnv());
  collector = await startCollector({ serviceEndpoint: service.url, backendEndpoint: backend.url, token: TOKEN });

  native = await nativeReference(standIn);
}, 600_000);

afterAll(async () => {
  await collector?.stop();
  await service?.stop();
  await standIn?.close();
  await backend?.close();
});

describe.each(['proto', 'json'] as const)('through the real collector, app encoding OTLP %s', (encoding) => {
  it('delivers exactly what the SDK would, spans without flag data never reach the service', async () => {
    standIn.reset();
    backend.traceBodies.length = 0;
    const tracesBefore = await serviceMetric('flagsync_otel_received_records_total{signal="traces"}');
    const logsBefore = await serviceMetric('flagsync_otel_received_records_total{signal="logs"}');
    await runApp(collector.otlpHttp, standIn, encoding);
    await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 30_000);
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

describe('large and unusual requests through the collector and the service', () => {
  it("another provider's attribute nested 40 levels deep in the same request: ignored, everything else delivered", async () => {
    standIn.reset();
    expect(
      await postTraces(
        collector.otlpHttp,
        manyEvaluationsRequest({ spans: 50, perSpan: 2, offset: 100_000, deepOther: 40 }),
      ),
    ).toBe(200);
    await arrived(standIn, { impressions: 100, events: 0 }, 60_000);
    expect(standIn.impressions()).toHaveLength(100);
    expect(distinctKeys(standIn.impressions())).toBe(100);
    expect(await (await fetch(`${service.url}/metrics`)).text()).not.toMatch(
      /flagsync_otel_responses_total\{code="400"\}/,
    );
  }, 90_000);

  it("10,000 spans of 5 evaluations each: batches stay below the service's limits, 50,000 impressions, each once", async () => {
    standIn.reset();
    for (let part = 0; part < 5; part++)
      expect(
        await postTraces(
          collector.otlpHttp,
          manyEvaluationsRequest({ spans: 2000, perSpan: 5, offset: part * 10_000 }),
        ),
      ).toBe(200);
    await arrived(standIn, { impressions: 50_000, events: 0 }, 120_000);
    expect(standIn.impressions()).toHaveLength(50_000);
    expect(distinctKeys(standIn.impressions())).toBe(50_000);
    expect(await (await fetch(`${service.url}/metrics`)).text()).not.toMatch(
      /flagsync_otel_responses_total\{code="(413|429)"\}/,
    );
  }, 180_000);
});

describe('failures through the real collector', () => {
  it('FlagSync answers 503 and 429 for a while, then recovers: everything arrives once', async () => {
    standIn.reset();
    standIn.addFault({ status: 503, times: 3 });
    standIn.addFault({ status: 429, retryAfter: '2', times: 1 });
    await runApp(collector.otlpHttp, standIn, 'proto');
    await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 90_000);
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
    await runApp(collector.otlpHttp, standIn, 'proto', firstHalf);
    await waitUntil(
      async () =>
        standIn.impressions().length > 0 &&
        (await serviceMetric('flagsync_otel_delivered_total{kind="impression"}')) - deliveredBefore ===
          standIn.impressions().length,
      30_000,
      'first impressions delivered',
    );
    expect(standIn.events()).toHaveLength(0);
    await service.stop('SIGKILL');
    // The second half reaches the collector while the service is dead...
    await runApp(collector.otlpHttp, standIn, 'proto', secondHalf);
    await new Promise((r) => setTimeout(r, 1000));
    // ...and the collector itself restarts, keeping the backlog in its file_storage queue.
    const queueDir = collector.queueDir;
    await collector.stop();
    collector = await startCollector({
      serviceEndpoint: service.url,
      backendEndpoint: backend.url,
      token: TOKEN,
      queueDir,
    });
    service = await startServiceProcess(serviceEnv());
    await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 120_000);
    // The collector sent the killed request again; the impressions it had delivered were skipped.
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
    expect(await serviceMetric('flagsync_otel_duplicates_total')).toBeGreaterThan(0);
  });

  it('service stopped and restarted mid-stream: everything arrives, no duplicates', async () => {
    standIn.reset();
    // First half of the users while the service runs...
    await runApp(collector.otlpHttp, standIn, 'proto', firstHalf);
    await waitUntil(() => standIn.impressions().length > 0, 30_000, 'first half');
    expect(await service.stop('SIGTERM')).toBe(0);
    // ...the second half while it is down: the collector keeps it in its persistent queue.
    await runApp(collector.otlpHttp, standIn, 'proto', secondHalf);
    await new Promise((r) => setTimeout(r, 1000));
    service = await startServiceProcess(serviceEnv());
    await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 120_000);
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
  });
});

describe('derived events through the collector and the service', () => {
  it('with the two edits collector-config.sidecar.yaml describes: one latency and one error-rate event per request, once', async () => {
    standIn.reset();
    const derivedService = await startServiceProcess({
      ...serviceEnv(),
      FLAGSYNC_SERVICE_PORT: '0',
      FLAGSYNC_SERVICE_DEDUPE_DIR: mkdtempSync(join(tmpdir(), 'flagsync-dedupe-')),
      FLAGSYNC_DERIVED_EVENTS: JSON.stringify(CHECKOUT_RULES),
    });
    // Server spans (no flag events of their own) pass the span filter, with the attributes the rules read.
    const derivedCollector = await startCollector({
      serviceEndpoint: derivedService.url,
      backendEndpoint: backend.url,
      token: TOKEN,
      editConfig: (yaml) =>
        yaml
          .replace(`- "Len(span.events) == 0"`, `- 'Len(span.events) == 0 and kind != SPAN_KIND_SERVER'`)
          .replace(
            `- "keep_keys(span.attributes, [])"`,
            `- 'keep_keys(span.attributes, ["url.path", "http.request.method", "http.response.status_code"])'`,
          ),
    });
    try {
      const { servers } = await runHttpApp(standIn, { otlpEndpoint: derivedCollector.otlpHttp });
      await waitUntil(() => standIn.events().length >= 12, 60_000, 'derived events');
      await new Promise((r) => setTimeout(r, 500));
      expect(receivedEvents(standIn)).toEqual(expectedCheckoutEvents(servers));
      expect(standIn.impressions()).toHaveLength(6);
    } finally {
      await derivedCollector.stop();
      await derivedService.stop();
    }
  }, 120_000);
});
