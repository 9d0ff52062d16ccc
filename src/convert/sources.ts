/**
 * Bring SDK spans and log records to the converter's SourceEvent shape (and spans to the derived
 * events' SpanFacts). Structural types, so the exporters work with OpenTelemetry JS SDK 2.x and
 * 3.x alike.
 */
import {
  evaluatedContext,
  withBodyFields,
  type Converter,
  type ConversionOutcome,
  type SourceEvent,
} from './converter.js';
import type { DerivedEvent, DerivedEvents } from './derived-events.js';
import type { SpanFacts, SpanKindName, SpanStatusName } from './derived-rules.js';

/** `[seconds, nanoseconds]`, as the SDKs of both lines keep times. */
type HrTime = readonly [number, number];

/** What the span exporter reads of a ReadableSpan (OTel JS 2.x and 3.x). */
export interface SpanEventLike {
  readonly name: string;
  readonly time: HrTime;
  readonly attributes?: Readonly<Record<string, unknown>>;
}

export interface SpanLike {
  readonly events: readonly SpanEventLike[];
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
  spanContext?(): { traceId: string; spanId: string; traceState?: { serialize(): string } };
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

function hrTimeToMs(time: HrTime): number {
  return time[0] * 1000 + Math.floor(time[1] / 1e6);
}

/**
 * Convert every candidate event of the spans, in order; with derived events, then derive from
 * the spans (after all of the batch's evaluations are known).
 */
export function convertSpans(
  converter: Converter,
  spans: readonly SpanLike[],
  /** With the span and the event object it came from (the exporters look up the call's receipt by them). */
  onOutcome: (outcome: ConversionOutcome, span: SpanLike, event: SpanEventLike) => void,
  derived?: DerivedEvents,
  onDerived?: (event: DerivedEvent) => void,
): void {
  const join = derived?.traces.active && onDerived ? derived : undefined;
  join?.traces.tick();
  for (const span of spans) {
    // One call's several evaluations come in a row: note their context once per span.
    let noted: string | undefined;
    for (const event of span.events) {
      if (!converter.isCandidateName(event.name)) continue;
      const source: SourceEvent = {
        name: event.name,
        timeMs: hrTimeToMs(event.time),
        attributes: event.attributes ?? {},
      };
      const outcome = converter.convert(source);
      onOutcome(outcome, span, event);
      const evaluated = join && evaluatedContext(outcome);
      if (evaluated && evaluated.text !== noted) {
        noted = evaluated.text;
        for (const waiting of join.noteContext(span.spanContext?.().traceId ?? '', evaluated.key, evaluated.text))
          onDerived!(waiting);
      }
    }
  }
  if (!join || join.rules.length === 0) return;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    // Most spans meet no rule: checked by kind and name before anything is built.
    const rules = join.rulesFor(SDK_KINDS[span.kind ?? -1], span.name ?? '');
    if (rules.length === 0) continue;
    const ids = span.spanContext?.();
    if (!ids || !span.startTime || !span.endTime) continue;
    const events = join.derive(new SdkSpanFacts(span, ids.traceId, ids.traceState), ids.spanId, rules);
    for (let e = 0; e < events.length; e++) onDerived!(events[e]!);
  }
}

const SDK_KINDS: readonly SpanKindName[] = ['internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES: readonly SpanStatusName[] = ['unset', 'ok', 'error'];

/** An SDK span (with ids and times) read as SpanFacts; the times only when a rule asks. */
class SdkSpanFacts implements SpanFacts {
  constructor(
    private readonly _span: SpanLike,
    readonly traceId: string,
    private readonly _traceState: { serialize(): string } | undefined,
  ) {}
  get traceState(): string | undefined {
    return this._traceState?.serialize();
  }
  get name(): string {
    return this._span.name ?? '';
  }
  get kind(): SpanKindName | undefined {
    return SDK_KINDS[this._span.kind ?? -1];
  }
  get scope(): string {
    return this._span.instrumentationScope?.name ?? '';
  }
  get status(): SpanStatusName {
    return STATUSES[this._span.status?.code ?? 0] ?? 'unset';
  }
  get durationNanos(): number {
    const { startTime, endTime } = this._span as Required<Pick<SpanLike, 'startTime' | 'endTime'>>;
    return (endTime[0] - startTime[0]) * 1e9 + (endTime[1] - startTime[1]);
  }
  get endMs(): number {
    return hrTimeToMs(this._span.endTime!);
  }
  get attributes(): Readonly<Record<string, unknown>> {
    return this._span.attributes ?? {};
  }
}

export function convertLogRecords(
  converter: Converter,
  records: readonly LogRecordLike[],
  onOutcome: (outcome: ConversionOutcome, record: LogRecordLike) => void,
  derived?: DerivedEvents,
  onDerived?: (event: DerivedEvent) => void,
): void {
  if (derived?.traces.active) derived.traces.tick();
  for (const record of records) {
    if (!converter.isCandidateName(record.eventName)) continue;
    const outcome = converter.convert({
      name: record.eventName!,
      timeMs: hrTimeToMs(record.hrTime),
      attributes: withBodyFields(record.attributes, record.body),
    });
    onOutcome(outcome, record);
    const evaluated = derived && onDerived && record.spanContext && evaluatedContext(outcome);
    if (evaluated) {
      for (const waiting of derived.noteContext(record.spanContext!.traceId, evaluated.key, evaluated.text))
        onDerived!(waiting);
    }
  }
}
