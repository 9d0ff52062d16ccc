/** Public types shared by the instrumentation, the exporters and the stand-in. */

type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

/** A FlagSync user context, as the SDKs take it. */
export interface FlagSyncUserContext {
  key: string;
  attributes?: Record<string, unknown>;
  /** Other fields apps put beside the key (`email`, `kind`): the SDK sends them, and so does this package. */
  [field: string]: unknown;
}

/** One item of `POST /track/impressions/server`. */
export interface FlagSyncImpression {
  flagKey: string;
  flagValue: JsonValue;
  context: FlagSyncUserContext;
  timestamp: string;
}

/** One item of `POST /track/events/server`. Keys whose value is undefined are absent. */
export interface FlagSyncEvent {
  context: FlagSyncUserContext;
  eventKey: string;
  value?: number | null;
  properties?: Record<string, JsonValue> | null;
  timestamp: string;
}

export interface FlagSyncSdkContext {
  sdkName: string;
  sdkVersion: string;
}

/** Where an evaluation or track call is written. */
export type EventSignal = 'span' | 'log';

/**
 * What to do with a call made while no span will export it (no active span, sampled out, or
 * recording but not sampled): `'log'` writes the log-based event, `'sdk'` leaves the call to the
 * FlagSync SDK's own delivery (nothing is written to OpenTelemetry, nothing is lost).
 */
export type NoRecordingSpanBehavior = 'log' | 'sdk';

export interface ContextAttributeFilter {
  /** Only these attribute names leave the process. Default: all. */
  allow?: readonly string[];
  /** These attribute names never leave the process. Applied after `allow`. */
  deny?: readonly string[];
}

export interface FlagSyncInstrumentationOptions {
  /**
   * Who delivers calls to FlagSync (`FLAGSYNC_DELIVERY`): `'sdk'`, `'exporter'`, `'collector'` or
   * `'auto'` (default: `'exporter'` while a FlagSync exporter runs in this process, else `'sdk'`).
   * A call leaves the SDK only against a receipt; see the README's "Exactly once".
   */
  delivery?: 'auto' | 'sdk' | 'exporter' | 'collector';
  /**
   * How long a call handed to a pipeline may wait to be exported before it goes back to the SDK
   * (`FLAGSYNC_RECEIPT_TIMEOUT`). Default 30000.
   */
  receiptTimeoutMillis?: number;
  /**
   * How long the client's `destroy()` waits for receipts before giving the rest back to the SDK
   * (`FLAGSYNC_DESTROY_TIMEOUT`). Default 5000.
   */
  destroyTimeoutMillis?: number;
  /** Signal for `flag()` evaluations. Default `'span'` (span event on the active span). */
  flagSignal?: EventSignal;
  /** Signal for `track()` calls. Default `'span'`. */
  trackSignal?: EventSignal;
  /**
   * When the signal is `'span'` but no span will export the event (none active, sampled out,
   * RECORD-only, or its event limit is reached): `'log'` (default) writes the log-based event
   * instead, keeping the trace context; `'sdk'` leaves the call to the SDK's own delivery. Either
   * way, a call with nowhere to be recorded goes through the SDK (counted in stats).
   */
  noRecordingSpan?: NoRecordingSpanBehavior;
  /** Filter for context attributes. Default: all attributes are recorded. */
  contextAttributes?: ContextAttributeFilter;
  /**
   * Replace the context key by a hash before it is recorded, on impressions and events alike so
   * that FlagSync can still join them. `true`: SHA-256 hex; `{ salt }`: SHA-256 of salt + key;
   * a function: your own mapping. Default: the key is recorded as given.
   */
  hashContextKey?: boolean | { salt: string } | ((key: string) => string);
  /**
   * Leave served flag values out of all telemetry. FlagSync then receives `flagValue: null`
   * (exposure is counted, the variant is not). `feature_flag.result.variant` is left out too, on the
   * events and the evaluation counter: a variant's name often spells its value. Default `false`.
   */
  omitFlagValues?: boolean;
  /**
   * Count evaluations in the OpenTelemetry counter `feature_flag.evaluations` (key, variant, reason, `error.type`),
   * on the app's global MeterProvider (`FLAGSYNC_EVALUATION_METRICS=true`). Default `false`.
   */
  evaluationMetrics?: boolean;
  /**
   * Span event count limit of your tracer provider (`OTEL_SPAN_EVENT_COUNT_LIMIT`, default 128).
   * A span that already holds this many events gets the call as a log-based event instead,
   * because the SDK would drop the oldest event.
   */
  spanEventCountLimit?: number;
}
