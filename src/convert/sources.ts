/**
 * Bring SDK spans and log records to the converter's SourceEvent shape. Structural types, so the
 * exporters work with OpenTelemetry JS SDK 2.x and 3.x alike.
 */
import { withBodyFields, type Converter, type ConversionOutcome, type SourceEvent } from './converter.js';

/** `[seconds, nanoseconds]`, as the SDKs of both lines keep times. */
type HrTime = readonly [number, number];

/** What the span exporter reads of a ReadableSpan (OTel JS 2.x and 3.x). */
export interface SpanLike {
  readonly events: readonly { name: string; time: HrTime; attributes?: Readonly<Record<string, unknown>> }[];
  readonly droppedEventsCount?: number;
}

/** What the log record exporter reads of a ReadableLogRecord (OTel JS 2.x and 3.x). */
export interface LogRecordLike {
  readonly eventName?: string;
  readonly hrTime: HrTime;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly body?: unknown;
}

export function hrTimeToMs(time: HrTime): number {
  return time[0] * 1000 + Math.floor(time[1] / 1e6);
}

/** Convert every candidate event of the spans, in order. */
export function convertSpans(converter: Converter, spans: readonly SpanLike[], onOutcome: (outcome: ConversionOutcome) => void): void {
  for (const span of spans) {
    for (const event of span.events) {
      if (!converter.isCandidateName(event.name)) continue;
      const source: SourceEvent = { name: event.name, timeMs: hrTimeToMs(event.time), attributes: event.attributes ?? {} };
      onOutcome(converter.convert(source));
    }
  }
}

export function convertLogRecords(converter: Converter, records: readonly LogRecordLike[], onOutcome: (outcome: ConversionOutcome) => void): void {
  for (const record of records) {
    if (!converter.isCandidateName(record.eventName)) continue;
    onOutcome(converter.convert({ name: record.eventName!, timeMs: hrTimeToMs(record.hrTime), attributes: withBodyFields(record.attributes, record.body) }));
  }
}
