/** What the OTLP decoders produce: converter input plus what the service needs around it. */
import type { SourceEvent } from '../convert/converter.js';

export interface OtlpEvent extends SourceEvent {
  /** Identity for duplicate removal (event-identity.ts); undefined when it has none. */
  id: string | undefined;
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
