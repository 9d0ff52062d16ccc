/**
 * Builds the attributes of `feature_flag.evaluation` and `flagsync.track` events, and decides
 * whether a call can be recorded faithfully at all. A call that cannot (a value FlagSync's API
 * would refuse, a context the SDK would send differently) is left to the SDK's own delivery.
 * Every value written is a string, a boolean or a number every OTLP encoding carries exactly.
 */
import {
  ATTR_ERROR_TYPE,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  ATTR_FLAGSYNC_CONTEXT,
  ATTR_FLAGSYNC_EVENT_KEY,
  ATTR_FLAGSYNC_EVENT_PROPERTIES,
  ATTR_FLAGSYNC_EVENT_VALUE,
  ATTR_FLAGSYNC_DELIVERY,
  ATTR_FLAGSYNC_SIZE,
  ATTR_FLAGSYNC_VALUE,
  PROVIDER_NAME,
  type Delivery,
} from '../conventions.js';
import { toJsonText } from '../convert/json.js';
import type { ContextPrivacy } from './privacy.js';

/** Attribute values this package writes. */
export type EventAttributes = Record<string, string | number | boolean>;

/** A user context as it will be recorded: its (possibly hashed) key and the JSON text FlagSync gets. */
export interface PreparedContext {
  key: string;
  json: string;
}

/**
 * The context as the server SDK would serialise it, after the privacy options; undefined when the
 * SDK would send something FlagSync's API refuses (no string key, attributes not an object), so
 * the call is better left to the SDK.
 */
export function prepareServerContext(context: unknown, privacy: ContextPrivacy): PreparedContext | undefined {
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return undefined;
  const { key, attributes } = context as { key?: unknown; attributes?: unknown };
  if (typeof key !== 'string' || key === '') return undefined;
  if (attributes !== undefined && !isJsonObject(attributes)) return undefined;
  const json = toJsonText(privacy.identity ? context : privacy.applyToContext(context as Record<string, unknown>));
  if (json === undefined || json[0] !== '{') return undefined;
  return { key: privacy.mapKey(key), json };
}

/** js-sdk sends `{ key, attributes: core.attributes ?? {} }` once per batch. */
export function prepareBrowserContext(
  core: { key?: unknown; attributes?: unknown },
  privacy: ContextPrivacy,
): PreparedContext | undefined {
  return prepareServerContext({ key: core.key, attributes: core.attributes ?? {} }, privacy);
}

/**
 * The variant to report for a served value: the definition's variant name when known, else the string form of a
 * string, finite number or boolean value; none for errors, objects and null, nor with `omitFlagValues`.
 */
export function variantOf(name: string | undefined, value: unknown, error: boolean, omitValues: boolean) {
  if (omitValues || error) return undefined;
  if (name !== undefined) return name;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return String(value);
  return undefined;
}

/**
 * A `feature_flag.evaluation` event's attributes, its size marker set; undefined when the value cannot be
 * recorded faithfully. Positional arguments and a size summed as the attributes are written: this runs on
 * every flag() call (no argument object, no second walk over the attributes).
 */
export function flagEvaluationAttributes(
  context: PreparedContext,
  delivery: Delivery,
  flagKey: string,
  value: unknown,
  reason: string,
  /**
   * `feature_flag.result.variant`: the FlagSync variant's name, else the string form of a scalar value (see
   * `variantOf`). Undefined: none written. Left out with `omitFlagValues`, as a name often spells the value.
   */
  variant: string | undefined,
  errorType: string | undefined,
  omitValues: boolean,
): EventAttributes | undefined {
  const attributes: EventAttributes = {
    // First, so attribute count limits keep it, and the delivery marker it counts second.
    [ATTR_FLAGSYNC_SIZE]: 0,
    [ATTR_FLAGSYNC_DELIVERY]: delivery,
    [ATTR_FEATURE_FLAG_KEY]: flagKey,
    [ATTR_FEATURE_FLAG_PROVIDER_NAME]: PROVIDER_NAME,
    [ATTR_FEATURE_FLAG_CONTEXT_ID]: context.key,
    [ATTR_FEATURE_FLAG_RESULT_REASON]: reason,
  };
  let size = delivery.length + flagKey.length + PROVIDER_NAME.length + context.key.length + reason.length + 5;
  if (errorType) {
    attributes[ATTR_ERROR_TYPE] = errorType;
    size += errorType.length + 1;
  }
  if (!omitValues) {
    const json = toJsonText(value);
    // The SDK would send no flagValue at all (a function, a symbol): FlagSync refuses that.
    if (json === undefined) return undefined;
    attributes[ATTR_FLAGSYNC_VALUE] = json;
    const semconv = semconvValue(value, json);
    attributes[ATTR_FEATURE_FLAG_RESULT_VALUE] = semconv;
    size += json.length + (typeof semconv === 'string' ? semconv.length : 0) + 2;
  }
  attributes[ATTR_FLAGSYNC_CONTEXT] = context.json;
  attributes[ATTR_FLAGSYNC_SIZE] = size + context.json.length + 1;
  // Last, and not counted by the size marker (no FlagSync payload needs it): count limits drop it first, and
  // converters of every version take the event as before.
  if (variant !== undefined) attributes[ATTR_FEATURE_FLAG_RESULT_VARIANT] = variant;
  return attributes;
}

/**
 * A track() call FlagSync's API takes as the SDK would send it, its size marker set, or undefined (left to
 * the SDK): a non-empty string event key, a number or null value (NaN and infinities go as null, as in the
 * SDK's JSON), properties that serialise to a JSON object or null.
 */
export function trackAttributes(
  context: PreparedContext,
  delivery: Delivery,
  eventKey: unknown,
  value: unknown,
  properties: unknown,
): EventAttributes | undefined {
  if (typeof eventKey !== 'string' || eventKey === '') return undefined;
  const attributes: EventAttributes = {
    [ATTR_FLAGSYNC_SIZE]: 0,
    [ATTR_FLAGSYNC_DELIVERY]: delivery,
    [ATTR_FLAGSYNC_EVENT_KEY]: eventKey,
    [ATTR_FLAGSYNC_CONTEXT]: context.json,
  };
  let size = delivery.length + eventKey.length + context.json.length + 3;
  if (value !== undefined) {
    if (value !== null && typeof value !== 'number') return undefined;
    const json = JSON.stringify(value);
    attributes[ATTR_FLAGSYNC_EVENT_VALUE] = json;
    size += json.length + 1;
  }
  if (properties !== undefined) {
    if (properties !== null && (typeof properties !== 'object' || Array.isArray(properties))) return undefined;
    const json = toJsonText(properties);
    if (json === undefined || (json !== 'null' && json[0] !== '{')) return undefined;
    attributes[ATTR_FLAGSYNC_EVENT_PROPERTIES] = json;
    size += json.length + 1;
  }
  attributes[ATTR_FLAGSYNC_SIZE] = size;
  return attributes;
}

/**
 * `feature_flag.result.value` for dashboards: the primitive itself when every OTLP encoding
 * carries it exactly, else its JSON text. OTLP/JSON exporters write integral numbers as int64,
 * which a receiver refuses (for the whole request) from 2^63 up.
 */
function semconvValue(value: unknown, json: string): string | number | boolean {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (
    typeof value === 'number' &&
    (Number.isSafeInteger(value) || (Number.isFinite(value) && !Number.isInteger(value)))
  )
    return value;
  return json;
}

function isJsonObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
