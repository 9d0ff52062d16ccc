/**
 * Every event and attribute name this package writes or reads, in one place.
 * Semantic-convention names come from @opentelemetry/semantic-conventions (incubating entry point
 * copied as literals, as the semconv package recommends for unstable names); `flagsync.*` names are ours.
 */

// --- semantic conventions (feature_flag.*, semconv v1.40+) ---
export const EVENT_FEATURE_FLAG_EVALUATION = 'feature_flag.evaluation';
export const ATTR_FEATURE_FLAG_KEY = 'feature_flag.key';
export const ATTR_FEATURE_FLAG_PROVIDER_NAME = 'feature_flag.provider.name';
export const ATTR_FEATURE_FLAG_CONTEXT_ID = 'feature_flag.context.id';
export const ATTR_FEATURE_FLAG_RESULT_VALUE = 'feature_flag.result.value';
export const ATTR_FEATURE_FLAG_RESULT_VARIANT = 'feature_flag.result.variant';
export const ATTR_FEATURE_FLAG_RESULT_REASON = 'feature_flag.result.reason';
export const ATTR_ERROR_TYPE = 'error.type';

// Deprecated names still written by other emitters (OpenFeature hooks before semconv 1.32, LaunchDarkly).
const LEGACY_EVENT_FEATURE_FLAG = 'feature_flag';
export const LEGACY_ATTR_PROVIDER_NAME = 'feature_flag.provider_name';
export const LEGACY_ATTR_VARIANT = 'feature_flag.variant';

export const FLAG_EVALUATION_EVENT_NAMES: readonly string[] = [
  EVENT_FEATURE_FLAG_EVALUATION,
  LEGACY_EVENT_FEATURE_FLAG,
];

/** Reason values from semconv `feature_flag.result.reason`. */
export const REASON_UNKNOWN = 'unknown';
export const REASON_DEFAULT = 'default';
export const REASON_CACHED = 'cached';
export const REASON_ERROR = 'error';
export const REASON_STATIC = 'static';
export const REASON_SPLIT = 'split';
export const REASON_TARGETING_MATCH = 'targeting_match';
export const REASON_DISABLED = 'disabled';
export const ERROR_FLAG_NOT_FOUND = 'flag_not_found';
export const ERROR_PROVIDER_NOT_READY = 'provider_not_ready';

/** The provider name this package writes; the exporters accept it by default. */
export const PROVIDER_NAME = 'FlagSync';

// --- flagsync.* attributes: what is needed to rebuild FlagSync payloads exactly ---
/** `track()` calls are recorded as events of this name. */
export const EVENT_FLAGSYNC_TRACK = 'flagsync.track';
/**
 * Integrity marker, written first so attribute count limits keep it: every other attribute this
 * package wrote on the event counts 1, plus its length in UTF-16 code units when it is a string
 * (see `payloadSize`). Attribute limits only ever truncate or drop, so a smaller total on arrival
 * means the event was damaged: converters ignore it rather than deliver a truncated key or value.
 */
export const ATTR_FLAGSYNC_SIZE = 'flagsync.size';
/** JSON text of the served value, so its JSON type survives span attributes (`"true"` vs `true`). */
export const ATTR_FLAGSYNC_VALUE = 'flagsync.value';
/** JSON text of the user context as the SDK would send it (after privacy options): key, attributes, any other field. */
export const ATTR_FLAGSYNC_CONTEXT = 'flagsync.context';
/**
 * Who delivers this call to FlagSync (see `Delivery`): every consumer obeys it, so a call is never delivered by both
 * the SDK and a pipeline. Written second, after the size marker, which counts it.
 */
export const ATTR_FLAGSYNC_DELIVERY = 'flagsync.delivery';
/** `sdk`: the FlagSync SDK delivers; `exporter`: this process's FlagSync exporter; `collector`: a collector's. */
export const DELIVERY_SDK = 'sdk';
export const DELIVERY_EXPORTER = 'exporter';
export const DELIVERY_COLLECTOR = 'collector';
export type Delivery = typeof DELIVERY_SDK | typeof DELIVERY_EXPORTER | typeof DELIVERY_COLLECTOR;
/**
 * Written by versions before `flagsync.delivery`: `false` when the SDK delivered the impression. Still read, as
 * `flagsync.delivery: sdk`.
 */
export const LEGACY_ATTR_FLAGSYNC_IMPRESSION = 'flagsync.impression';
export const ATTR_FLAGSYNC_EVENT_KEY = 'flagsync.event.key';
/**
 * JSON text of the track value (`"1234.5"`, `"null"`); absent when the app passed none. Text keeps every number exact
 * in every OTLP encoding.
 */
export const ATTR_FLAGSYNC_EVENT_VALUE = 'flagsync.event.value';
/** JSON text of the track properties; absent when the app passed none. */
export const ATTR_FLAGSYNC_EVENT_PROPERTIES = 'flagsync.event.properties';

/**
 * Unique per log-based call (process nonce + sequence). Log records carry millisecond times only,
 * so two identical calls in one millisecond would otherwise look like one record sent twice.
 */
export const ATTR_FLAGSYNC_CALL_ID = 'flagsync.call_id';

/**
 * Every attribute this package writes on its events, except the size marker itself: the names the
 * size marker counts. The Go component holds the same list (collector/flagsyncexporter).
 */
export const SIZED_ATTRIBUTE_NAMES: readonly string[] = [
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_ERROR_TYPE,
  ATTR_FLAGSYNC_VALUE,
  ATTR_FLAGSYNC_CONTEXT,
  ATTR_FLAGSYNC_DELIVERY,
  LEGACY_ATTR_FLAGSYNC_IMPRESSION,
  ATTR_FLAGSYNC_EVENT_KEY,
  ATTR_FLAGSYNC_EVENT_VALUE,
  ATTR_FLAGSYNC_EVENT_PROPERTIES,
  ATTR_FLAGSYNC_CALL_ID,
];

/**
 * Evaluation counter (opt-in, `evaluationMetrics`): one per flag() call, with the key, variant, reason and
 * `error.type` attributes. Datadog's tracers' name; OpenFeature's MetricsHook names are Prometheus-style (`_total`).
 */
export const METRIC_FEATURE_FLAG_EVALUATIONS = 'feature_flag.evaluations';

/** Instrumentation scope name for our tracer and logger. */
export const INSTRUMENTATION_SCOPE = 'flagsync-otel';
