/**
 * The FlagSync gateway: the otelcol-flagsync distribution built from collector/manifest.yaml
 * (scripts/build-collector.sh) running collector-config.gateway.yaml unchanged (endpoints, keys and
 * paths from env), fed by apps directly and by a stock collector running
 * collector-config.stock-to-gateway.yaml; FlagSync is the stand-in. Each promise the Node sidecar
 * made is proved here against the gateway: acknowledged means on disk, re-sends delivered once,
 * auth, the body limit, back-pressure, and no silent loss of deeply nested or non-UTF-8 input.
 */
import { gzipSync } from 'node:zlib';
import { Metadata } from '@grpc/grpc-js';
import { logs } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadSize } from '../../src/convert/payload-size.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { arrived, nativeReference, recordCalls, runApp, type Scenario } from '../utils/e2e-app.js';
import { contextKeys, flagSpansRequest, manyEvaluationsRequest, userKeys } from '../utils/otlp-request.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import { metricValue, startCollector, waitUntil, type Collector, type CollectorOptions } from '../utils/processes.js';
import { canonical } from '../utils/scenario.js';

const TOKEN = 'gateway-token-SECRET-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
let standIn: StandIn;
let gateway: Collector;
let backend: OtlpSink;
let native: { impressions: string[]; events: string[] };

const gatewayOptions = (more: Partial<CollectorOptions> = {}): CollectorOptions =>
  ({
    gateway: { token: TOKEN },
    flagsyncEndpoint: standIn.url,
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    backendEndpoint: '',
    configErrorRetryDelay: '2s',
    ...more,
  }) as CollectorOptions;

/** One of the flagsync exporter's own counters, from the gateway's metrics. */
const exporterMetric = (name: string, of = gateway) => metricValue(of.metricsUrl, `otelcol_exporter_flagsync_${name}`);

/** POST an OTLP request to the gateway; its status and the message of its answer. */
async function post(
  body: string | Uint8Array,
  options: { headers?: Record<string, string>; signal?: 'traces' | 'logs'; to?: Collector; json?: boolean } = {},
): Promise<{ status: number; message: string }> {
  const response = await fetch(`${(options.to ?? gateway).otlpHttp}/v1/${options.signal ?? 'traces'}`, {
    method: 'POST',
    headers: {
      'content-type': typeof body === 'string' || options.json ? 'application/json' : 'application/x-protobuf',
      ...(options.headers ?? AUTH),
    },
    body: body as BodyInit,
  });
  const text = await response.text();
  let message = '';
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? '';
  } catch {
    // a protobuf answer: its status is what the tests read
  }
  return { status: response.status, message };
}

beforeAll(async () => {
  standIn = await startStandIn();
  backend = await startOtlpSink();
  gateway = await startCollector(gatewayOptions());
  native = await nativeReference(standIn);
}, 600_000);

afterAll(async () => {
  await gateway?.stop();
  await standIn?.close();
  await backend?.close();
});

describe.each(['proto', 'json'] as const)('an instrumented app exporting OTLP/%s to the gateway', (encoding) => {
  it("delivers exactly what the SDK would, nothing from the app's other spans and logs", async () => {
    standIn.reset();
    await runApp(gateway.otlpHttp, standIn, encoding, undefined, AUTH);
    await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 30_000);
    expect(canonical(standIn.impressions())).toEqual(native.impressions);
    expect(canonical(standIn.events())).toEqual(native.events);
    expect(standIn.batches.every((b) => b.sdkContext.sdkName === 'flagsync-otel' && b.audience === 'server')).toBe(
      true,
    );
  });
});

describe('auth', () => {
  it('no token or a wrong one: 401 and nothing delivered; the right one: delivered; the token never logged', async () => {
    standIn.reset();
    const refused = [
      await post(flagSpansRequest(3, 1000), { headers: {} }),
      await post(flagSpansRequest(3, 1010), { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` } }),
      await post(flagSpansRequest(3, 1020), { headers: { authorization: TOKEN } }),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401]);
    expect((await post(flagSpansRequest(3, 1030))).status).toBe(200);
    await arrived(standIn, { impressions: 3, events: 3 }, 30_000);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(3, 1030));
    expect(contextKeys(standIn.events())).toEqual(userKeys(3, 1030));
    expect(gateway.output()).not.toContain(TOKEN.slice(8));
    expect(JSON.stringify(refused)).not.toContain(TOKEN.slice(8));
  });
});

/** An exporter's answer (@opentelemetry/core's ExportResult): code 0 success, 1 failed. */
type ExportResult = { code: number; error?: Error };
const SUCCESS = 0;
const FAILED = 1;

/**
 * Spans of `users` users recorded by the real SDK (one flag evaluation and one track call each, attributes as the
 * instrumentation writes them), exported over OTLP/gRPC by the real gRPC exporter with `metadata`: its result.
 */
async function exportOverGrpc(users: number, from: number, metadata: Metadata): Promise<ExportResult> {
  const recorded = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: recorded })] });
  const tracer = provider.getTracer('grpc-sender');
  const sized = (values: Record<string, string>) => ({ 'flagsync.size': payloadSize(values), ...values });
  for (let i = from; i < from + users; i++) {
    const span = tracer.startSpan('GET /checkout');
    const context = `{"key":"u${i}"}`;
    span.addEvent(
      'feature_flag.evaluation',
      sized({
        'feature_flag.key': 'register-button-copy',
        'feature_flag.provider.name': 'FlagSync',
        'feature_flag.context.id': `u${i}`,
        'flagsync.value': '"Join Now"',
        'flagsync.context': context,
      }),
    );
    span.addEvent('flagsync.track', sized({ 'flagsync.event.key': 'purchase', 'flagsync.context': context }));
    span.end();
  }
  const exporter = new GrpcTraceExporter({ url: `http://${gateway.otlpGrpc}`, metadata });
  try {
    return await new Promise<ExportResult>((resolve) => exporter.export(recorded.getFinishedSpans(), resolve));
  } finally {
    await exporter.shutdown();
    await provider.shutdown();
  }
}

const grpcMetadata = (authorization?: string) => {
  const metadata = new Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  return metadata;
};

describe('auth over OTLP/gRPC', () => {
  it('no token or a wrong one: UNAUTHENTICATED and nothing delivered; the right one: delivered', async () => {
    standIn.reset();
    const refused = [
      await exportOverGrpc(3, 1100, grpcMetadata()),
      await exportOverGrpc(3, 1110, grpcMetadata(`Bearer ${TOKEN.slice(0, -1)}x`)),
    ];
    expect(refused.map((r) => r.code)).toEqual([FAILED, FAILED]);
    for (const result of refused) expect(String(result.error)).toMatch(/UNAUTHENTICATED/);
    expect((await exportOverGrpc(3, 1120, grpcMetadata(`Bearer ${TOKEN}`))).code).toBe(SUCCESS);
    await arrived(standIn, { impressions: 3, events: 3 }, 30_000);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(3, 1120));
    expect(contextKeys(standIn.events())).toEqual(userKeys(3, 1120));
    expect(gateway.output()).not.toContain(TOKEN.slice(8));
  });
});

describe('acknowledged means kept', () => {
  it('FlagSync down, 10 requests answered 200, the gateway SIGKILLed right after the last answer: after a restart every item arrives once', async () => {
    standIn.reset();
    standIn.addFault({ status: 503, retryAfter: '1', times: Infinity });
    for (let r = 0; r < 10; r++) expect((await post(flagSpansRequest(5, 2000 + r * 5))).status).toBe(200);
    // No await between the last answer and the kill: what was acknowledged is on disk or lost.
    await gateway.stop('SIGKILL');
    expect(standIn.impressions()).toHaveLength(0);
    standIn.clearFaults();
    gateway = await startCollector(gatewayOptions({ queueDir: gateway.queueDir }));
    await arrived(standIn, { impressions: 50, events: 50 }, 60_000);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(50, 2000));
    expect(contextKeys(standIn.events())).toEqual(userKeys(50, 2000));
  }, 120_000);
});

describe('re-sent requests', () => {
  it('the same OTLP request sent again after it was delivered (a retry whose answer was lost): each item once', async () => {
    standIn.reset();
    const skippedBefore = await exporterMetric('duplicates_skipped');
    const body = flagSpansRequest(10, 3000);
    expect((await post(body)).status).toBe(200);
    await arrived(standIn, { impressions: 10, events: 10 }, 30_000);
    expect((await post(body)).status).toBe(200);
    await waitUntil(
      async () => (await exporterMetric('duplicates_skipped')) - skippedBefore === 20,
      30_000,
      'the second copy skipped',
    );
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(10, 3000));
    expect(contextKeys(standIn.events())).toEqual(userKeys(10, 3000));
  }, 60_000);
});

describe('limits', () => {
  it('a body over 16 MiB, plain or a gzip bomb: refused (400, request body too large), nothing of it delivered, the next request delivered', async () => {
    standIn.reset();
    const big = flagSpansRequest(2, 4000).replace('"name":"GET /checkout"', `"name":"${'x'.repeat(17 << 20)}"`);
    const answers = [
      await post(big),
      await post(gzipSync(Buffer.from(big)), { json: true, headers: { ...AUTH, 'content-encoding': 'gzip' } }),
    ];
    expect(answers).toEqual([
      { status: 400, message: 'http: request body too large' },
      { status: 400, message: 'http: request body too large' },
    ]);
    expect((await post(flagSpansRequest(2, 4010))).status).toBe(200);
    await arrived(standIn, { impressions: 2, events: 2 }, 30_000);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(2, 4010));
    expect(contextKeys(standIn.events())).toEqual(userKeys(2, 4010));
  });

  it('the queue full while FlagSync is down: 503, the sender keeps the request and sends it again later; everything arrives once', async () => {
    standIn.reset();
    // A small queue (the edit a user makes to size it), filled while FlagSync refuses.
    const small = await startCollector(
      gatewayOptions({
        editConfig: (yaml) =>
          yaml
            .replace('num_consumers: 4', 'num_consumers: 1')
            // biome-ignore lint/suspicious/noTemplateCurlyInString: the collector's env syntax, not a template
            .replace('${env:FLAGSYNC_QUEUE_BYTES:-2147483648}', '4000'),
      }),
    );
    try {
      standIn.addFault({ status: 503, retryAfter: '1', times: Infinity });
      const answers: { status: number; message: string }[] = [];
      for (let r = 0; r < 5; r++) answers.push(await post(flagSpansRequest(4, 5000 + r * 4), { to: small }));
      const accepted = answers.filter((a) => a.status === 200).length;
      expect(accepted).toBeGreaterThan(0);
      expect(answers.slice(accepted)).toEqual(
        Array.from({ length: 5 - accepted }, () => ({ status: 503, message: 'sending queue is full' })),
      );
      standIn.clearFaults();
      await arrived(standIn, { impressions: accepted * 4, events: accepted * 4 }, 60_000);
      // The sender (an app's OTLP exporter, or a collector's queue) retries what was refused.
      for (let r = accepted; r < 5; r++)
        expect((await post(flagSpansRequest(4, 5000 + r * 4), { to: small })).status).toBe(200);
      await arrived(standIn, { impressions: 20, events: 20 }, 60_000);
      expect(contextKeys(standIn.impressions())).toEqual(userKeys(20, 5000));
      expect(contextKeys(standIn.events())).toEqual(userKeys(20, 5000));
    } finally {
      await small.stop();
    }
  }, 120_000);
});

/** A value nested `depth` levels (an object of objects), as an app's properties or another team's attribute. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { bottom: true };
  for (let d = 1; d < depth; d++) value = { k: value };
  return value;
}

describe('input the sidecar path lost silently', () => {
  it.each([33, 40, 200])(
    "another provider's attribute nested %i levels deep in the same request (OTLP/JSON): everything else delivered",
    async (depth) => {
      standIn.reset();
      const rejectedBefore = await exporterMetric('rejected');
      expect(
        (await post(manyEvaluationsRequest({ spans: 10, perSpan: 2, offset: 6000 + depth * 100, deepOther: depth })))
          .status,
      ).toBe(200);
      await arrived(standIn, { impressions: 20, events: 0 }, 30_000);
      expect(contextKeys(standIn.impressions())).toEqual(userKeys(20, 6000 + depth * 100));
      expect(await exporterMetric('rejected')).toBe(rejectedBefore);
    },
  );

  it.each(['proto', 'json'] as const)(
    'track() properties nested 40 levels and, in the same OTLP/%s logs request, a log record whose attribute nests 40 levels: delivered exactly',
    async (encoding) => {
      const deepUser = { key: `deep-${encoding}` };
      const scenario: Scenario = (client) => {
        client.flag(deepUser, 'register-button-copy', 'Register');
        client.track(deepUser, 'deep_event', 1, { nested: nested(40) });
        // Another team's record, exported in the same batch.
        logs.getLogger('other-team').emit({ body: 'x', attributes: { 'vendor.detail': nested(40) as never } });
      };
      const expected = await nativeReference(standIn, scenario);
      await runApp(gateway.otlpHttp, standIn, encoding, scenario, AUTH);
      await arrived(standIn, { impressions: 1, events: 1 }, 30_000);
      expect(canonical(standIn.impressions())).toEqual(expected.impressions);
      expect(canonical(standIn.events())).toEqual(expected.events);
      expect(JSON.stringify(standIn.events()[0]!.properties)).toContain('"bottom":true');
    },
  );

  /** The instrumentation's spans and log records for users whose key holds QQ, with QQ made two bytes that are not UTF-8. */
  async function notUtf8(tag: string) {
    // QQ stands for the two bad bytes: same length, so the size markers still match.
    const recorded = await recordCalls(standIn, (client, inSpan) => {
      inSpan(() => {
        client.flag({ key: `span-QQ-${tag}` }, 'register-button-copy', 'Register');
        client.track({ key: `span-QQ-${tag}` }, 'purchase', 2);
      });
      client.flag({ key: `log-QQ-${tag}` }, 'register-button-copy', 'Register');
    });
    const broken = (body: Uint8Array) => {
      const bytes = Buffer.from(body);
      for (let i = bytes.indexOf('QQ'); i >= 0; i = bytes.indexOf('QQ', i)) bytes.set([0xff, 0xfe], i);
      return bytes;
    };
    return {
      proto: {
        traces: broken(ProtobufTraceSerializer.serializeRequest(recorded.spans)!),
        logs: broken(ProtobufLogsSerializer.serializeRequest(recorded.logs)!),
      },
      json: {
        traces: broken(JsonTraceSerializer.serializeRequest(recorded.spans)!),
        logs: broken(JsonLogsSerializer.serializeRequest(recorded.logs)!),
      },
    };
  }

  it.each(['proto', 'json'] as const)(
    'a user key with bytes that are not UTF-8, OTLP/%s traces and logs: delivered, each bad byte as U+FFFD, nothing else touched',
    async (encoding) => {
      standIn.reset();
      const bodies = (await notUtf8(encoding))[encoding];
      const json = encoding === 'json';
      expect((await post(bodies.traces, { json })).status).toBe(200);
      expect((await post(bodies.logs, { signal: 'logs', json })).status).toBe(200);
      await arrived(standIn, { impressions: 2, events: 1 }, 30_000);
      const bad = '\uFFFD\uFFFD';
      expect(contextKeys(standIn.impressions())).toEqual([`log-${bad}-${encoding}`, `span-${bad}-${encoding}`]);
      expect(contextKeys(standIn.events())).toEqual([`span-${bad}-${encoding}`]);
      expect(standIn.rejections).toEqual([]);
    },
  );
});

describe('a stock collector (collector-config.stock-to-gateway.yaml) forwarding to the gateway', () => {
  let stock: Collector;
  beforeAll(async () => {
    stock = await startCollector({ gatewayEndpoint: gateway.otlpHttp, token: TOKEN, backendEndpoint: backend.url });
  });
  afterAll(() => stock?.stop());

  it.each(['proto', 'json'] as const)(
    "an app exporting OTLP/%s to it: exactly what the SDK would, once, and the app's other telemetry reaches its backend",
    async (encoding) => {
      standIn.reset();
      backend.traceBodies.length = 0;
      await runApp(stock.otlpHttp, standIn, encoding);
      await arrived(standIn, { impressions: native.impressions.length, events: native.events.length }, 60_000);
      expect(canonical(standIn.impressions())).toEqual(native.impressions);
      expect(canonical(standIn.events())).toEqual(native.events);
      await waitUntil(() => backend.traceBodies.join('').includes('GET /broken'), 10_000, 'spans at the backend');
    },
  );

  it.each([
    ['vendor.detail', "dropped by the snippet's transform"],
    ['feature_flag.result.value', "kept by the transform, through the stock collector's persistent queue"],
  ])(
    "another provider's %s nested 40 levels deep in the same request (%s): the flag data delivered",
    async (attribute) => {
      standIn.reset();
      const offset = attribute === 'vendor.detail' ? 7000 : 7100;
      const body = manyEvaluationsRequest({ spans: 10, perSpan: 2, offset, deepOther: 40 }).replaceAll(
        'vendor.detail',
        attribute,
      );
      expect((await post(body, { to: stock, headers: {} })).status).toBe(200);
      await arrived(standIn, { impressions: 20, events: 0 }, 60_000);
      expect(contextKeys(standIn.impressions())).toEqual(userKeys(20, offset));
    },
  );

  it('the gateway down for a while: the stock collector keeps the data in its queue and delivers it once the gateway is back', async () => {
    standIn.reset();
    const port = Number(new URL(gateway.otlpHttp).port);
    await gateway.stop();
    expect((await post(flagSpansRequest(5, 8000), { to: stock, headers: {} })).status).toBe(200);
    gateway = await startCollector(gatewayOptions({ queueDir: gateway.queueDir, otlpHttpPort: port }));
    await arrived(standIn, { impressions: 5, events: 5 }, 60_000);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(5, 8000));
    expect(contextKeys(standIn.events())).toEqual(userKeys(5, 8000));
  }, 90_000);
});
