/**
 * Legal but unusual input to the service, each of which once lost or wedged data: a request with
 * more items than the delivery queue holds, deep nesting in attributes it does not read, zstd
 * bodies of several frames, spans without ids, a day-long Retry-After, a wrong events URL, and a
 * FlagSync slower than the ack timeout. Each must arrive exactly once.
 */
import { zstdCompressSync } from 'node:zlib';
import { logs } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFlagSyncService, type FlagSyncService } from '../../src/service/flagsync-service.js';
import type { FlagSyncServiceOptions } from '../../src/service/service-config.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { setupOtel } from '../utils/otel.js';
import { contextKeys, flagSpansRequest, manyEvaluationsRequest, userKeys } from '../utils/otlp-request.js';

let standIn: StandIn;
const services: FlagSyncService[] = [];

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());
afterEach(async () => {
  for (const s of services.splice(0)) await s.close(1000);
  standIn.reset();
});

async function service(options: FlagSyncServiceOptions = {}): Promise<FlagSyncService> {
  const s = await startFlagSyncService({
    port: 0,
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    eventsUrl: standIn.url,
    flushIntervalMillis: 20,
    initialBackoffMillis: 50,
    maxBackoffMillis: 200,
    ...options,
  });
  services.push(s);
  return s;
}

async function post(
  s: FlagSyncService,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
  path = '/v1/traces',
) {
  const response = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': typeof body === 'string' ? 'application/json' : 'application/x-protobuf', ...headers },
    body: body as BodyInit,
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), text: await response.text() };
}

describe('requests the service must not lose or wedge', () => {
  it('more items than the delivery queue holds: delivered in parts, in one request, each once', async () => {
    const s = await service({ maxQueueSize: 1000, maxBatchSize: 250 });
    const answer = await post(s, manyEvaluationsRequest({ spans: 600, perSpan: 5 }));
    expect(answer.status).toBe(200);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(3000));
    expect(s.deliveryStats().impressions).toMatchObject({ delivered: 3000, dropped: 0 });
  });

  it.each([200, 5000])(
    "another provider's attribute nested %i levels deep, which the converter does not read: ignored, the rest delivered",
    async (depth) => {
      const s = await service();
      const answer = await post(s, manyEvaluationsRequest({ spans: 10, perSpan: 2, deepOther: depth }));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({});
      expect(contextKeys(standIn.impressions())).toEqual(userKeys(20));
    },
  );

  it('a nested value the converter does read, too deep: that event rejected and reported, the others delivered (protobuf log records)', async () => {
    const s = await service({ providerNames: ['AnotherVendor'] });
    const exporter = new InMemoryLogRecordExporter();
    const otel = setupOtel({ logProcessors: [new SimpleLogRecordProcessor({ exporter })] });
    let deep: unknown = 'bottom';
    for (let d = 0; d < 80; d++) deep = { k: deep };
    const other = (key: string, value: unknown) => ({
      'feature_flag.provider.name': 'AnotherVendor',
      'feature_flag.key': 'f',
      'feature_flag.context.id': key,
      'feature_flag.result.value': value as never,
    });
    const logger = logs.getLogger('vendor');
    logger.emit({ eventName: 'feature_flag.evaluation', attributes: other('deep-user', deep) });
    logger.emit({ eventName: 'feature_flag.evaluation', attributes: other('plain-user', { a: [1, 2] }) });
    await otel.loggerProvider.forceFlush();
    const body = ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords())!;
    await otel.shutdown();
    const answer = await post(s, body, {}, '/v1/logs');
    expect(answer.status).toBe(200);
    expect(contextKeys(standIn.impressions())).toEqual(['plain-user']);
    expect(s.counters.rejected).toBe(1);
    // Partial success (protobuf): rejected_log_records = 1, and the reason.
    expect(answer.text).toContain('feature_flag.result.value');
  });

  it('a zstd body of several frames: every frame read', async () => {
    const s = await service();
    const request = manyEvaluationsRequest({ spans: 40, perSpan: 1 });
    const cut = Math.floor(request.length / 3);
    const framed = Buffer.concat(
      [request.slice(0, cut), request.slice(cut, 2 * cut), request.slice(2 * cut)].map((part) =>
        zstdCompressSync(Buffer.from(part)),
      ),
    );
    expect((await post(s, framed, { 'content-type': 'application/json', 'content-encoding': 'zstd' })).status).toBe(
      200,
    );
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(40));
    // Bytes after the last frame that are not a frame: a clear 400, nothing delivered from it.
    const trailing = await post(s, Buffer.concat([framed, Buffer.from('not zstd')]), {
      'content-type': 'application/json',
      'content-encoding': 'zstd',
    });
    expect(trailing.status).toBe(400);
    expect(trailing.text).toContain('not valid zstd at byte');
    expect(standIn.impressions()).toHaveLength(40);
  });

  it.each(['none', 'zero'] as const)(
    "spans with %s ids: different users' events are never taken for duplicates",
    async (ids) => {
      const s = await service();
      for (const offset of [0, 100])
        expect((await post(s, manyEvaluationsRequest({ spans: 5, perSpan: 2, offset, ids }))).status).toBe(200);
      expect(contextKeys(standIn.impressions())).toEqual([...userKeys(10), ...userKeys(10, 100)].sort());
      expect(s.counters.duplicates).toBe(0);
    },
  );

  it('FlagSync asks for a Retry-After of 999999999 s: waited for at most maxRetryAfterMillis, and passed on capped', async () => {
    const s = await service({ maxRetryAfterMillis: 1500, ackTimeoutMillis: 500 });
    standIn.addFault({ status: 429, retryAfter: '999999999', route: 'impressions' });
    const first = await post(s, flagSpansRequest(3));
    expect(first.status).toBe(503);
    const during = await post(s, flagSpansRequest(3));
    expect(during.status).toBe(429);
    expect(Number(during.retryAfter)).toBeLessThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await post(s, flagSpansRequest(3))).status).toBe(200);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(3));
    expect(contextKeys(standIn.events())).toEqual(userKeys(3));
  });

  it('a wrong events URL (404): answered 503, never 200, so the collector keeps the data for the fixed service', async () => {
    const wrong = await service({
      eventsUrl: `${standIn.url}/v2`,
      ackTimeoutMillis: 500,
      configErrorRetryDelayMillis: 60_000,
    });
    const answer = await post(wrong, flagSpansRequest(4));
    expect(answer.status).toBe(503);
    // While the setting is wrong, later requests are refused at once, with the reason.
    const again = await post(wrong, flagSpansRequest(4));
    expect(again.status).toBe(503);
    expect(again.text).toContain('FlagSync answered 404');
    expect(standIn.impressions()).toHaveLength(0);
    // The operator fixes the URL; the collector's retry reaches the fixed service.
    const fixed = await service();
    expect((await post(fixed, flagSpansRequest(4))).status).toBe(200);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(4));
    expect(contextKeys(standIn.events())).toEqual(userKeys(4));
  });
});

describe('a request answered 503 after the ack timeout, sent again', () => {
  it('FlagSync down: everything was handed back; the retry after recovery arrives once', async () => {
    const s = await service({ ackTimeoutMillis: 500, initialBackoffMillis: 2000, maxBackoffMillis: 2000 });
    standIn.addFault({ status: 503, times: Infinity });
    const first = await post(s, flagSpansRequest(10));
    expect(first.status).toBe(503);
    expect(s.deliveryStats().impressions.withdrawn + s.deliveryStats().events.withdrawn).toBe(20);
    standIn.clearFaults();
    // Still backing off: refused at once, nothing queued.
    const early = await post(s, flagSpansRequest(10));
    expect(early.status).toBe(503);
    expect(Number(early.retryAfter)).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await post(s, flagSpansRequest(10))).status).toBe(200);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(10));
    expect(contextKeys(standIn.events())).toEqual(userKeys(10));
  });

  it('FlagSync slower than the ack timeout: the retry waits for the copy still on its way instead of sending it twice', async () => {
    const s = await service({ ackTimeoutMillis: 500 });
    standIn.addFault({ delayMs: 1500, times: 2 }); // both batches: stored after 1.5 s
    expect((await post(s, flagSpansRequest(10))).status).toBe(503);
    // Sent again while FlagSync still has not answered: it waits, then is answered 503 again, having sent nothing.
    expect((await post(s, flagSpansRequest(10))).status).toBe(503);
    await standIn.waitFor(() => standIn.batches.length === 2, 5000);
    expect((await post(s, flagSpansRequest(10))).status).toBe(200);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(10));
    expect(contextKeys(standIn.events())).toEqual(userKeys(10));
    expect(s.counters.duplicates).toBe(40);
    expect(s.counters.inFlightAtAckTimeout).toBe(20);
  });
});
