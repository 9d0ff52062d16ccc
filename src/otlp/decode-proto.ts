/**
 * OTLP protobuf (ExportTraceServiceRequest, ExportLogsServiceRequest) to OtlpEvents. Only the
 * fields the converter needs are decoded; spans without candidate events cost a skip per field.
 */
import { Buffer } from 'node:buffer';
import { withBodyFields } from '../convert/converter.js';
import type { DecodeFilter, WantedKeys } from './decode-filter.js';
import { RequestIdentities } from './event-identity.js';
import type { SpanFacts } from '../convert/derived-rules.js';
import {
  MAX_ANY_VALUE_DEPTH,
  OTLP_SPAN_KINDS,
  OTLP_STATUS_CODES,
  TOO_DEEP,
  type DecodedRequest,
} from './otlp-event.js';
import {
  ANY_VALUE,
  EXPORT_REQUEST,
  INSTRUMENTATION_SCOPE,
  KEY_VALUE,
  LIST_VALUES,
  LOG_RECORD,
  RESOURCE_DATA,
  SCOPE_DATA,
  SPAN,
  SPAN_EVENT,
  STATUS,
} from './proto-fields.js';
import {
  nanosHalvesToMs,
  ProtoReader,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  type ProtoReader as Reader,
} from './proto-reader.js';

type Range = { start: number; end: number };

export function decodeTracesProto(buf: Uint8Array, filter: DecodeFilter): DecodedRequest {
  const out: DecodedRequest = { events: [], records: 0, ...(filter.spanAttributes ? { spans: [] } : {}) };
  const identities = new RequestIdentities();
  const scratch: SpanScratch = { events: [], attributes: [] };
  forEachLen(new ProtoReader(buf), EXPORT_REQUEST.resources, (resourceSpans) =>
    forEachLen(resourceSpans, RESOURCE_DATA.scopes, (scopeSpans) => {
      // Spans need their scope's name only for derived events.
      const scope = out.spans ? scopeName(scopeSpans.at(scopeSpans.pos, scopeSpans.end)) : '';
      forEachLen(scopeSpans, SCOPE_DATA.items, (span) => readSpan(span, out, filter, identities, scope, scratch));
    }),
  );
  return out;
}

/**
 * Bounds ([start, end, start, end, ...]) of a span's events and of one event's attributes,
 * reused across the spans of a request: most spans carry events we skip, so no objects per field.
 */
interface SpanScratch {
  events: number[];
  attributes: number[];
}

/** ScopeSpans.scope.name. */
function scopeName(r: Reader): string {
  let name = '';
  forEachLen(r, SCOPE_DATA.scope, (scope) => {
    while (!scope.done) {
      const { field, wire } = scope.tag();
      if (field === INSTRUMENTATION_SCOPE.name && wire === WIRE_LEN) name = scope.string();
      else scope.skip(wire);
    }
  });
  return name;
}

export function decodeLogsProto(buf: Uint8Array, filter: DecodeFilter): DecodedRequest {
  const out: DecodedRequest = { events: [], records: 0 };
  const identities = new RequestIdentities();
  forEachLen(new ProtoReader(buf), EXPORT_REQUEST.resources, (resourceLogs) =>
    forEachLen(resourceLogs, RESOURCE_DATA.scopes, (scopeLogs) =>
      forEachLen(scopeLogs, SCOPE_DATA.items, (record) => readLogRecord(record, out, filter, identities)),
    ),
  );
  return out;
}

/** Call `fn` with a sub-reader for every occurrence of length-delimited field `field`; skip the rest. */
function forEachLen(r: Reader, field: number, fn: (sub: Reader) => void): void {
  while (!r.done) {
    const tag = r.tag();
    if (tag.field === field) {
      r.expect(tag.wire, WIRE_LEN, `field ${field}`);
      fn(r.sub());
    } else {
      r.skip(tag.wire);
    }
  }
}

function readSpan(
  r: Reader,
  out: DecodedRequest,
  filter: DecodeFilter,
  identities: RequestIdentities,
  scope: string,
  scratch: SpanScratch,
): void {
  const record = out.records++;
  const start = r.pos;
  const end = r.end;
  let traceStart = -1;
  let traceEnd = -1;
  let spanStart = -1;
  let spanEnd = -1;
  const events = scratch.events;
  events.length = 0;
  while (!r.done) {
    const tag = r.rawTag();
    const field = tag >>> 3;
    if (field === SPAN.traceId || field === SPAN.spanId || field === SPAN.events) {
      r.expect(tag & 7, WIRE_LEN, 'span field');
      r.skipLen();
      if (field === SPAN.traceId) {
        traceStart = r.lenStart;
        traceEnd = r.lenEnd;
      } else if (field === SPAN.spanId) {
        spanStart = r.lenStart;
        spanEnd = r.lenEnd;
      } else events.push(r.lenStart, r.lenEnd);
    } else {
      r.skip(tag & 7);
    }
  }
  let prefix: string | undefined | null = null;
  // Made once per span, on first need: most spans carry no event we read.
  let traceText: string | undefined;
  if (out.spans) {
    traceText = idText(r.buf, traceStart, traceEnd);
    prefix = identities.span(traceText, idText(r.buf, spanStart, spanEnd));
    const facts = readSpanFacts(r.at(start, end), filter.spanAttributes!, scope, traceText);
    out.spans.push({ facts, id: prefix });
  }
  const attributes = scratch.attributes;
  // The span's own reader is spent: it is pointed at each event in turn.
  for (let index = 0; index < events.length / 2; index++) {
    r.pos = events[2 * index]!;
    r.end = events[2 * index + 1]!;
    let timeMs = 0;
    let name = '';
    attributes.length = 0;
    while (!r.done) {
      const tag = r.rawTag();
      const field = tag >>> 3;
      if (field === SPAN_EVENT.timeUnixNano) {
        r.expect(tag & 7, WIRE_FIXED64, 'event time');
        timeMs = r.fixed64Millis();
      } else if (field === SPAN_EVENT.name) {
        r.expect(tag & 7, WIRE_LEN, 'event name');
        name = r.string();
      } else if (field === SPAN_EVENT.attributes) {
        r.expect(tag & 7, WIRE_LEN, 'event attribute');
        r.skipLen();
        attributes.push(r.lenStart, r.lenEnd);
      } else {
        r.skip(tag & 7);
      }
    }
    if (!filter.isCandidateName(name)) continue;
    traceText ??= idText(r.buf, traceStart, traceEnd);
    if (prefix === null) prefix = identities.span(traceText, idText(r.buf, spanStart, spanEnd));
    const id = prefix === undefined ? undefined : prefix + index;
    out.events.push({
      name,
      timeMs,
      attributes: readAttributes(r, attributes, filter.eventAttributes),
      id,
      traceId: traceText,
      record,
    });
  }
}

function readLogRecord(r: Reader, out: DecodedRequest, filter: DecodeFilter, identities: RequestIdentities): void {
  const record = out.records++;
  let time = ZERO;
  let observed = ZERO;
  let name = '';
  let traceId: Range | undefined;
  let spanId: Range | undefined;
  let body: Range | undefined;
  const attributes: number[] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case LOG_RECORD.body:
        r.expect(wire, WIRE_LEN, 'log body');
        body = r.bytes();
        break;
      case LOG_RECORD.timeUnixNano:
        r.expect(wire, WIRE_FIXED64, 'log time');
        time = r.fixed64();
        break;
      case LOG_RECORD.observedTimeUnixNano:
        r.expect(wire, WIRE_FIXED64, 'log observed time');
        observed = r.fixed64();
        break;
      case LOG_RECORD.attributes:
        r.expect(wire, WIRE_LEN, 'log attribute');
        r.skipLen();
        attributes.push(r.lenStart, r.lenEnd);
        break;
      case LOG_RECORD.traceId:
        r.expect(wire, WIRE_LEN, 'log trace id');
        traceId = r.bytes();
        break;
      case LOG_RECORD.spanId:
        r.expect(wire, WIRE_LEN, 'log span id');
        spanId = r.bytes();
        break;
      case LOG_RECORD.eventName:
        r.expect(wire, WIRE_LEN, 'log event name');
        name = r.string();
        break;
      default:
        r.skip(wire);
    }
  }
  if (!filter.isCandidateName(name)) return;
  // OTLP: a record without a time takes its observed time.
  const when = time.hi === 0 && time.lo === 0 ? observed : time;
  const names = filter.logAttributes;
  const decoded = withBodyFields(
    readAttributes(r, attributes, names),
    body ? readBodyFields(r, body, names) : undefined,
  );
  const trace = idText(r.buf, traceId?.start ?? -1, traceId?.end ?? -1);
  const id = identities.logRecord(
    trace,
    idText(r.buf, spanId?.start ?? -1, spanId?.end ?? -1),
    `${time.hi}.${time.lo}`,
    `${observed.hi}.${observed.lo}`,
    name,
    decoded,
  );
  out.events.push({ name, timeMs: nanosHalvesToMs(when.hi, when.lo), attributes: decoded, id, traceId: trace, record });
}

const ZERO = { hi: 0, lo: 0 };

/** What derived-event rules read of a span: name, kind, times, attributes, status code, tracestate. */
function readSpanFacts(r: Reader, wanted: WantedKeys, scope: string, traceId: string): SpanFacts {
  let name = '';
  let traceState = '';
  let kind = 0;
  let start = ZERO;
  let end = ZERO;
  let status = 0;
  const attributes: number[] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === SPAN.name && wire === WIRE_LEN) name = r.string();
    else if (field === SPAN.traceState && wire === WIRE_LEN) traceState = r.string();
    else if (field === SPAN.kind && wire === WIRE_VARINT) kind = r.varint();
    else if (field === SPAN.startTimeUnixNano && wire === WIRE_FIXED64) start = r.fixed64();
    else if (field === SPAN.endTimeUnixNano && wire === WIRE_FIXED64) end = r.fixed64();
    else if (field === SPAN.attributes && wire === WIRE_LEN) {
      r.skipLen();
      attributes.push(r.lenStart, r.lenEnd);
    } else if (field === SPAN.status && wire === WIRE_LEN) {
      const st = r.sub();
      while (!st.done) {
        const t = st.tag();
        if (t.field === STATUS.code && t.wire === WIRE_VARINT) status = st.varint();
        else st.skip(t.wire);
      }
    } else r.skip(wire);
  }
  return {
    traceId,
    name,
    kind: OTLP_SPAN_KINDS[kind],
    scope,
    status: OTLP_STATUS_CODES[status] ?? 'unset',
    // Exact below 2^53 ns: the halves' differences are small integers.
    durationNanos: (end.hi - start.hi) * 4294967296 + (end.lo - start.lo),
    endMs: nanosHalvesToMs(end.hi, end.lo),
    attributes: readAttributes(r, attributes, wanted),
    traceState,
  };
}

/** A log body that is a kvlist, as a map of its wanted top-level entries; undefined for any other body. */
function readBodyFields(r: Reader, body: Range, wanted: WantedKeys): Record<string, unknown> | undefined {
  const value = r.at(body.start, body.end);
  let fields: Record<string, unknown> | undefined;
  while (!value.done) {
    const tag = value.rawTag();
    if (tag >>> 3 === ANY_VALUE.kvlistValue && (tag & 7) === WIRE_LEN) {
      value.skipLen();
      const list = value.at(value.lenStart, value.lenEnd);
      fields = {};
      while (!list.done) {
        const entry = list.rawTag();
        if (entry >>> 3 === LIST_VALUES && (entry & 7) === WIRE_LEN) {
          list.skipLen();
          readTopKeyValue(list, list.lenStart, list.lenEnd, fields, wanted);
        } else {
          list.skip(entry & 7);
        }
      }
    } else {
      value.skip(tag & 7);
    }
  }
  return fields;
}

/** Top-level attributes whose key is wanted; the values of the others are skipped, not decoded. */
function readAttributes(r: Reader, bounds: readonly number[], wanted: WantedKeys): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (let i = 0; i < bounds.length; i += 2) readTopKeyValue(r, bounds[i]!, bounds[i + 1]!, attributes, wanted);
  return attributes;
}

/** A top-level KeyValue read in place (no sub-reader): key matched as bytes, value decoded only if wanted. */
function readTopKeyValue(
  r: Reader,
  start: number,
  end: number,
  into: Record<string, unknown>,
  wanted: WantedKeys,
): void {
  const saved = r.pos;
  const savedEnd = r.end;
  r.end = end;
  r.pos = start;
  let key: string | undefined = '';
  let valueStart = -1;
  let valueEnd = -1;
  try {
    while (!r.done) {
      const tag = r.rawTag();
      const field = tag >>> 3;
      if (field === KEY_VALUE.key) {
        r.expect(tag & 7, WIRE_LEN, 'attribute key');
        r.skipLen();
        key = wanted.match(r.buf, r.lenStart, r.lenEnd);
      } else if (field === KEY_VALUE.value) {
        r.expect(tag & 7, WIRE_LEN, 'attribute value');
        r.skipLen();
        valueStart = r.lenStart;
        valueEnd = r.lenEnd;
      } else {
        r.skip(tag & 7);
      }
    }
    if (key === undefined) return;
    if (valueStart < 0) {
      into[key] = null;
      return;
    }
    // The value, read by the same reader (no sub-reader per attribute).
    r.pos = valueStart;
    r.end = valueEnd;
    into[key] = readAnyValue(r, 0);
  } finally {
    r.end = savedEnd;
    r.pos = saved;
  }
}

/** A nested KeyValue (inside a kvlist value). */
function readKeyValue(r: Reader, into: Record<string, unknown>, depth: number): void {
  let key = '';
  let value: unknown = null;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === KEY_VALUE.key) {
      r.expect(wire, WIRE_LEN, 'attribute key');
      key = r.string();
    } else if (field === KEY_VALUE.value) {
      r.expect(wire, WIRE_LEN, 'attribute value');
      value = readAnyValue(r.sub(), depth);
    } else {
      r.skip(wire);
    }
  }
  into[key] = value;
}

function readAnyValue(r: Reader, depth: number): unknown {
  if (depth > MAX_ANY_VALUE_DEPTH) return TOO_DEEP;
  let value: unknown = null;
  while (!r.done) {
    const tag = r.rawTag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case ANY_VALUE.stringValue:
        r.expect(wire, WIRE_LEN, 'string value');
        value = r.string();
        break;
      case ANY_VALUE.boolValue:
        r.expect(wire, WIRE_VARINT, 'bool value');
        value = r.varint() !== 0;
        break;
      case ANY_VALUE.intValue: {
        r.expect(wire, WIRE_VARINT, 'int value');
        // Past 2^53 a number would round: kept exact (a bigint), written as the same digits.
        value = r.int64();
        break;
      }
      case ANY_VALUE.doubleValue:
        r.expect(wire, WIRE_FIXED64, 'double value');
        value = r.double();
        break;
      case ANY_VALUE.arrayValue: {
        r.expect(wire, WIRE_LEN, 'array value');
        const items: unknown[] = [];
        forEachLen(r.sub(), LIST_VALUES, (item) => items.push(readAnyValue(item, depth + 1)));
        value = items;
        break;
      }
      case ANY_VALUE.kvlistValue: {
        r.expect(wire, WIRE_LEN, 'kvlist value');
        // No prototype: a key such as "__proto__" is data like any other.
        const map: Record<string, unknown> = Object.create(null);
        forEachLen(r.sub(), LIST_VALUES, (kv) => readKeyValue(kv, map, depth + 1));
        value = map;
        break;
      }
      case ANY_VALUE.bytesValue: {
        r.expect(wire, WIRE_LEN, 'bytes value');
        const { start, end } = r.bytes();
        value = r.buf.slice(start, end);
        break;
      }
      default:
        r.skip(wire);
    }
  }
  return value;
}

/** A trace or span id, its raw bytes as latin1 (decode-json.ts turns hex ids into the same form). */
function idText(buf: Uint8Array, start: number, end: number): string {
  if (start < 0) return '';
  if (Buffer.isBuffer(buf)) return buf.toString('latin1', start, end);
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}
