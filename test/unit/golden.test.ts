/**
 * The conversion contract: testdata/golden/*.json, shared with the Go component's tests
 * (collector/flagsyncexporter). Each case's OTLP/JSON request must give exactly its FlagSync items
 * (as JSON text), rejection reasons and damaged count, through the service's OTLP decoders and
 * through the in-process exporters' SDK-shaped sources alike.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createConverter, type ConversionOutcome, type ConverterOptions } from '../../src/convert/converter.js';
import { convertLogRecords, convertSpans, type LogRecordLike, type SpanLike } from '../../src/convert/sources.js';
import { decodeLogsJson, decodeTracesJson } from '../../src/otlp/decode-json.js';

interface GoldenCase {
  name: string;
  converter?: ConverterOptions;
  signal: 'traces' | 'logs';
  request: OtlpRequest;
  expect: Outcomes;
}
interface Outcomes {
  impressions: string[];
  events: string[];
  rejected: string[];
  damaged: number;
}
type AnyValueJson = Record<string, unknown>;
type KeyValueJson = { key: string; value: AnyValueJson };
interface OtlpRequest {
  resourceSpans?: { scopeSpans: { spans: { events: { name: string; timeUnixNano: string; attributes: KeyValueJson[] }[] }[] }[] }[];
  resourceLogs?: { scopeLogs: { logRecords: { eventName: string; timeUnixNano: string; observedTimeUnixNano: string; attributes: KeyValueJson[]; body?: AnyValueJson }[] }[] }[];
}

const dir = new URL('../../testdata/golden/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

function collect(run: (onOutcome: (o: ConversionOutcome) => void) => void): Outcomes {
  const out: Outcomes = { impressions: [], events: [], rejected: [], damaged: 0 };
  run((o) => {
    if (o.kind === 'impression') out.impressions.push(o.json);
    else if (o.kind === 'event') out.events.push(o.json);
    else if (o.kind === 'rejected') out.rejected.push(o.reason);
    else if (o.kind === 'damaged') out.damaged++;
  });
  return out;
}

/** An OTLP/JSON AnyValue as the OTel JS SDK holds attribute values. */
function jsValue(v: AnyValueJson | undefined): unknown {
  if (!v || Object.keys(v).length === 0) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number.isSafeInteger(Number(v.intValue)) ? Number(v.intValue) : BigInt(v.intValue as string);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return ((v.arrayValue as { values?: AnyValueJson[] }).values ?? []).map(jsValue);
  if ('kvlistValue' in v) return jsAttributes((v.kvlistValue as { values?: KeyValueJson[] }).values ?? []);
  if ('bytesValue' in v) return new Uint8Array(Buffer.from(v.bytesValue as string, 'base64'));
  return null;
}
function jsAttributes(list: KeyValueJson[]): Record<string, unknown> {
  return Object.fromEntries(list.map((kv) => [kv.key, jsValue(kv.value)]));
}
const hrTime = (nanos: string): [number, number] => [Number(BigInt(nanos) / 1_000_000_000n), Number(BigInt(nanos) % 1_000_000_000n)];

describe.each(files)('golden vectors: %s', (file) => {
  const cases = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as GoldenCase[];

  it.each(cases.map((c) => [c.name, c] as const))('%s (OTLP decoder, as the service)', (_name, c) => {
    const converter = createConverter(c.converter);
    const decoded = (c.signal === 'traces' ? decodeTracesJson : decodeLogsJson)(JSON.stringify(c.request), converter);
    expect(collect((on) => decoded.events.forEach((e) => on(converter.convert(e))))).toEqual(c.expect);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s (SDK spans and log records, as the in-process exporters)', (_name, c) => {
    const converter = createConverter(c.converter);
    if (c.signal === 'traces') {
      const spans: SpanLike[] = c.request.resourceSpans!.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).map((span) => ({
        events: span.events.map((e) => ({ name: e.name, time: hrTime(e.timeUnixNano), attributes: jsAttributes(e.attributes) })),
      }));
      expect(collect((on) => convertSpans(converter, spans, on))).toEqual(c.expect);
    } else {
      const records: LogRecordLike[] = c.request.resourceLogs!.flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords)).map((record) => ({
        eventName: record.eventName,
        // The SDK gives every record a time: a record without one takes its observed time.
        hrTime: hrTime(record.timeUnixNano === '0' ? record.observedTimeUnixNano : record.timeUnixNano),
        attributes: jsAttributes(record.attributes),
        body: jsValue(record.body),
      }));
      expect(collect((on) => convertLogRecords(converter, records, on))).toEqual(c.expect);
    }
  });
});
