/**
 * OTLP JSON (proto3 JSON mapping) to OtlpEvents: lowerCamelCase keys, hex trace/span ids, 64-bit
 * integers as decimal strings (numbers accepted, kept exact), unknown fields ignored.
 */
import { Buffer } from 'node:buffer';
import { withBodyFields } from '../convert/converter.js';
import type { DecodeFilter } from './decode-filter.js';
import { RequestIdentities } from './event-identity.js';
import type { SpanFacts } from '../convert/derived-rules.js';
import {
  MAX_ANY_VALUE_DEPTH,
  nanosId,
  nanosToMs,
  OTLP_SPAN_KINDS,
  OTLP_STATUS_CODES,
  OtlpDecodeError,
  TOO_DEEP,
  type DecodedRequest,
} from './otlp-event.js';

type Json = Record<string, unknown>;

const BIG_FIELDS = new Set(['timeUnixNano', 'observedTimeUnixNano', 'intValue']);

/**
 * JSON.parse keeping 64-bit fields exact: numbers past 2^53 are read from their source text. The
 * reviver recurses, so a body nested deeper than the stack allows (legal, if odd) is parsed
 * without it: only 64-bit fields sent as JSON numbers, rather than strings, may then round.
 */
function parse(text: string): unknown {
  try {
    return JSON.parse(text, (key, value, context?: { source?: string }) =>
      BIG_FIELDS.has(key) && typeof value === 'number' && context?.source ? context.source : value,
    );
  } catch (error) {
    if (error instanceof RangeError) return parsePlain(text);
    throw new OtlpDecodeError(`body is not valid JSON: ${(error as Error).message}`);
  }
}

function parsePlain(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OtlpDecodeError(`body is not valid JSON: ${(error as Error).message}`);
  }
}

export function decodeTracesJson(text: string, filter: DecodeFilter): DecodedRequest {
  const out: DecodedRequest = { events: [], records: 0, ...(filter.spanAttributes ? { spans: [] } : {}) };
  const identities = new RequestIdentities();
  for (const resource of list(object(parse(text), 'request').resourceSpans, 'resourceSpans')) {
    for (const scope of list(object(resource, 'resourceSpans[]').scopeSpans, 'scopeSpans')) {
      const scopeSpans = object(scope, 'scopeSpans[]');
      const scopeName =
        out.spans && scopeSpans.scope ? optionalString(object(scopeSpans.scope, 'scope').name, 'scope name') : '';
      for (const span of list(scopeSpans.spans, 'spans')) {
        const s = object(span, 'span');
        const record = out.records++;
        const events = list(s.events, 'events');
        const traceId = rawFromHex(hexId(s.traceId, 'traceId'));
        let prefix: string | undefined | null = null;
        if (out.spans) {
          prefix = identities.span(traceId, rawFromHex(hexId(s.spanId, 'spanId')));
          out.spans.push({ facts: spanFacts(s, filter.spanAttributes!.names, scopeName, traceId), id: prefix });
        }
        events.forEach((event, index) => {
          const e = object(event, 'event');
          const name = str(e.name, 'event name');
          if (!filter.isCandidateName(name)) return;
          const time = nanos(e.timeUnixNano, 'event timeUnixNano');
          if (prefix === null) prefix = identities.span(traceId, rawFromHex(hexId(s.spanId, 'spanId')));
          const id = prefix === undefined ? undefined : prefix + index;
          out.events.push({
            name,
            timeMs: nanosToMs(time),
            attributes: attributes(e.attributes, filter.eventAttributes.names),
            id,
            traceId,
            record,
          });
        });
      }
    }
  }
  return out;
}

export function decodeLogsJson(text: string, filter: DecodeFilter): DecodedRequest {
  const out: DecodedRequest = { events: [], records: 0 };
  const identities = new RequestIdentities();
  const names = filter.logAttributes.names;
  for (const resource of list(object(parse(text), 'request').resourceLogs, 'resourceLogs')) {
    for (const scope of list(object(resource, 'resourceLogs[]').scopeLogs, 'scopeLogs')) {
      for (const logRecord of list(object(scope, 'scopeLogs[]').logRecords, 'logRecords')) {
        const l = object(logRecord, 'logRecord');
        const record = out.records++;
        const name = l.eventName === undefined ? '' : str(l.eventName, 'eventName');
        if (!filter.isCandidateName(name)) continue;
        const time = nanos(l.timeUnixNano, 'timeUnixNano');
        const observed = nanos(l.observedTimeUnixNano, 'observedTimeUnixNano');
        const decoded = withBodyFields(attributes(l.attributes, names), bodyFields(l.body, names));
        const traceId = rawFromHex(hexId(l.traceId, 'traceId'));
        const id = identities.logRecord(
          traceId,
          rawFromHex(hexId(l.spanId, 'spanId')),
          nanosId(time),
          nanosId(observed),
          name,
          decoded,
        );
        out.events.push({
          name,
          timeMs: nanosToMs(time === 0n ? observed : time),
          attributes: decoded,
          id,
          traceId,
          record,
        });
      }
    }
  }
  return out;
}

/** What derived-event rules read of a span (OTLP/JSON enums may be numbers or their names). */
function spanFacts(s: Json, wanted: ReadonlySet<string>, scope: string, traceId: string): SpanFacts {
  const start = nanos(s.startTimeUnixNano, 'startTimeUnixNano');
  const end = nanos(s.endTimeUnixNano, 'endTimeUnixNano');
  const status = s.status === undefined || s.status === null ? {} : object(s.status, 'status');
  return {
    traceId,
    name: optionalString(s.name, 'span name'),
    kind: OTLP_SPAN_KINDS[enumNumber(s.kind, SPAN_KIND_NAMES)],
    scope,
    status: OTLP_STATUS_CODES[enumNumber(status.code, STATUS_CODE_NAMES)] ?? 'unset',
    durationNanos: Number(end - start),
    endMs: nanosToMs(end),
    attributes: attributes(s.attributes, wanted),
    traceState: optionalString(s.traceState, 'traceState'),
  };
}

const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

function enumNumber(value: unknown, names: readonly string[]): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && names.includes(value)) return names.indexOf(value);
  throw new OtlpDecodeError(`an enum must be a number or one of ${names.join(', ')}`);
}

function optionalString(value: unknown, what: string): string {
  return value === undefined || value === null ? '' : str(value, what);
}

/** A log body that is a kvlist, as a map; undefined for any other body. */
function bodyFields(value: unknown, wanted: ReadonlySet<string>): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || !('kvlistValue' in value)) return undefined;
  const map: Record<string, unknown> = {};
  for (const kv of list(object((value as Json).kvlistValue, 'kvlistValue').values, 'kvlistValue.values')) {
    const entry = object(kv, 'kvlist entry');
    const key = str(entry.key, 'kvlist key');
    if (wanted.has(key)) map[key] = anyValue(entry.value, 1);
  }
  return map;
}

/** The wanted attributes; the values of the others are not looked at. */
function attributes(value: unknown, wanted: ReadonlySet<string>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const kv of list(value, 'attributes')) {
    const entry = object(kv, 'attribute');
    const key = str(entry.key, 'attribute key');
    if (wanted.has(key)) result[key] = anyValue(entry.value, 0);
  }
  return result;
}

function anyValue(value: unknown, depth: number): unknown {
  if (depth > MAX_ANY_VALUE_DEPTH) return TOO_DEEP;
  if (value === undefined || value === null) return null;
  const v = object(value, 'AnyValue');
  if ('stringValue' in v) return str(v.stringValue, 'stringValue');
  if ('boolValue' in v) {
    if (typeof v.boolValue !== 'boolean') throw new OtlpDecodeError('boolValue must be a boolean');
    return v.boolValue;
  }
  if ('intValue' in v) {
    const big = integer(v.intValue, 'intValue');
    return Number.isSafeInteger(Number(big)) ? Number(big) : big;
  }
  if ('doubleValue' in v) {
    // proto3 JSON writes NaN and infinities as strings.
    const d = v.doubleValue;
    if (typeof d === 'number') return d;
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return Number(d);
    throw new OtlpDecodeError('doubleValue must be a number');
  }
  if ('arrayValue' in v)
    return list(object(v.arrayValue, 'arrayValue').values, 'arrayValue.values').map((item) =>
      anyValue(item, depth + 1),
    );
  if ('kvlistValue' in v) {
    // No prototype: a key such as "__proto__" is data like any other.
    const map: Record<string, unknown> = Object.create(null);
    for (const kv of list(object(v.kvlistValue, 'kvlistValue').values, 'kvlistValue.values')) {
      const entry = object(kv, 'kvlist entry');
      map[str(entry.key, 'kvlist key')] = anyValue(entry.value, depth + 1);
    }
    return map;
  }
  if ('bytesValue' in v) return new Uint8Array(Buffer.from(str(v.bytesValue, 'bytesValue'), 'base64'));
  return null;
}

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new OtlpDecodeError(`${what} must be an object`);
  return value as Json;
}

function list(value: unknown, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpDecodeError(`${what} must be an array`);
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new OtlpDecodeError(`${what} must be a string`);
  return value;
}

function integer(value: unknown, what: string): bigint {
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw new OtlpDecodeError(`${what} must be an integer (a decimal string)`);
}

function nanos(value: unknown, what: string): bigint {
  if (value === undefined || value === null) return 0n;
  const n = integer(value, what);
  if (n < 0n || n >= 1n << 64n) throw new OtlpDecodeError(`${what} out of range`);
  return n;
}

/** The protobuf decoder's identity form of an id: raw bytes as latin1. */
function rawFromHex(hex: string): string {
  return Buffer.from(hex, 'hex').toString('latin1');
}

function hexId(value: unknown, what: string): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string' || !/^[0-9a-fA-F]*$/.test(value) || value.length % 2 !== 0)
    throw new OtlpDecodeError(`${what} must be hex`);
  return value.toLowerCase();
}
