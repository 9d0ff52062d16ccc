/**
 * The conversion contract: testdata/golden/*.json, shared with the Go component's tests
 * (collector/flagsyncexporter). Each case's OTLP/JSON request must give exactly its FlagSync items
 * (as JSON text), rejection reasons and damaged count, through the in-process exporters' SDK-shaped
 * sources (the Go component reads the same requests as the collector decodes them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createConverter, type ConversionOutcome, type ConverterOptions } from '../../src/convert/converter.js';
import { createDerivedEvents, TraceContexts, type DerivedEventsConfig } from '../../src/convert/derived-events.js';
import { convertLogRecords, convertSpans, type LogRecordLike, type SpanLike } from '../../src/convert/sources.js';

interface GoldenCase {
  name: string;
  converter?: ConverterOptions & DerivedEventsConfig;
  signal: 'traces' | 'logs';
  request: OtlpRequest;
  expect: Outcomes;
}
interface Outcomes {
  impressions: string[];
  events: string[];
  rejected: string[];
  damaged: number;
  /** With derived-event rules: the events derived from spans. */
  derived?: string[];
  /** Cases about `flagsync.delivery`: events left to another deliverer. */
  elsewhere?: number;
}
type AnyValueJson = Record<string, unknown>;
type KeyValueJson = { key: string; value: AnyValueJson };
interface SpanJson {
  traceId: string;
  spanId: string;
  traceState?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValueJson[];
  status?: { code?: number };
  events: { name: string; timeUnixNano: string; attributes: KeyValueJson[] }[];
}
interface OtlpRequest {
  resourceSpans?: { scopeSpans: { scope?: { name: string }; spans: SpanJson[] }[] }[];
  resourceLogs?: {
    scopeLogs: {
      logRecords: {
        eventName: string;
        timeUnixNano: string;
        observedTimeUnixNano: string;
        attributes: KeyValueJson[];
        body?: AnyValueJson;
      }[];
    }[];
  }[];
}

const dir = new URL('../../testdata/golden/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

function collect(
  expected: Outcomes,
  run: (onOutcome: (o: ConversionOutcome) => void, onDerived: (json: string) => void) => void,
): Outcomes {
  const out: Outcomes = {
    impressions: [],
    events: [],
    rejected: [],
    damaged: 0,
    ...(expected.derived ? { derived: [] } : {}),
    ...(expected.elsewhere !== undefined ? { elsewhere: 0 } : {}),
  };
  run(
    (o) => {
      if (o.kind === 'impression') out.impressions.push(o.json);
      else if (o.kind === 'event') out.events.push(o.json);
      else if (o.kind === 'rejected') out.rejected.push(o.reason);
      else if (o.kind === 'damaged') out.damaged++;
      else if (o.kind === 'elsewhere' && out.elsewhere !== undefined) out.elsewhere++;
    },
    (json) => out.derived!.push(json),
  );
  return out;
}

/** An OTLP/JSON AnyValue as the OTel JS SDK holds attribute values. */
function jsValue(v: AnyValueJson | undefined): unknown {
  if (!v || Object.keys(v).length === 0) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v)
    return Number.isSafeInteger(Number(v.intValue)) ? Number(v.intValue) : BigInt(v.intValue as string);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return ((v.arrayValue as { values?: AnyValueJson[] }).values ?? []).map(jsValue);
  if ('kvlistValue' in v) return jsAttributes((v.kvlistValue as { values?: KeyValueJson[] }).values ?? []);
  if ('bytesValue' in v) return new Uint8Array(Buffer.from(v.bytesValue as string, 'base64'));
  return null;
}
function jsAttributes(list: KeyValueJson[]): Record<string, unknown> {
  return Object.fromEntries(list.map((kv) => [kv.key, jsValue(kv.value)]));
}
const hrTime = (nanos: string): [number, number] => [
  Number(BigInt(nanos) / 1_000_000_000n),
  Number(BigInt(nanos) % 1_000_000_000n),
];

describe.each(files)('golden vectors: %s', (file) => {
  const cases = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as GoldenCase[];

  it.each(cases.map((c) => [c.name, c] as const))(
    '%s (SDK spans and log records, as the in-process exporters)',
    (_name, c) => {
      const converter = createConverter(c.converter);
      const derived = createDerivedEvents(c.converter ?? {}, new TraceContexts());
      if (c.signal === 'traces') {
        const spans: SpanLike[] = c.request
          .resourceSpans!.flatMap((r) =>
            r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ span, scope: s.scope?.name ?? '' }))),
          )
          .map(({ span, scope }) => ({
            events: span.events.map((e) => ({
              name: e.name,
              time: hrTime(e.timeUnixNano),
              attributes: jsAttributes(e.attributes),
            })),
            // The SDK's SpanKind counts from internal = 0; OTLP's from unspecified = 0.
            name: span.name,
            kind: span.kind - 1,
            startTime: hrTime(span.startTimeUnixNano),
            endTime: hrTime(span.endTimeUnixNano),
            status: { code: span.status?.code ?? 0 },
            attributes: jsAttributes(span.attributes ?? []),
            instrumentationScope: { name: scope },
            spanContext: () => ({
              traceId: span.traceId,
              spanId: span.spanId,
              // The SDK's TraceState; its serialize() is the W3C header text OTLP carries.
              traceState: span.traceState ? { serialize: () => span.traceState! } : undefined,
            }),
          }));
        expect(
          collect(c.expect, (on, onDerived) => convertSpans(converter, spans, on, derived, (d) => onDerived(d.json))),
        ).toEqual(c.expect);
      } else {
        const records: LogRecordLike[] = c.request
          .resourceLogs!.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords))
          .map((record) => ({
            eventName: record.eventName,
            // The SDK gives every record a time: a record without one takes its observed time.
            hrTime: hrTime(record.timeUnixNano === '0' ? record.observedTimeUnixNano : record.timeUnixNano),
            attributes: jsAttributes(record.attributes),
            body: jsValue(record.body),
          }));
        expect(collect(c.expect, (on) => convertLogRecords(converter, records, on))).toEqual(c.expect);
      }
    },
  );
});
