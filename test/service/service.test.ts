/**
 * The collector-side service in-process, fed by the real OTLP exporters of the OTel JS SDK
 * (protobuf and JSON, gzip), delivering to the stand-in. The real collector is in test/e2e/.
 */
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { OTLPLogExporter as OTLPLogExporterJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPLogExporterProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installSdkDeliveryGuard } from '../../src/instrumentation/node-sdk-delivery-guard.js';
import { instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { startFlagSyncService, type FlagSyncService } from '../../src/service/flagsync-service.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { setupOtel, type TestOtel } from '../utils/otel.js';
import { canonical, EVENTS_PER_SCENARIO, runScenario, type ServerLikeClient } from '../utils/scenario.js';

let standIn: StandIn;
let service: FlagSyncService;
let otel: TestOtel | undefined;
const TOKEN = 'test-token-0123456789abcdef';

beforeAll(async () => {
  standIn = await startStandIn();
  // A short request timeout: a stuck connection to FlagSync must not outlast the 10 s ack timeout.
  service = await startFlagSyncService({
    port: 0,
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    eventsUrl: standIn.url,
    flushIntervalMillis: 20,
    initialBackoffMillis: 50,
    maxBackoffMillis: 200,
    timeoutMillis: 2000,
    bearerToken: TOKEN,
  });
  await installSdkDeliveryGuard();
});
afterAll(async () => {
  await service.close(2000);
  await standIn.close();
});
afterEach(async () => {
  await otel?.shutdown();
  otel = undefined;
  standIn.reset();
});

const headers = { authorization: `Bearer ${TOKEN}` };

async function runThroughOtlp(encoding: 'proto' | 'json', compression: 'gzip' | 'none') {
  const options = { headers, compression: compression as never };
  const traceExporter =
    encoding === 'proto'
      ? new OTLPTraceExporterProto({ url: `${service.url}/v1/traces`, ...options })
      : new OTLPTraceExporterJson({ url: `${service.url}/v1/traces`, ...options });
  const logExporter =
    encoding === 'proto'
      ? new OTLPLogExporterProto({ url: `${service.url}/v1/logs`, ...options })
      : new OTLPLogExporterJson({ url: `${service.url}/v1/logs`, ...options });
  otel = setupOtel({
    spanProcessors: [new SimpleSpanProcessor({ exporter: traceExporter })],
    logProcessors: [new SimpleLogRecordProcessor({ exporter: logExporter })],
  });
  const client = instrumentFlagSyncClient(
    FlagSyncFactory({ sdkKey: STANDIN_DEFAULT_SDK_KEY, urls: { sdk: standIn.url }, sync: { type: 'off' } }).client(),
    { delivery: 'collector' },
  );
  await client.waitForReady();
  const o = otel;
  // Users 1 and 3 inside spans (span events), the others without a span (log fallback).
  const impressions = runScenario(client as unknown as ServerLikeClient, (name, fn) => {
    if (!name.endsWith('1') && !name.endsWith('3')) return fn();
    o.tracer.startActiveSpan(name, (span) => {
      fn();
      span.end();
    });
  });
  o.tracer.startActiveSpan('no flag data here', (span) => span.end());
  await o.shutdown();
  otel = undefined;
  return impressions;
}

describe('flagsync-otel service (in-process)', () => {
  it.each([
    ['protobuf', 'proto', 'none'],
    ['protobuf + gzip', 'proto', 'gzip'],
    ['JSON', 'json', 'none'],
    ['JSON + gzip', 'json', 'gzip'],
  ] as const)('OTLP %s: delivers exactly the impressions and events, once', async (_name, encoding, compression) => {
    const before = { ...service.counters.converted };
    const impressions = await runThroughOtlp(encoding, compression);
    expect(standIn.impressions()).toHaveLength(impressions);
    expect(standIn.events()).toHaveLength(EVENTS_PER_SCENARIO);
    expect(new Set(canonical(standIn.events())).size).toBe(EVENTS_PER_SCENARIO);
    expect(service.counters.converted.impressions - before.impressions).toBe(impressions);
    const first = standIn.impressions().find((i) => i.flagKey === 'checkout-config');
    expect(first?.flagValue).toEqual({ layout: 'grid', columns: [1, 2, 3], extras: { badge: null, ключ: 'значение' } });
  });

  it('answers spec-correctly: 401, 405, 415, 400, 413, partial success', async () => {
    const post = (path: string, body: BodyInit, h: Record<string, string>) =>
      fetch(service.url + path, { method: 'POST', headers: { ...headers, ...h }, body });
    expect(
      (
        await fetch(`${service.url}/v1/traces`, {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await post('/v1/traces', '{}', {
          'content-type': 'application/json',
          authorization: 'Bearer wrong-token-0123456789',
        })
      ).status,
    ).toBe(401);
    const get = await fetch(`${service.url}/v1/traces`, { headers });
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    expect((await post('/v1/traces', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect(
      (await post('/v1/traces', 'x', { 'content-type': 'application/json', 'content-encoding': 'snappy' })).status,
    ).toBe(415);
    const bad = await post('/v1/logs', '{"resourceLogs": 5}', { 'content-type': 'application/json' });
    expect([bad.status, await bad.json()]).toEqual([
      400,
      { code: 3, message: 'cannot decode OTLP json: resourceLogs must be an array' },
    ]);
    expect(
      (await post('/v1/traces', new Uint8Array([0x0a, 0xff, 0xff, 0xff]), { 'content-type': 'application/x-protobuf' }))
        .status,
    ).toBe(400);
    const bomb = new Uint8Array(gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)));
    expect(bomb.length).toBeLessThan(200 * 1024);
    expect(
      (await post('/v1/logs', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status,
    ).toBe(413);

    // A track event whose value is not a number: rejected with its reason, the rest delivered.
    const record = (value: object) => ({
      timeUnixNano: '1795000000000000000',
      observedTimeUnixNano: '1795000000000000001',
      eventName: 'flagsync.track',
      attributes: [
        { key: 'flagsync.event.key', value: { stringValue: 'e' } },
        { key: 'flagsync.context', value: { stringValue: '{"key":"u"}' } },
        { key: 'flagsync.event.value', value },
      ],
    });
    const body = JSON.stringify({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                record({ stringValue: 'NaN-ish' }),
                { ...record({ stringValue: '2.5' }), observedTimeUnixNano: '1795000000000000002' },
              ],
            },
          ],
        },
      ],
    });
    const partial = await post('/v1/logs', body, { 'content-type': 'application/json' });
    expect([partial.status, await partial.json()]).toEqual([
      200,
      {
        partialSuccess: {
          rejectedLogRecords: '1',
          errorMessage: 'flagsync.event.value must be the JSON text of a number or null',
        },
      },
    ]);
    expect(standIn.events()).toEqual([
      { context: { key: 'u' }, eventKey: 'e', value: 2.5, timestamp: new Date(1795000000000).toISOString() },
    ]);

    // The same request again (a collector retry): acknowledged, nothing delivered twice.
    const again = await post('/v1/logs', body, { 'content-type': 'application/json' });
    expect(again.status).toBe(200);
    expect(standIn.events()).toHaveLength(1);
  });

  it('answers 503 with Retry-After while FlagSync fails, then delivers', async () => {
    standIn.addFault({ status: 503, times: Infinity });
    const body = (n: number) =>
      JSON.stringify({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: '1795000000000000000',
                    observedTimeUnixNano: String(1795000000000000100n + BigInt(n)),
                    eventName: 'flagsync.track',
                    attributes: [
                      { key: 'flagsync.event.key', value: { stringValue: `e${n}` } },
                      { key: 'flagsync.context', value: { stringValue: '{"key":"u"}' } },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      });
    const post = (n: number) =>
      fetch(`${service.url}/v1/logs`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: body(n),
      });
    const first = post(1); // waits for delivery, which is failing
    await new Promise((r) => setTimeout(r, 300));
    const second = await post(2);
    expect(second.status).toBe(503);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    standIn.clearFaults();
    expect((await first).status).toBe(200);
    expect((await post(2)).status).toBe(200);
    expect(
      standIn
        .events()
        .map((e) => e.eventKey)
        .sort(),
    ).toEqual(['e1', 'e2']);
  });

  it('reports health, readiness and Prometheus metrics', async () => {
    expect(await (await fetch(`${service.url}/healthz`)).text()).toBe('ok\n');
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/flagsync_otel_duplicates_total [1-9]/);
    expect(metrics).toMatch(/flagsync_otel_delivered_total\{kind="impression"\} [1-9]/);
    expect(metrics).not.toContain(STANDIN_DEFAULT_SDK_KEY);
    expect(metrics).not.toContain(TOKEN);
  });
});
