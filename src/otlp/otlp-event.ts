/** What the OTLP decoders produce: converter input plus what the service needs around it. */
import { ATTR_FLAGSYNC_CALL_ID } from '../conventions.js';
import type { SourceEvent } from '../convert/converter.js';

export interface OtlpEvent extends SourceEvent {
  /**
   * Stable identity, the same when the collector sends the request again: span events by trace
   * id, span id and index (a span is immutable once exported); log records by trace id, span id,
   * times, name and call id. Short keys: every event's identity is hashed.
   */
  id: string;
  /** Index of the span or log record it came from in the request (partial-success counts). */
  record: number;
}

export interface DecodedRequest {
  events: OtlpEvent[];
  /** Spans or log records in the request. */
  records: number;
}

export class OtlpDecodeError extends Error {
  override name = 'OtlpDecodeError';
}

/** Deeper AnyValue nesting than this is rejected rather than recursed into. */
export const MAX_ANY_VALUE_DEPTH = 32;

/**
 * Identity of a log-based event. Log times have millisecond precision in the JS SDK, so our own
 * records carry `flagsync.call_id`; records from other emitters fall back to their content.
 */
export function logRecordId(traceId: string, spanId: string, time: string, observed: string, name: string, attributes: Record<string, unknown>): string {
  const callId = attributes[ATTR_FLAGSYNC_CALL_ID];
  const distinct = typeof callId === 'string' ? callId : JSON.stringify(attributes, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return `l-${traceId}-${spanId}-${time}-${observed}-${name}-${distinct}`;
}

export function nanosToMs(nanos: bigint): number {
  return Number(nanos / 1_000_000n);
}

/** The id form of a nanosecond time: its two 32-bit halves, as the protobuf decoder reads them. */
export function nanosId(nanos: bigint): string {
  return `${Number(nanos >> 32n)}.${Number(nanos & 0xffffffffn)}`;
}
