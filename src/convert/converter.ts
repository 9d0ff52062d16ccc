/**
 * The one converter: OpenTelemetry events (span events or log records, from the SDK exporters or
 * decoded OTLP) in, FlagSync server payload items out. Pure: no I/O, no clock, no globals.
 */
import {
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  ATTR_FLAGSYNC_CONTEXT_ATTRIBUTES,
  ATTR_FLAGSYNC_CONTEXT_KEY,
  ATTR_FLAGSYNC_EVENT_KEY,
  ATTR_FLAGSYNC_EVENT_PROPERTIES,
  ATTR_FLAGSYNC_EVENT_VALUE,
  ATTR_FLAGSYNC_EVENT_VALUE_NULL,
  ATTR_FLAGSYNC_IMPRESSION,
  ATTR_FLAGSYNC_VALUE,
  EVENT_FLAGSYNC_TRACK,
  FLAG_EVALUATION_EVENT_NAMES,
  LEGACY_ATTR_PROVIDER_NAME,
  LEGACY_ATTR_VARIANT,
  PROVIDER_NAME,
} from '../conventions.js';
import type { FlagSyncEvent, FlagSyncImpression, FlagSyncUserContext, JsonValue } from '../types.js';
import { isPlainObject, parseJsonText } from './json.js';

/** An OpenTelemetry event in the one shape every source is brought to. */
export interface SourceEvent {
  /** Span event name or log record `eventName`. */
  name: string;
  /** Event time, milliseconds since the epoch (FlagSync timestamps have millisecond precision). */
  timeMs: number;
  attributes: Readonly<Record<string, unknown>>;
}

export interface ConverterOptions {
  /**
   * `feature_flag.provider.name` values (case-insensitive) whose evaluations become impressions.
   * Default `['FlagSync']`. Lets OpenFeature's OTel hooks feed FlagSync when the provider is FlagSync.
   */
  providerNames?: readonly string[];
}

export type ConversionOutcome =
  /** `json` is the item as FlagSync receives it, assembled from the already-validated JSON texts. */
  | { kind: 'impression'; item: FlagSyncImpression; json: string }
  | { kind: 'event'; item: FlagSyncEvent; json: string }
  /** Not FlagSync data (other event names, other providers, or no impression wanted). */
  | { kind: 'ignored' }
  /** FlagSync data that cannot be converted; never forwarded. */
  | { kind: 'rejected'; reason: string };

export interface Converter {
  convert(event: SourceEvent): ConversionOutcome;
  /** Every attribute the converter reads; decoders may skip the values of all others. */
  readonly attributeNames: ReadonlySet<string>;
  /** True for names that might convert; lets sources skip the rest without building a SourceEvent. */
  isCandidateName(name: string | undefined): boolean;
}

const IGNORED: ConversionOutcome = { kind: 'ignored' };

const ATTRIBUTE_NAMES: ReadonlySet<string> = new Set([
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  LEGACY_ATTR_PROVIDER_NAME,
  ATTR_FLAGSYNC_IMPRESSION,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FLAGSYNC_VALUE,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  LEGACY_ATTR_VARIANT,
  ATTR_FLAGSYNC_CONTEXT_ATTRIBUTES,
  ATTR_FLAGSYNC_CONTEXT_KEY,
  ATTR_FLAGSYNC_EVENT_KEY,
  ATTR_FLAGSYNC_EVENT_VALUE,
  ATTR_FLAGSYNC_EVENT_VALUE_NULL,
  ATTR_FLAGSYNC_EVENT_PROPERTIES,
]);

export function createConverter(options: ConverterOptions = {}): Converter {
  const providers = new Set((options.providerNames ?? [PROVIDER_NAME]).map((name) => name.toLowerCase()));
  const candidateNames = new Set([...FLAG_EVALUATION_EVENT_NAMES, EVENT_FLAGSYNC_TRACK]);
  const parse = memoizedParse();
  return {
    attributeNames: ATTRIBUTE_NAMES,
    isCandidateName: (name) => name !== undefined && candidateNames.has(name),
    convert(event) {
      if (event.name === EVENT_FLAGSYNC_TRACK) return convertTrack(event, parse);
      if (FLAG_EVALUATION_EVENT_NAMES.includes(event.name)) return convertEvaluation(event, providers, parse);
      return IGNORED;
    },
  };
}

type Parse = (text: string) => ReturnType<typeof parseJsonText>;

/** Texts this long or shorter are remembered; served values and contexts repeat across events. */
const MEMO_MAX_TEXT = 1024;
const MEMO_MAX_ENTRIES = 1024;

/**
 * JSON.parse is most of a conversion's cost, and the same texts (a user's context, a flag's
 * served value) recur across a batch: parse each once. Parsed values are then shared between
 * items, which are read-only.
 */
function memoizedParse(): Parse {
  const memo = new Map<string, ReturnType<typeof parseJsonText>>();
  return (text) => {
    if (text.length > MEMO_MAX_TEXT) return parseJsonText(text);
    let parsed = memo.get(text);
    if (parsed === undefined) {
      if (memo.size >= MEMO_MAX_ENTRIES) memo.clear();
      parsed = parseJsonText(text);
      memo.set(text, parsed);
    }
    return parsed;
  };
}

function convertEvaluation(event: SourceEvent, providers: Set<string>, parse: Parse): ConversionOutcome {
  const a = event.attributes;
  const provider = a[ATTR_FEATURE_FLAG_PROVIDER_NAME] ?? a[LEGACY_ATTR_PROVIDER_NAME];
  if (typeof provider !== 'string' || !providers.has(provider.toLowerCase())) return IGNORED;
  if (a[ATTR_FLAGSYNC_IMPRESSION] === false) return IGNORED;

  const flagKey = a[ATTR_FEATURE_FLAG_KEY];
  if (typeof flagKey !== 'string' || flagKey === '') return reject(`${ATTR_FEATURE_FLAG_KEY} must be a non-empty string`);
  const key = a[ATTR_FEATURE_FLAG_CONTEXT_ID];
  if (typeof key !== 'string' || key === '') return reject(`${ATTR_FEATURE_FLAG_CONTEXT_ID} (the FlagSync context key) must be a non-empty string`);
  const timestamp = toTimestamp(event.timeMs);
  if (!timestamp) return reject('event time is not a valid time');

  const flagValue = evaluationValue(a, parse);
  if ('error' in flagValue) return reject(flagValue.error);
  const context = userContext(key, a, parse);
  if ('error' in context) return reject(context.error);
  // JSON.parse has proven each text is one valid JSON value, so it can be reused as is instead of
  // serialising the parsed copy again (the parsed item is kept for callers that inspect it).
  const json = `{"flagKey":${JSON.stringify(flagKey)},"flagValue":${flagValue.text},"context":${context.text},"timestamp":"${timestamp}"}`;
  return { kind: 'impression', item: { flagKey, flagValue: flagValue.value, context: context.value, timestamp }, json };
}

function evaluationValue(a: Readonly<Record<string, unknown>>, parse: Parse): { value: JsonValue; text: string } | { error: string } {
  const json = a[ATTR_FLAGSYNC_VALUE];
  if (json !== undefined) {
    if (typeof json !== 'string') return { error: `${ATTR_FLAGSYNC_VALUE} must be JSON text` };
    const parsed = parse(json);
    return parsed.ok ? { value: parsed.value, text: json } : { error: `${ATTR_FLAGSYNC_VALUE} is not valid JSON` };
  }
  // Other emitters: the semconv value (any JSON-compatible type in the log form), else the variant.
  const value = a[ATTR_FEATURE_FLAG_RESULT_VALUE];
  if (value !== undefined) return isJsonValue(value) ? { value, text: JSON.stringify(value) } : { error: `${ATTR_FEATURE_FLAG_RESULT_VALUE} is not a JSON value` };
  const variant = a[ATTR_FEATURE_FLAG_RESULT_VARIANT] ?? a[LEGACY_ATTR_VARIANT];
  if (typeof variant === 'string') return { value: variant, text: JSON.stringify(variant) };
  // Values left out on purpose (omitFlagValues): exposure is still counted.
  return { value: null, text: 'null' };
}

function convertTrack(event: SourceEvent, parse: Parse): ConversionOutcome {
  const a = event.attributes;
  const eventKey = a[ATTR_FLAGSYNC_EVENT_KEY];
  if (typeof eventKey !== 'string' || eventKey === '') return reject(`${ATTR_FLAGSYNC_EVENT_KEY} must be a non-empty string`);
  const key = a[ATTR_FLAGSYNC_CONTEXT_KEY];
  if (typeof key !== 'string' || key === '') return reject(`${ATTR_FLAGSYNC_CONTEXT_KEY} (the FlagSync context key) must be a non-empty string`);
  const timestamp = toTimestamp(event.timeMs);
  if (!timestamp) return reject('event time is not a valid time');
  const context = userContext(key, a, parse);
  if ('error' in context) return reject(context.error);

  // Absent stays absent: the SDKs send `value`/`properties` only when the app passed them.
  let value: { value?: number | null } = {};
  let valueJson = '';
  const rawValue = a[ATTR_FLAGSYNC_EVENT_VALUE];
  if (rawValue !== undefined) {
    if (typeof rawValue !== 'number' || !Number.isFinite(rawValue)) return reject(`${ATTR_FLAGSYNC_EVENT_VALUE} must be a finite number or null`);
    value = { value: rawValue };
    valueJson = `,"value":${JSON.stringify(rawValue)}`;
  } else if (a[ATTR_FLAGSYNC_EVENT_VALUE_NULL] === true) {
    value = { value: null };
    valueJson = ',"value":null';
  }

  let properties: { properties?: Record<string, JsonValue> | null } = {};
  let propertiesJson = '';
  const rawProperties = a[ATTR_FLAGSYNC_EVENT_PROPERTIES];
  if (rawProperties !== undefined) {
    const parsed = typeof rawProperties === 'string' ? parse(rawProperties) : { ok: false as const };
    if (!parsed.ok || (parsed.value !== null && !isPlainObject(parsed.value))) {
      return reject(`${ATTR_FLAGSYNC_EVENT_PROPERTIES} must be the JSON text of an object or null`);
    }
    properties = { properties: parsed.value as Record<string, JsonValue> | null };
    propertiesJson = `,"properties":${rawProperties as string}`;
  }
  // Field order as the SDKs send it, so payloads read the same.
  const json = `{"context":${context.text},"eventKey":${JSON.stringify(eventKey)}${valueJson}${propertiesJson},"timestamp":"${timestamp}"}`;
  return { kind: 'event', item: { context: context.value, eventKey, ...value, ...properties, timestamp }, json };
}

function userContext(key: string, a: Readonly<Record<string, unknown>>, parse: Parse): { value: FlagSyncUserContext; text: string } | { error: string } {
  const json = a[ATTR_FLAGSYNC_CONTEXT_ATTRIBUTES];
  const keyJson = JSON.stringify(key);
  if (json === undefined) return { value: { key }, text: `{"key":${keyJson}}` };
  const parsed = typeof json === 'string' ? parse(json) : { ok: false as const };
  if (!parsed.ok || !isPlainObject(parsed.value)) return { error: `${ATTR_FLAGSYNC_CONTEXT_ATTRIBUTES} must be the JSON text of an object` };
  return { value: { key, attributes: parsed.value }, text: `{"key":${keyJson},"attributes":${json as string}}` };
}

// Events of one batch mostly share their millisecond: remember the last conversion.
let lastMs = Number.NaN;
let lastIso: string | undefined;

function toTimestamp(timeMs: number): string | undefined {
  if (!Number.isFinite(timeMs)) return undefined;
  const ms = Math.floor(timeMs);
  if (ms === lastMs) return lastIso;
  const date = new Date(ms);
  lastMs = ms;
  lastIso = Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  return lastIso;
}

function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (isPlainObject(value)) return Object.values(value).every((v) => isJsonValue(v, depth + 1));
  return false;
}

function reject(reason: string): ConversionOutcome {
  return { kind: 'rejected', reason };
}
