/**
 * 10,000 malformed requests from a seeded generator, with valid ones interleaved: the service
 * never answers 5xx or drops a connection, answers each with a 4xx (or 200 where the bytes happen
 * to be a valid OTLP message), delivers every valid request, and keeps its memory bounded.
 */
import { gzipSync } from 'node:zlib';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientInstrumenter } from '../../src/instrumentation/wrap-client.js';
import { startFlagSyncService, type FlagSyncService } from '../../src/service/flagsync-service.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { setupOtel } from '../utils/otel.js';

const MALFORMED = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const MAX_BODY = 256 * 1024;
let standIn: StandIn;
let service: FlagSyncService;

/** mulberry32: small, seeded, reproducible. */
function prng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let validTraces: Uint8Array;
let validLogs: Uint8Array;

beforeAll(async () => {
  standIn = await startStandIn();
  service = await startFlagSyncService({
    port: 0,
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    eventsUrl: standIn.url,
    maxBodyBytes: MAX_BODY,
    flushIntervalMillis: 20,
  });
  // Real OTLP bodies from the real SDK, as seeds for mutation.
  const logExporter = new InMemoryLogRecordExporter();
  const otel = setupOtel({ logProcessors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
  const client = createClientInstrumenter({ trackSignal: 'log' }, () => true).wrap({
    flag: (..._args: unknown[]) => 'Join Now',
    track: (..._args: unknown[]) => undefined,
  });
  otel.tracer.startActiveSpan('r', (span) => {
    for (let i = 0; i < 5; i++)
      client.flag({ key: `u${i}`, attributes: { plan: 'pro', ключ: 'значение' } }, 'register-button-copy');
    client.track({ key: 'u1' }, 'purchase_event', 9.5, { items: [1, 2] });
    span.end();
  });
  await otel.tracerProvider.forceFlush();
  await otel.loggerProvider.forceFlush();
  validTraces = ProtobufTraceSerializer.serializeRequest(otel.spans.getFinishedSpans())!;
  validLogs = ProtobufLogsSerializer.serializeRequest(otel.logs.getFinishedLogRecords())!;
  await otel.shutdown();
});
afterAll(async () => {
  await service.close(2000);
  await standIn.close();
});

type Case = { path: string; body: Uint8Array | string; headers: Record<string, string>; kind: string };

function malformed(rand: () => number, i: number): Case {
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)]!;
  const proto = { 'content-type': 'application/x-protobuf' };
  const json = { 'content-type': 'application/json' };
  const seed = rand() < 0.5 ? validTraces : validLogs;
  const path = seed === validTraces ? '/v1/traces' : '/v1/logs';
  switch (i % 11) {
    case 0: // random bytes
      return {
        kind: 'random bytes',
        path,
        headers: proto,
        body: Uint8Array.from({ length: Math.floor(rand() * 2048) }, () => Math.floor(rand() * 256)),
      };
    case 1: // truncated protobuf
      return {
        kind: 'truncated protobuf',
        path,
        headers: proto,
        body: seed.slice(0, Math.floor(rand() * seed.length)),
      };
    case 2: {
      // bit flips
      const body = seed.slice();
      for (let k = 0; k < 1 + rand() * 8; k++) body[Math.floor(rand() * body.length)]! ^= 1 << Math.floor(rand() * 8);
      return { kind: 'mutated protobuf', path, headers: proto, body };
    }
    case 3: {
      // invalid UTF-8 inside strings
      const body = seed.slice();
      const at = Buffer.from(body).indexOf('register-button-copy');
      if (at >= 0) body[at + Math.floor(rand() * 5)] = 0xff;
      return { kind: 'invalid UTF-8', path, headers: proto, body };
    }
    case 4: // invalid JSON
      return {
        kind: 'invalid JSON',
        path,
        headers: json,
        body: pick([
          '{',
          '{"resourceSpans": [}',
          'null',
          '[]',
          '"x"',
          '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{]}]}]}',
          '\u0000\u0001',
        ]),
      };
    case 5: // wrong field types
      return {
        kind: 'wrong types',
        path: '/v1/logs',
        headers: json,
        body: pick([
          '{"resourceLogs": 5}',
          '{"resourceLogs": [{"scopeLogs": {}}]}',
          '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"eventName": 5}]}]}]}',
          '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"eventName": "flagsync.track", "timeUnixNano": "soon"}]}]}]}',
          '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"eventName": "flagsync.track", "attributes": [{"key": 1}]}]}]}]}',
          '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"eventName": "flagsync.track", "traceId": "zz"}]}]}]}',
        ]),
      };
    case 6: {
      // deep nesting
      let value = '{"stringValue": "x"}';
      for (let d = 0; d < 40 + rand() * 200; d++)
        value = `{"kvlistValue": {"values": [{"key": "k", "value": ${value}}]}}`;
      return {
        kind: 'deep nesting',
        path: '/v1/logs',
        headers: json,
        body: `{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"eventName": "flagsync.track", "attributes": [{"key": "flagsync.event.properties", "value": ${value}}]}]}]}]}`,
      };
    }
    case 7: // huge attribute values, not convertible: rejected in partialSuccess, never forwarded
      return {
        kind: 'huge wrong value',
        path: '/v1/logs',
        headers: json,
        body: JSON.stringify({
          resourceLogs: [
            {
              scopeLogs: [
                {
                  logRecords: [
                    {
                      eventName: 'flagsync.track',
                      observedTimeUnixNano: String(i),
                      attributes: [
                        { key: 'flagsync.event.key', value: { stringValue: 'e' } },
                        { key: 'flagsync.context', value: { stringValue: '{"key":"u"}' } },
                        { key: 'flagsync.event.value', value: { stringValue: 'x'.repeat(100_000) } },
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        }),
      };
    case 8: // over the limit, plain or as a gzip bomb
      return rand() < 0.5
        ? {
            kind: 'over the limit',
            path,
            headers: proto,
            body: new Uint8Array(MAX_BODY + 1 + Math.floor(rand() * 1000)),
          }
        : { kind: 'gzip bomb', path, headers: { ...proto, 'content-encoding': 'gzip' }, body: BOMB };
    case 9: // wrong or missing content type / encoding
      return {
        kind: 'wrong media type',
        path,
        headers: pick<Record<string, string>>([
          { 'content-type': 'text/plain' },
          {},
          { 'content-type': 'application/xml' },
          { ...proto, 'content-encoding': 'snappy' },
          { ...proto, 'content-encoding': 'gzip' },
        ]),
        body: seed,
      };
    default: // corrupt gzip
      return {
        kind: 'corrupt gzip',
        path,
        headers: { ...proto, 'content-encoding': 'gzip' },
        body: gzipSync(seed).subarray(0, 20),
      };
  }
}

const BOMB = new Uint8Array(gzipSync(Buffer.alloc(32 * 1024 * 1024)));

function validRequest(n: number): Case {
  const body = JSON.stringify({
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: '1795000000000000000',
                observedTimeUnixNano: String(1_000_000 + n),
                eventName: 'flagsync.track',
                attributes: [
                  { key: 'flagsync.event.key', value: { stringValue: `valid-${n}` } },
                  { key: 'flagsync.context', value: { stringValue: '{"key":"u"}' } },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
  return { kind: 'valid', path: '/v1/logs', headers: { 'content-type': 'application/json' }, body };
}

describe('fuzzing the service', () => {
  it(`survives ${MALFORMED} malformed requests and delivers every valid one in between`, async () => {
    const rand = prng(20261126);
    const cases: Case[] = [];
    let valid = 0;
    for (let i = 0; i < MALFORMED; i++) {
      cases.push(malformed(rand, i));
      if (i % 50 === 0) cases.push(validRequest(valid++));
    }
    const dispatcher = new Agent({ connections: 8 });
    const statuses = new Map<string, Set<number>>();
    const errors: string[] = [];
    const rssBefore = process.memoryUsage().rss;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < cases.length) {
          const c = cases[next++]!;
          try {
            const res = await request(service.url + c.path, {
              method: 'POST',
              dispatcher,
              headers: c.headers,
              body: c.body,
            });
            await res.body.dump();
            if (!statuses.has(c.kind)) statuses.set(c.kind, new Set());
            statuses.get(c.kind)!.add(res.statusCode);
          } catch (error) {
            errors.push(`${c.kind}: ${String(error)}`);
          }
        }
      }),
    );
    await dispatcher.close();
    const seen = Object.fromEntries([...statuses].map(([kind, set]) => [kind, [...set].sort()]));
    if (process.env.FUZZ_SHOW) console.log(JSON.stringify(seen));
    expect(errors).toEqual([]);
    for (const [kind, codes] of Object.entries(seen)) {
      for (const code of codes)
        expect({ kind, code, ok: [200, 400, 413, 415].includes(code) }).toEqual({ kind, code, ok: true });
    }
    expect(seen.valid).toEqual([200]);
    expect(seen['over the limit']).toEqual([413]);
    expect(seen['gzip bomb']).toEqual([413]);
    // Legal OTLP: the too-deep value costs its own event (partialSuccess), never the request.
    expect(seen['deep nesting']).toEqual([200]);
    expect(seen['huge wrong value']).toEqual([200]); // partialSuccess: rejected, not forwarded
    // Every valid request arrived, once. (Mutated bodies that still decode as well-formed OTLP are
    // accepted too: OTLP carries no checksum, so they cannot be told from real data.)
    const validKeys = standIn
      .events()
      .map((e) => String(e.eventKey))
      .filter((k) => k.startsWith('valid-'))
      .sort();
    expect(validKeys).toEqual(Array.from({ length: valid }, (_, n) => `valid-${n}`).sort());
    expect(service.counters.rejected).toBeGreaterThan(0);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1024 * 1024);
  }, 180_000);
});
