/**
 * Writes one evaluation or track call as exactly one OpenTelemetry event that will be exported,
 * or reports that it cannot: then the caller leaves the call to the SDK's own delivery.
 *
 * - Span form: only on a span that is recording and sampled (a RECORD-only span is never
 *   exported). Where the span exposes the SDK's ReadableSpan fields (`events`,
 *   `droppedEventsCount`), the write is checked: an event cut by attribute limits or refused by the
 *   event limit does not count as recorded, and a handed-over event of ours that the span evicts
 *   later goes back to the SDK.
 * A call recorded for a pipeline is handed over here (handover.ts), with the span or the log call
 * id as the holder its receipt is found by.
 * - Log form: a log-based event (`eventName`) on the app's LoggerProvider, if one is registered and
 *   enabled for it. The FlagSync data goes in the record's body, which no attribute limit touches;
 *   the semantic-convention attributes go in its attributes as well.
 */
import { context, diag, trace, TraceFlags, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  ATTR_FLAGSYNC_CALL_ID,
  ATTR_FLAGSYNC_CONTEXT,
  ATTR_FLAGSYNC_DELIVERY,
  ATTR_FLAGSYNC_EVENT_KEY,
  ATTR_FLAGSYNC_EVENT_PROPERTIES,
  ATTR_FLAGSYNC_EVENT_VALUE,
  ATTR_FLAGSYNC_SIZE,
  ATTR_FLAGSYNC_VALUE,
  DELIVERY_SDK,
} from '../conventions.js';
import { payloadSize } from '../convert/payload-size.js';
import type { EventSignal, FlagSyncInstrumentationOptions, NoRecordingSpanBehavior } from '../types.js';
import type { EventAttributes } from './attributes.js';
import { claimFor, giveBack, handOver, spanHolder, type Claim, type Pipeline } from './handover.js';
import { currentLogger, type LoggerLike } from './logs-api.js';

const DEFAULT_SPAN_EVENT_COUNT_LIMIT = 128;

/** Semantic-convention attributes a log-based event carries as attributes (all of it is in the body). */
const LOG_ATTRIBUTE_NAMES = [
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_ERROR_TYPE,
  ATTR_FLAGSYNC_EVENT_KEY,
];

/** Where a call is recorded: the span itself (no object per call), or the Logs API's logger. */
export type RecordTarget = Span | LogTarget;

/** A logger as a record target; one per logger, so a call costs no allocation either way. */
export class LogTarget {
  constructor(readonly logger: LoggerLike) {}
}

/** Why a call's FlagSync item is left to the SDK's own delivery. Nothing is lost in any of these. */
export type SdkDeliveryReason =
  /** No sampled recording span (or `noRecordingSpan: 'sdk'`) and no enabled LoggerProvider. */
  | 'no-exported-signal'
  /** The delivery setting gives it to the SDK (`sdk`, or `auto` with no FlagSync exporter running). */
  | 'delivery-setting'
  /** The SDK delivery guard does not cover this SDK: an event is written, FlagSync gets the SDK's impression. */
  | 'not-guarded'
  /**
   * The SDK fell back to the default (missing flag, or a flag serving null): the SDK decides whether there is an
   * impression.
   */
  | 'sdk-fallback'
  /** A value or context FlagSync's API would refuse, or one the SDK would send differently from its JSON text. */
  | 'not-recordable'
  /** The span's attribute limits cut or dropped our attributes. */
  | 'attribute-limits'
  /** The span's event limit refused or later evicted our event. */
  | 'span-event-limit'
  /** Anything unexpected while recording. */
  | 'internal-error';

export interface RecorderStats {
  spanEvents: number;
  logEvents: number;
  /** Calls whose FlagSync item the SDK delivers itself, by reason. */
  sdkDelivered: Record<SdkDeliveryReason, number>;
}

function newRecorderStats(): RecorderStats {
  return {
    spanEvents: 0,
    logEvents: 0,
    sdkDelivered: {
      'no-exported-signal': 0,
      'delivery-setting': 0,
      'not-guarded': 0,
      'sdk-fallback': 0,
      'not-recordable': 0,
      'attribute-limits': 0,
      'span-event-limit': 0,
      'internal-error': 0,
    },
  };
}

/**
 * `events` and `droppedEventsCount` of the SDK's span: public `ReadableSpan` fields in both lines
 * (sdk-trace-base 2.x, sdk-trace 3.x), read structurally because this package depends on the API
 * only. A span without them (another SDK's) is recorded on without the limit checks.
 */
interface ReadableSpanFields {
  events?: StoredEvent[];
  droppedEventsCount?: number;
}

type StoredEvent = { name: string; attributes?: Record<string, unknown> };

export class EventRecorder {
  readonly stats: RecorderStats = newRecorderStats();
  private readonly _diag = diag.createComponentLogger({ namespace: 'flagsync-otel/instrumentation' });
  private readonly _noRecordingSpan: NoRecordingSpanBehavior;
  private readonly _eventLimit: number;
  private readonly _reported = new Set<SdkDeliveryReason>();
  private readonly _nonce = Math.floor(Math.random() * 0x100000000).toString(36);
  private _sequence = 0;
  private _logTarget: LogTarget | undefined;

  constructor(options: FlagSyncInstrumentationOptions) {
    this._noRecordingSpan = options.noRecordingSpan ?? 'log';
    this._eventLimit = options.spanEventCountLimit ?? envSpanEventCountLimit() ?? DEFAULT_SPAN_EVENT_COUNT_LIMIT;
  }

  /** Where a call would be recorded: a sampled recording span, the Logs API, or nowhere (undefined). */
  target(signal: EventSignal, eventName: string): RecordTarget | undefined {
    if (signal === 'span') {
      const span = trace.getActiveSpan();
      if (span && isExported(span) && hasEventRoom(span, this._eventLimit)) return span;
      if (this._noRecordingSpan === 'sdk') return undefined;
    }
    const logger = currentLogger();
    if (!logger) return undefined;
    // A provider without processors, or one configured to skip this scope, exports nothing.
    if (typeof logger.enabled === 'function' && !logger.enabled({ context: context.active(), eventName }))
      return undefined;
    if (this._logTarget?.logger !== logger) this._logTarget = new LogTarget(logger);
    return this._logTarget;
  }

  /**
   * Write the event (its attributes carry their size marker: attributes.ts). Returns undefined when it is
   * recorded and will be exported as written, else why not. With a claim, a recorded call is handed over
   * to `pipeline`.
   */
  record(
    target: RecordTarget,
    name: string,
    attributes: EventAttributes,
    timeMs: number,
    claim?: Claim,
    pipeline?: Pipeline,
  ): SdkDeliveryReason | undefined {
    if (target instanceof LogTarget) {
      // The body holds it all (no limit reaches it); the attributes the semantic-convention part.
      const callId = `${this._nonce}.${++this._sequence}`;
      attributes[ATTR_FLAGSYNC_CALL_ID] = callId;
      (attributes[ATTR_FLAGSYNC_SIZE] as number) += callId.length + 1;
      const logAttributes: Record<string, unknown> = {};
      for (const key of LOG_ATTRIBUTE_NAMES) if (attributes[key] !== undefined) logAttributes[key] = attributes[key];
      target.logger.emit({
        eventName: name,
        timestamp: timeMs,
        context: context.active(),
        attributes: logAttributes,
        body: attributes,
      });
      this.stats.logEvents++;
      if (claim && pipeline) handOver(claim, pipeline, callId, attributes, true);
      return undefined;
    }
    const span = target as Span & ReadableSpanFields;
    const events = Array.isArray(span.events) ? span.events : undefined;
    const length = events?.length ?? 0;
    const first = events?.[0];
    const dropped = span.droppedEventsCount ?? 0;
    span.addEvent(name, attributes, timeMs);
    this.stats.spanEvents++;
    if (!events) {
      // Not the SDK's span: nothing to check against.
      if (claim && pipeline) handOver(claim, pipeline, spanHolder(span), undefined);
      return undefined;
    }
    const added = events.length === length + 1 || (events.length === length && length > 0 && events[0] !== first);
    if (!added) return 'span-event-limit';
    // The span evicted its oldest event to make room: if that was one of ours, its call goes back to the SDK.
    if ((span.droppedEventsCount ?? 0) > dropped && first) returnEvicted(span, first);
    const stored = events[events.length - 1]!.attributes ?? {};
    if (!storedIntact(stored, attributes)) return 'attribute-limits';
    // A span that never had an event holds no call of ours yet: its holder needs no lookup.
    if (claim && pipeline) handOver(claim, pipeline, spanHolder(span), stored, length === 0 && dropped === 0);
    return undefined;
  }

  /** Count a call left to the SDK; each reason is reported once through diag. */
  leftToSdk(reason: SdkDeliveryReason): void {
    this.stats.sdkDelivered[reason]++;
    if (this._reported.has(reason) || reason === 'sdk-fallback' || reason === 'delivery-setting') return;
    this._reported.add(reason);
    this._diag.info(
      `a call is left to the FlagSync SDK's own delivery (${reason}); further ones are counted in ` +
        `stats().sdkDelivered without logging`,
    );
  }
}

function returnEvicted(span: Span, event: StoredEvent): void {
  // Only an event handed to a pipeline has a claim: another event's eviction looks nothing up.
  const delivery = event.attributes?.[ATTR_FLAGSYNC_DELIVERY];
  if (delivery === undefined || delivery === DELIVERY_SDK) return;
  const claim = claimFor(spanHolder(span), event.attributes);
  if (claim) giveBack([claim], 'span-event-limit');
}

/**
 * True when the span stored every attribute the size marker counts as written: attribute limits only
 * drop or cut values, and a cut or dropped one no longer equals ours. The variant, last and uncounted,
 * may go. A span storing our very object is checked by the marker. Each attribute is read by its name
 * (one site per name): a loop over the keys made every read a lookup in objects of many shapes.
 */
function storedIntact(stored: Record<string, unknown>, ours: EventAttributes): boolean {
  if (stored === ours) return payloadSize(stored) === ours[ATTR_FLAGSYNC_SIZE];
  return (
    stored[ATTR_FLAGSYNC_SIZE] === ours[ATTR_FLAGSYNC_SIZE] &&
    stored[ATTR_FLAGSYNC_DELIVERY] === ours[ATTR_FLAGSYNC_DELIVERY] &&
    stored[ATTR_FEATURE_FLAG_KEY] === ours[ATTR_FEATURE_FLAG_KEY] &&
    stored[ATTR_FEATURE_FLAG_PROVIDER_NAME] === ours[ATTR_FEATURE_FLAG_PROVIDER_NAME] &&
    stored[ATTR_FEATURE_FLAG_CONTEXT_ID] === ours[ATTR_FEATURE_FLAG_CONTEXT_ID] &&
    stored[ATTR_FEATURE_FLAG_RESULT_REASON] === ours[ATTR_FEATURE_FLAG_RESULT_REASON] &&
    stored[ATTR_FEATURE_FLAG_RESULT_VALUE] === ours[ATTR_FEATURE_FLAG_RESULT_VALUE] &&
    stored[ATTR_ERROR_TYPE] === ours[ATTR_ERROR_TYPE] &&
    stored[ATTR_FLAGSYNC_VALUE] === ours[ATTR_FLAGSYNC_VALUE] &&
    stored[ATTR_FLAGSYNC_CONTEXT] === ours[ATTR_FLAGSYNC_CONTEXT] &&
    stored[ATTR_FLAGSYNC_EVENT_KEY] === ours[ATTR_FLAGSYNC_EVENT_KEY] &&
    stored[ATTR_FLAGSYNC_EVENT_VALUE] === ours[ATTR_FLAGSYNC_EVENT_VALUE] &&
    stored[ATTR_FLAGSYNC_EVENT_PROPERTIES] === ours[ATTR_FLAGSYNC_EVENT_PROPERTIES]
  );
}

/** Recording and sampled: span processors export only sampled spans. */
function isExported(span: Span): boolean {
  return span.isRecording() && (span.spanContext().traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
}

/** A span that already dropped events is at its limit; so is one holding as many as the configured limit. */
function hasEventRoom(span: Span, limit: number): boolean {
  const fields = span as Span & ReadableSpanFields;
  if ((fields.droppedEventsCount ?? 0) > 0) return false;
  return !Array.isArray(fields.events) || fields.events.length < limit;
}

function envSpanEventCountLimit(): number | undefined {
  const raw = typeof process !== 'undefined' ? process.env?.OTEL_SPAN_EVENT_COUNT_LIMIT : undefined;
  if (!raw) return undefined;
  const parsed = Number(raw);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : undefined;
}
