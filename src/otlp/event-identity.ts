/**
 * Identities of decoded FlagSync candidates, for the service's duplicate removal: the same when
 * the collector sends a request again, different for different calls, and small (log identities
 * are hashed, so the memory per remembered item is bounded whatever the attributes hold).
 * `undefined` means no reliable identity (a span event without valid trace and span ids): such an
 * item is never taken for a duplicate of another.
 */
import { createHash } from 'node:crypto';
import { ATTR_FLAGSYNC_CALL_ID } from '../conventions.js';

const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;

/** One per decoded request: it numbers log records whose content repeats within the request. */
export class RequestIdentities {
  private readonly _seen = new Map<string, number>();

  /**
   * The identity prefix of a span's events: its ids (raw bytes as latin1); an event's identity is
   * the prefix and its index (a span is immutable once exported). Undefined without valid ids.
   */
  span(traceId: string, spanId: string): string | undefined {
    return validId(traceId, TRACE_ID_BYTES) && validId(spanId, SPAN_ID_BYTES) ? `s${traceId}${spanId}` : undefined;
  }

  spanEvent(traceId: string, spanId: string, index: number): string | undefined {
    const prefix = this.span(traceId, spanId);
    return prefix === undefined ? undefined : prefix + index;
  }

  /**
   * A log record (ids raw as latin1). Ours carry `flagsync.call_id`, unique per call. Another
   * emitter's are told apart by content (times to the nanosecond, trace context, attributes), and
   * the n-th repeat of the same content within one request is numbered, so two identical calls in
   * one export both count.
   */
  logRecord(
    traceId: string,
    spanId: string,
    time: string,
    observed: string,
    name: string,
    attributes: Readonly<Record<string, unknown>>,
  ): string {
    const callId = attributes[ATTR_FLAGSYNC_CALL_ID];
    if (typeof callId === 'string')
      return `c${digest(`${traceId}\0${spanId}\0${time}\0${observed}\0${name}\0${callId}`)}`;
    const content = JSON.stringify(attributes, (_key, value: unknown) =>
      typeof value === 'bigint' ? `${value}n` : value,
    );
    const id = `l${digest(`${traceId}\0${spanId}\0${time}\0${observed}\0${name}\0${content}`)}`;
    const repeat = this._seen.get(id) ?? 0;
    this._seen.set(id, repeat + 1);
    return repeat === 0 ? id : `${id}#${repeat}`;
  }
}

/** A derived event's identity: the span's prefix (span()), the rule and the context it is for. */
export function derivedEventId(source: { span: string; rule: number; contextKey: string }): string {
  return `d${digest(`${source.span}\0${source.rule}\0${source.contextKey}`)}`;
}

function validId(raw: string, bytes: number): boolean {
  if (raw.length !== bytes) return false;
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) !== 0) return true;
  return false;
}

/** 22 characters of base64url: 132 bits of SHA-256. */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}
