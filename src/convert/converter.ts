/**
 * The one converter: OpenTelemetry events (span events or log records, from the SDK exporters or
 * decoded OTLP) in, FlagSync server payload items out. No I/O, no clock; each converter keeps its
 * own small caches. The Go component implements the same contract (collector/flagsyncexporter),
 * and both are held to the golden vectors in testdata/golden/.
 */
import {
  ATTR_ERROR_TYPE,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  ATTR_FLAGSYNC_CONTEXT,
  DELIVERY_COLLECTOR,
  DELIVERY_EXPORTER,
  DELIVERY_SDK,
  type Delivery,
  ATTR_FLAGSYNC_EVENT_KEY,
  ATTR_FLAGSYNC_EVENT_PROPERTIES,
  ATTR_FLAGSYNC_EVENT_VALUE,
  ATTR_FLAGSYNC_DELIVERY,
  ATTR_FLAGSYNC_SIZE,
  ATTR_FLAGSYNC_VALUE,
  ERROR_FLAG_NOT_FOUND,
  EVENT_FLAGSYNC_TRACK,
  FLAG_EVALUATION_EVENT_NAMES,
  LEGACY_ATTR_FLAGSYNC_IMPRESSION,
  LEGACY_ATTR_PROVIDER_NAME,
  LEGACY_ATTR_VARIANT,
  PROVIDER_NAME,
  SIZED_ATTRIBUTE_NAMES,
} from '../conventions.js';
import type { FlagSyncEvent, FlagSyncImpression, FlagSyncUserContext, JsonValue } from '../types.js';
import { isPlainObject, parseJsonText } from './json.js';
import { isIntact } from './payload-size.js';

/** An OpenTelemetry event in the one shape every source is brought to. */
export interface SourceEvent {
  /** Span event name or log record `eventName`. */
  name: string;
  /** Event time, milliseconds since the epoch (FlagSync timestamps have millisecond precision). */
  timeMs: number;
  /**
   * Its attributes; for a log record whose body is a map, with the body's FlagSync fields laid over them
   * (`withBodyFields`).
   */
  attributes: Readonly<Record<string, unknown>>;
}

export interface ConverterOptions {
  /**
   * Evaluations written by other emitters (OpenFeature's OTel hooks, legacy names) become
   * impressions when their `feature_flag.provider.name` is one of these (case-insensitive).
   * Default: none; this package's own events are always taken. Name a provider only if nothing
   * else delivers its impressions: a FlagSync SDK under an OpenFeature provider sends its own
   * (instrument that SDK instead), and an evaluation recorded by both would count twice.
   */
  providerNames?: readonly string[];
  /**
   * Which deliverer this converter serves: events whose `flagsync.delivery` names another one become `elsewhere`
   * outcomes. `exporter` for the in-process exporters; `collector` (default) for collector-side conversion.
   */
  consumer?: typeof DELIVERY_EXPORTER | typeof DELIVERY_COLLECTOR;
}

export type ConversionOutcome =
  /**
   * `json` is the item as FlagSync receives it, assembled from the already-validated JSON texts;
   * `contextText` is its context's JSON text (derived events of the same trace reuse it).
   */
  | { kind: 'impression'; item: FlagSyncImpression; json: string; contextText: string }
  | { kind: 'event'; item: FlagSyncEvent; json: string }
  /** Not FlagSync data (other event names, other providers). */
  | { kind: 'ignored' }
  /**
   * This package's event for a call another deliverer has (`flagsync.delivery`): not delivered here. An evaluation's
   * context still tells derived events which users its trace belongs to.
   */
  | { kind: 'elsewhere'; by: Delivery; context?: { key: string; text: string } }
  /**
   * Written by this package but cut by attribute limits on the way (its size marker does not match):
   * never delivered truncated. The instrumentation leaves such calls to the SDK where it can tell.
   */
  | { kind: 'damaged' }
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
const DAMAGED: ConversionOutcome = { kind: 'damaged' };

const CONVERTER_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set([
  ATTR_FLAGSYNC_SIZE,
  ...SIZED_ATTRIBUTE_NAMES,
  LEGACY_ATTR_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  LEGACY_ATTR_VARIANT,
]);

/**
 * A log record's attributes with its body's fields laid over them, when the body is a map: this
 * package writes a log-based event's FlagSync data in the body, where no attribute limit reaches.
 */
export function withBodyFields(
  attributes: Readonly<Record<string, unknown>>,
  body: unknown,
): Readonly<Record<string, unknown>> {
  if (!isPlainObject(body) || !(ATTR_FLAGSYNC_SIZE in body)) return attributes;
  const merged: Record<string, unknown> = { ...attributes };
  for (const name of CONVERTER_ATTRIBUTE_NAMES) if (name in body) merged[name] = body[name];
  // The marker counts what was written to the body; attributes outside it are not checked.
  for (const name of SIZED_ATTRIBUTE_NAMES) if (!(name in body)) delete merged[name];
  return merged;
}

/** The context an evaluation outcome tells derived events about, if any. */
export function evaluatedContext(outcome: ConversionOutcome): { key: string; text: string } | undefined {
  if (outcome.kind === 'impression') return { key: outcome.item.context.key, text: outcome.contextText };
  return outcome.kind === 'elsewhere' ? outcome.context : undefined;
}

export function createConverter(options: ConverterOptions = {}): Converter {
  const providers = new Set((options.providerNames ?? []).map((name) => name.toLowerCase()));
  const consumer = options.consumer ?? DELIVERY_COLLECTOR;
  const candidateNames = new Set([...FLAG_EVALUATION_EVENT_NAMES, EVENT_FLAGSYNC_TRACK]);
  const parse = memoizedParse();
  const timestamp = timestampFormatter();
  return {
    attributeNames: CONVERTER_ATTRIBUTE_NAMES,
    isCandidateName: (name) => name !== undefined && candidateNames.has(name),
    convert(event) {
      if (event.name === EVENT_FLAGSYNC_TRACK) return convertTrack(event, consumer, parse, timestamp);
      if (FLAG_EVALUATION_EVENT_NAMES.includes(event.name))
        return convertEvaluation(event, consumer, providers, parse, timestamp);
      return IGNORED;
    },
  };
}

type Parse = (text: string) => ReturnType<typeof parseJsonText>;
type Timestamp = (timeMs: number) => string | undefined;

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

/** FlagSync's timestamp (ISO-8601 UTC, milliseconds); events of one batch mostly share their millisecond. */
function timestampFormatter(): Timestamp {
  let lastMs = Number.NaN;
  let lastIso: string | undefined;
  return (timeMs) => {
    if (!Number.isFinite(timeMs)) return undefined;
    const ms = Math.floor(timeMs);
    if (ms !== lastMs) {
      const date = new Date(ms);
      lastMs = ms;
      lastIso = Number.isNaN(date.getTime()) ? undefined : date.toISOString();
    }
    return lastIso;
  };
}

/**
 * Who delivers the call, when it is not `consumer`: `flagsync.delivery`, or the legacy `flagsync.impression: false`
 * (the SDK). Events without either (other emitters, earlier versions) are taken.
 */
function deliveredBy(a: Readonly<Record<string, unknown>>, consumer: Delivery): Delivery | 'invalid' | undefined {
  const by = a[ATTR_FLAGSYNC_DELIVERY];
  if (by === undefined) return a[LEGACY_ATTR_FLAGSYNC_IMPRESSION] === false ? DELIVERY_SDK : undefined;
  if (by === consumer) return undefined;
  return by === DELIVERY_SDK || by === DELIVERY_EXPORTER || by === DELIVERY_COLLECTOR ? by : 'invalid';
}

const DELIVERY_VALUES = [DELIVERY_SDK, DELIVERY_EXPORTER, DELIVERY_COLLECTOR].join(', ');
const INVALID_DELIVERY = `${ATTR_FLAGSYNC_DELIVERY} must be one of ${DELIVERY_VALUES}`;

function convertEvaluation(
  event: SourceEvent,
  consumer: Delivery,
  providers: Set<string>,
  parse: Parse,
  timestamp: Timestamp,
): ConversionOutcome {
  const a = event.attributes;
  const provider = a[ATTR_FEATURE_FLAG_PROVIDER_NAME] ?? a[LEGACY_ATTR_PROVIDER_NAME];
  if (typeof provider !== 'string') return IGNORED;
  // This package's own events carry the size marker; other emitters' only count for named providers.
  const ours = provider === PROVIDER_NAME && a[ATTR_FLAGSYNC_SIZE] !== undefined;
  if (!ours && !providers.has(provider.toLowerCase())) return IGNORED;
  // A flag the provider does not have (OpenFeature's `error.type`, `flag_not_found` or the older `FLAG_NOT_FOUND`): the
  // FlagSync SDK sends no impression for a missing flag, so none is made from another emitter's report of one either.
  if (!ours && isFlagNotFound(a[ATTR_ERROR_TYPE])) return IGNORED;
  if (!isIntact(a)) return DAMAGED;
  const by = deliveredBy(a, consumer);
  if (by === 'invalid') return reject(INVALID_DELIVERY);
  if (by !== undefined) {
    const context = a[ATTR_FLAGSYNC_CONTEXT] !== undefined ? userContext(a, parse) : undefined;
    return context && !('error' in context)
      ? { kind: 'elsewhere', by, context: { key: context.value.key, text: context.text } }
      : { kind: 'elsewhere', by };
  }

  const flagKey = a[ATTR_FEATURE_FLAG_KEY];
  if (typeof flagKey !== 'string' || flagKey === '')
    return reject(`${ATTR_FEATURE_FLAG_KEY} must be a non-empty string`);
  const time = timestamp(event.timeMs);
  if (!time) return reject('event time is not a valid time');
  const context = userContext(a, parse);
  if ('error' in context) return reject(context.error);
  const flagValue = evaluationValue(a, parse);
  if ('error' in flagValue) return reject(flagValue.error);
  // JSON.parse has proven each text is one valid JSON value, so it can be reused as is instead of
  // serialising the parsed copy again (the parsed item is kept for callers that inspect it).
  const json =
    `{"flagKey":${JSON.stringify(flagKey)},"flagValue":${flagValue.text},` +
    `"context":${context.text},"timestamp":"${time}"}`;
  return {
    kind: 'impression',
    item: { flagKey, flagValue: flagValue.value, context: context.value, timestamp: time },
    json,
    contextText: context.text,
  };
}

function isFlagNotFound(errorType: unknown): boolean {
  return typeof errorType === 'string' && errorType.toLowerCase() === ERROR_FLAG_NOT_FOUND;
}

function evaluationValue(
  a: Readonly<Record<string, unknown>>,
  parse: Parse,
): { value: JsonValue; text: string } | { error: string } {
  const json = a[ATTR_FLAGSYNC_VALUE];
  if (json !== undefined) {
    if (typeof json !== 'string') return { error: `${ATTR_FLAGSYNC_VALUE} must be JSON text` };
    const parsed = parse(json);
    return parsed.ok ? { value: parsed.value, text: json } : { error: `${ATTR_FLAGSYNC_VALUE} is not valid JSON` };
  }
  // Other emitters: the semconv value (any JSON-compatible type in the log form), else the variant.
  const value = a[ATTR_FEATURE_FLAG_RESULT_VALUE];
  if (value !== undefined)
    return isJsonValue(value)
      ? { value: value as JsonValue, text: JSON.stringify(value, exactIntegers) }
      : { error: `${ATTR_FEATURE_FLAG_RESULT_VALUE} is not a JSON value` };
  const variant = a[ATTR_FEATURE_FLAG_RESULT_VARIANT] ?? a[LEGACY_ATTR_VARIANT];
  if (typeof variant === 'string') return { value: variant, text: JSON.stringify(variant) };
  // Values left out on purpose (omitFlagValues): exposure is still counted.
  return { value: null, text: 'null' };
}

function convertTrack(event: SourceEvent, consumer: Delivery, parse: Parse, timestamp: Timestamp): ConversionOutcome {
  const a = event.attributes;
  if (!isIntact(a)) return DAMAGED;
  const by = deliveredBy(a, consumer);
  if (by === 'invalid') return reject(INVALID_DELIVERY);
  if (by !== undefined) return { kind: 'elsewhere', by };
  const eventKey = a[ATTR_FLAGSYNC_EVENT_KEY];
  if (typeof eventKey !== 'string' || eventKey === '')
    return reject(`${ATTR_FLAGSYNC_EVENT_KEY} must be a non-empty string`);
  if (a[ATTR_FLAGSYNC_CONTEXT] === undefined) return reject(`${ATTR_FLAGSYNC_CONTEXT} is required`);
  const time = timestamp(event.timeMs);
  if (!time) return reject('event time is not a valid time');
  const context = userContext(a, parse);
  if ('error' in context) return reject(context.error);

  // Absent stays absent: the SDKs send `value`/`properties` only when the app passed them.
  const value = jsonTextField(
    a,
    ATTR_FLAGSYNC_EVENT_VALUE,
    parse,
    (v) => v === null || (typeof v === 'number' && Number.isFinite(v)),
    'a number or null',
  );
  if (value && 'error' in value) return reject(value.error);
  const properties = jsonTextField(
    a,
    ATTR_FLAGSYNC_EVENT_PROPERTIES,
    parse,
    (v) => v === null || isPlainObject(v),
    'an object or null',
  );
  if (properties && 'error' in properties) return reject(properties.error);
  // Field order as the SDKs send it, so payloads read the same.
  const valueJson = value ? `,"value":${value.text}` : '';
  const propertiesJson = properties ? `,"properties":${properties.text}` : '';
  const eventKeyJson = JSON.stringify(eventKey);
  const fields = `${valueJson}${propertiesJson}`;
  const json = `{"context":${context.text},"eventKey":${eventKeyJson}${fields},"timestamp":"${time}"}`;
  const item: FlagSyncEvent = {
    context: context.value,
    eventKey,
    ...(value ? { value: value.value as number | null } : {}),
    ...(properties ? { properties: properties.value as Record<string, JsonValue> | null } : {}),
    timestamp: time,
  };
  return { kind: 'event', item, json };
}

/** An optional attribute holding JSON text whose value must pass `check`. */
function jsonTextField(
  a: Readonly<Record<string, unknown>>,
  name: string,
  parse: Parse,
  check: (value: JsonValue) => boolean,
  what: string,
): { value: JsonValue; text: string } | { error: string } | undefined {
  const raw = a[name];
  if (raw === undefined) return undefined;
  const parsed = typeof raw === 'string' ? parse(raw) : { ok: false as const };
  if (!parsed.ok || !check(parsed.value)) return { error: `${name} must be the JSON text of ${what}` };
  return { value: parsed.value, text: raw as string };
}

/**
 * The user context: this package's `flagsync.context` (the JSON text the SDK would send, used as
 * is), or for other emitters just the key from `feature_flag.context.id`.
 */
function userContext(
  a: Readonly<Record<string, unknown>>,
  parse: Parse,
): { value: FlagSyncUserContext; text: string } | { error: string } {
  const json = a[ATTR_FLAGSYNC_CONTEXT];
  if (json === undefined) {
    const key = a[ATTR_FEATURE_FLAG_CONTEXT_ID];
    if (typeof key !== 'string' || key === '')
      return { error: `${ATTR_FEATURE_FLAG_CONTEXT_ID} (the FlagSync context key) must be a non-empty string` };
    return { value: { key }, text: `{"key":${JSON.stringify(key)}}` };
  }
  const parsed = typeof json === 'string' ? parse(json) : { ok: false as const };
  const value = parsed.ok ? parsed.value : undefined;
  if (
    !isPlainObject(value) ||
    typeof value.key !== 'string' ||
    value.key === '' ||
    (value.attributes !== undefined && !isPlainObject(value.attributes))
  ) {
    return {
      error:
        `${ATTR_FLAGSYNC_CONTEXT} must be the JSON text of an object with a non-empty string key ` +
        'and an object of attributes',
    };
  }
  return { value: value as FlagSyncUserContext, text: json as string };
}

/** `JSON.rawJSON` (Node >= 21; not yet in TypeScript's lib). */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** Integers past 2^53 (decoded as BigInt from OTLP int64) are written with their exact digits. */
function exactIntegers(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? rawJSON(value.toString()) : value;
}

function isJsonValue(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint')
    return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (isPlainObject(value)) return Object.values(value).every((v) => isJsonValue(v, depth + 1));
  return false;
}

function reject(reason: string): ConversionOutcome {
  return { kind: 'rejected', reason };
}
