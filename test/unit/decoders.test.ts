/**
 * Differential test of the two OTLP decoders: requests the real OpenTelemetry SDK records and
 * @opentelemetry/otlp-transformer serializes, as protobuf and as JSON, must decode to the same
 * events, identities, trace ids and span facts; and converting what was decoded must give what
 * the in-process exporters convert from the SDK's own spans and log records.
 */
import { logs, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConverter, type ConversionOutcome } from '../../src/convert/converter.js';
import { createDerivedEvents, TraceContexts } from '../../src/convert/derived-events.js';
import type { DerivedEventRule } from '../../src/convert/derived-rules.js';
import { convertLogRecords, convertSpans } from '../../src/convert/sources.js';
import { flagEvaluationAttributes } from '../../src/instrumentation/attributes.js';
import { resetClaims, state } from '../../src/instrumentation/claims.js';
import { resetHandover } from '../../src/instrumentation/handover.js';
import { EventRecorder } from '../../src/instrumentation/recorder.js';
import { createClientInstrumenter } from '../../src/instrumentation/wrap-client.js';
import { createDecodeFilter } from '../../src/otlp/decode-filter.js';
import { decodeLogsJson, decodeTracesJson } from '../../src/otlp/decode-json.js';
import { decodeLogsProto, decodeTracesProto } from '../../src/otlp/decode-proto.js';
import { ProtoReader } from '../../src/otlp/proto-reader.js';
import type { DecodedRequest } from '../../src/otlp/otlp-event.js';
import { setupOtel } from '../utils/otel.js';

const RULES: DerivedEventRule[] = [
  {
    eventKey: 'checkout_ms',
    match: { kind: 'server', attributes: [{ key: 'http.route', equals: '/checkout' }] },
    value: { from: 'duration' },
    properties: ['http.response.status_code'],
  },
];

let spans: ReadableSpan[];
let logRecords: ReadableLogRecord[];

beforeAll(async () => {
  const otel = setupOtel();
  // Calls handed to this process's exporters, as the guard covering node-sdk allows.
  state.guarded.server = true;
  const forSpans = createClientInstrumenter({ trackSignal: 'span', delivery: 'exporter' }, () => true).wrap(
    fakeClient(),
  );
  const forLogs = createClientInstrumenter({ trackSignal: 'log', delivery: 'exporter' }, () => true).wrap(fakeClient());
  otel.tracer.startActiveSpan(
    'GET /checkout',
    { kind: SpanKind.SERVER, attributes: { 'http.route': '/checkout', 'http.response.status_code': 500 } },
    (server) => {
      // Another provider's event in the same span.
      server.addEvent('exception', { 'exception.message': 'boom', 'exception.type': 'Error' });
      evaluation('span', 'u-1', { plan: 'pro', ключ: 'значение 🚀', n: 2 ** 53 + 2 }, { copy: 'Join Now', n: 1.5 });
      evaluation('span', 'u-2', {}, false);
      for (const client of [forSpans, forLogs]) {
        // Without an SDK to hold back, these record evaluations FlagSync gets from the SDK (ignored here).
        client.flag({ key: 'u-1' }, 'copy', 'fallback');
        client.track({ key: 'u-1', attributes: { plan: 'pro' } }, 'purchase', 19.99, {
          items: [{ sku: 'a', qty: 2 }],
          nested: nest(20),
          unicode: 'ünï',
          big: 1e308,
        });
        client.track({ key: 'u-2' }, 'page_view');
        client.track({ key: 'u-3' }, 'weird', -0, {});
      }
      server.setStatus({ code: SpanStatusCode.ERROR });
      server.end();
    },
  );
  otel.tracer.startActiveSpan('internal work', (span) => span.end());
  // Another provider's log record, its body nested 80 levels deep.
  logs.getLogger('other').emit({ eventName: 'app.audit', body: nest(80) as never });
  // Without a span, evaluations are log records.
  evaluation('log', 'u-4', { ok: true, list: [1, 'two', null] }, 'Join Now');
  evaluation('log', 'u-5', {}, 0.5);
  await otel.tracerProvider.forceFlush();
  await otel.loggerProvider.forceFlush();
  spans = otel.spans.getFinishedSpans();
  logRecords = otel.logs.getFinishedLogRecords();
  await otel.shutdown();
  resetClaims();
  resetHandover();
  expect(logRecords.length).toBeGreaterThanOrEqual(5);
});

const recorder = new EventRecorder({});

/** A flag() evaluation FlagSync gets from this event (as when the SDK's copy is held back), written by the recorder. */
function evaluation(signal: 'span' | 'log', key: string, attributes: Record<string, unknown>, value: unknown) {
  const prepared = { key, json: JSON.stringify({ key, attributes }) };
  const event = flagEvaluationAttributes({
    flagKey: 'copy',
    value,
    context: prepared,
    delivery: 'exporter',
    reason: 'TARGETING_MATCH',
    errorType: undefined,
    omitValues: false,
  })!;
  const target = recorder.target(signal, 'feature_flag.evaluation');
  expect(target?.kind).toBe(signal);
  expect(recorder.record(target!, 'feature_flag.evaluation', event, Date.now())).toBeUndefined();
}

function fakeClient() {
  return {
    flag: (_context: unknown, _key: string, fallback?: unknown) => fallback ?? 'Join Now',
    track: (..._args: unknown[]) => undefined,
  };
}

function nest(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = { level: value };
  return value;
}

const converter = createConverter({ consumer: 'exporter' });
const filter = createDecodeFilter(
  converter,
  createDerivedEvents({ derivedEvents: RULES }, new TraceContexts()).attributeNames,
);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Outcomes as comparable JSON (the converted items, or the reason). */
const outcomeText = (o: ConversionOutcome) =>
  'json' in o ? o.json : `${o.kind}${'reason' in o ? `: ${o.reason}` : ''}`;

function convertDecoded(decoded: DecodedRequest): string[] {
  return decoded.events.map((e) => outcomeText(converter.convert(e)));
}

describe('OTLP decoders, differentially', () => {
  it('traces: protobuf and JSON from otlp-transformer decode alike, identities and span facts included', () => {
    const proto = decodeTracesProto(ProtobufTraceSerializer.serializeRequest(spans)!, filter);
    const json = decodeTracesJson(text(JsonTraceSerializer.serializeRequest(spans)!), filter);
    expect(proto.events.length).toBe(7);
    expect(proto.records).toBe(2);
    expect(json).toEqual(proto);
    // Identities: present, distinct, and stable across encodings (a retry in the other encoding is a duplicate).
    const ids = proto.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(proto.spans!.map((s) => s.facts)).toEqual([
      expect.objectContaining({
        name: 'GET /checkout',
        kind: 'server',
        status: 'error',
        attributes: { 'http.route': '/checkout', 'http.response.status_code': 500 },
      }),
      expect.objectContaining({ name: 'internal work', kind: 'internal', status: 'unset', attributes: {} }),
    ]);
  });

  it('traces: converting what was decoded gives what the span exporter converts from the SDK spans', () => {
    const inProcess: string[] = [];
    convertSpans(converter, spans, (o) => inProcess.push(outcomeText(o)));
    const decoded = convertDecoded(decodeTracesProto(ProtobufTraceSerializer.serializeRequest(spans)!, filter));
    expect(decoded).toEqual(inProcess);
    expect(decoded.filter((o) => o.startsWith('{'))).toHaveLength(5);
  });

  it('logs: protobuf and JSON decode alike, and convert as the log record exporter does', () => {
    const proto = decodeLogsProto(ProtobufLogsSerializer.serializeRequest(logRecords)!, filter);
    const json = decodeLogsJson(text(JsonLogsSerializer.serializeRequest(logRecords)!), filter);
    expect(json).toEqual(proto);
    expect([proto.records, proto.events.length]).toEqual([6, 5]);
    const ids = proto.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const inProcess: string[] = [];
    convertLogRecords(converter, logRecords, (o) => inProcess.push(outcomeText(o)));
    expect(convertDecoded(proto)).toEqual(inProcess);
    expect(inProcess.filter((o) => o.startsWith('{')).length).toBe(proto.events.length);
  });
});

describe('ProtoReader.int64', () => {
  /** The varint protobuf writes for an int64 (two's complement, so negatives take 10 bytes). */
  function varint(value: bigint): Uint8Array {
    let rest = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    do {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      bytes.push(rest > 0n ? low | 0x80 : low);
    } while (rest > 0n);
    return Uint8Array.from(bytes);
  }

  it.each([
    0n,
    1n,
    -1n,
    300n,
    2n ** 31n,
    2n ** 53n - 1n,
    2n ** 53n,
    2n ** 53n + 1n,
    -(2n ** 53n) + 1n,
    -(2n ** 53n) - 1n,
    2n ** 63n - 1n,
    -(2n ** 63n),
  ])('%s: a number when exact, else the same bigint', (value) => {
    const read = new ProtoReader(varint(value)).int64();
    if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER))
      expect(read).toBe(Number(value));
    else expect(read).toBe(value);
  });
});
