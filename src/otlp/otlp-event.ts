/** What the OTLP decoders produce: converter input plus what the service needs around it. */
import type { SourceEvent } from '../convert/converter.js';
import type { SpanFacts, SpanKindName, SpanStatusName } from '../convert/derived-rules.js';

interface OtlpEvent extends SourceEvent {
  /** Identity for duplicate removal (event-identity.ts); undefined when it has none. */
  id: string | undefined;
  /** Its trace id (raw bytes as latin1, '' when none), for derived events. */
  traceId: string;
  /** Index of the span or log record it came from in the request (partial-success counts). */
  record: number;
}

/** A span, for derived events (decoded only when rules are configured). */
interface OtlpSpan {
  facts: SpanFacts;
  /** The identity prefix of what is derived from it (event-identity.ts); undefined without valid ids. */
  id: string | undefined;
}

export interface DecodedRequest {
  events: OtlpEvent[];
  /** Spans or log records in the request. */
  records: number;
  /** With derived-event rules: every span, with the attributes the rules read. */
  spans?: OtlpSpan[];
}

/** OTLP's SpanKind numbers (proto and JSON): 1 internal ... 5 consumer; 0 unspecified. */
export const OTLP_SPAN_KINDS: readonly (SpanKindName | undefined)[] = [
  undefined,
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];
export const OTLP_STATUS_CODES: readonly SpanStatusName[] = ['unset', 'ok', 'error'];

export class OtlpDecodeError extends Error {
  override name = 'OtlpDecodeError';
}

/**
 * AnyValue nesting decoded; a deeper value becomes TOO_DEEP, which the converter refuses (as it
 * refuses any value nested deeper than 64, like the Go converter), so one such attribute costs at
 * most its own event, never the request.
 */
export const MAX_ANY_VALUE_DEPTH = 64;
export const TOO_DEEP: unique symbol = Symbol('flagsync-otel: value nested too deeply');

export function nanosToMs(nanos: bigint): number {
  return Number(nanos / 1_000_000n);
}

/** The id form of a nanosecond time: its two 32-bit halves, as the protobuf decoder reads them. */
export function nanosId(nanos: bigint): string {
  return `${Number(nanos >> 32n)}.${Number(nanos & 0xffffffffn)}`;
}
