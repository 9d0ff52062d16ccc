/**
 * Bring SDK spans and log records to the converter's SourceEvent shape (and spans to the derived
 * events' SpanFacts). Structural types, so the exporters work with OpenTelemetry JS SDK 2.x and
 * 3.x alike.
 */
import { withBodyFields, type Converter, type ConversionOutcome, type SourceEvent } from './converter.js';
import type { DerivedEvent, DerivedEvents } from './derived-events.js';
import type { SpanFacts, SpanKindName, SpanStatusName } from './derived-rules.js';

/** `[seconds, nanoseconds]`, as the SDKs of both lines keep times. */
type HrTime = readonly [number, number];

/** What the span exporter reads of a ReadableSpan (OTel JS 2.x and 3.x). */
export interface SpanLike {
  readonly events: readonly { name: string; time: HrTime; attributes?: Readonly<Record<string, unknown>> }[];
  readonly droppedEventsCount?: number;
  // Read for derived events only.
  readonly name?: string;
  /** The SDK's SpanKind: 0 internal, 1 server, 2 client, 3 producer, 4 consumer. */
  readonly kind?: number;
  readonly startTime?: HrTime;
  readonly endTime?: HrTime;
  readonly status?: { code: number };
  readonly attributes?: Readonly<Record<string, unknown>>;
  readonly instrumentationScope?: { name: string };
  spanContext?(): { traceId: string; spanId: string };
}

/** What the log record exporter reads of a ReadableLogRecord (OTel JS 2.x and 3.x). */
export interface LogRecordLike {
  readonly eventName?: string;
  readonly hrTime: HrTime;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly body?: unknown;
  /** Its trace, for derived events: an evaluation recorded as a log counts for the trace's spans. */
  readonly spanContext?: { traceId: string };
}

export function hrTimeToMs(time: HrTime): number {
  return time[0] * 1000 + Math.floor(time[1] / 1e6);
}

/**
 * Convert every candidate event of the spans, in order; with derived events, then derive from
 * the spans (after all of the batch's evaluations are known).
 */
export function convertSpans(
  converter: Converter,
  spans: readonly SpanLike[],
  onOutcome: (outcome: ConversionOutcome) => void,
  derived?: DerivedEvents,
  onDerived?: (event: DerivedEvent) => void,
): void {
  const join = derived && onDerived ? derived : undefined;
  for (const span of spans) {
    for (const event of span.events) {
      if (!converter.isCandidateName(event.name)) continue;
      const source: SourceEvent = { name: event.name, timeMs: hrTimeToMs(event.time), attributes: event.attributes ?? {} };
      const outcome = converter.convert(source);
      onOutcome(outcome);
      if (join && outcome.kind === 'impression') {
        for (const waiting of join.noteContext(span.spanContext?.().traceId ?? '', outcome.item.context.key, outcome.contextText)) onDerived!(waiting);
      }
    }
  }
  if (!join || join.rules.length === 0) return;
  for (const span of spans) {
    const facts = spanFacts(span);
    if (facts) for (const event of join.derive(facts, span.spanContext!().spanId)) onDerived!(event);
  }
}

const SDK_KINDS: readonly SpanKindName[] = ['internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES: readonly SpanStatusName[] = ['unset', 'ok', 'error'];

/** What rules read of an SDK span; undefined for a span without ids or times. */
export function spanFacts(span: SpanLike): SpanFacts | undefined {
  const ids = span.spanContext?.();
  if (!ids || !span.startTime || !span.endTime) return undefined;
  return {
    traceId: ids.traceId,
    name: span.name ?? '',
    kind: SDK_KINDS[span.kind ?? -1],
    scope: span.instrumentationScope?.name ?? '',
    status: STATUSES[span.status?.code ?? 0] ?? 'unset',
    durationNanos: (span.endTime[0] - span.startTime[0]) * 1e9 + (span.endTime[1] - span.startTime[1]),
    endMs: hrTimeToMs(span.endTime),
    attributes: span.attributes ?? {},
  };
}

export function convertLogRecords(
  converter: Converter,
  records: readonly LogRecordLike[],
  onOutcome: (outcome: ConversionOutcome) => void,
  derived?: DerivedEvents,
  onDerived?: (event: DerivedEvent) => void,
): void {
  for (const record of records) {
    if (!converter.isCandidateName(record.eventName)) continue;
    const outcome = converter.convert({ name: record.eventName!, timeMs: hrTimeToMs(record.hrTime), attributes: withBodyFields(record.attributes, record.body) });
    onOutcome(outcome);
    if (derived && onDerived && outcome.kind === 'impression' && record.spanContext) {
      for (const waiting of derived.noteContext(record.spanContext.traceId, outcome.item.context.key, outcome.contextText)) onDerived(waiting);
    }
  }
}
