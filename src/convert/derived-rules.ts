/**
 * Derived events: rules that turn spans a team already records (HTTP server spans, document
 * loads, database calls) into FlagSync events, so experiments get latency and error metrics
 * without a track() call. The same rule shape is configured in the in-process exporters and the
 * collector's flagsync exporter (Go, snake_case keys); the golden vectors
 * in testdata/golden/derived.json hold the two implementations together.
 */
import { RE2JS } from 're2js';
import { FlagSyncConfigError } from '../config/delivery-config.js';
import { expandPresets, type DerivedEventsSetting } from './derived-presets.js';
import { SAMPLING_PROBABILITY_PROPERTY } from './derived-sampling.js';

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type SpanStatusName = 'unset' | 'ok' | 'error';
type Scalar = string | number | boolean;

/** A condition on one span attribute: exactly one of `equals`, `in`, `regex`. */
export interface AttributeCondition {
  key: string;
  /** The attribute equals this (numbers compare as numbers, an int 200 equals 200.0). */
  equals?: Scalar;
  /** The attribute equals one of these. */
  in?: readonly Scalar[];
  /** A string attribute matches this regular expression (RE2 syntax, unanchored; use ^ and $). */
  regex?: string;
}

export interface DerivedEventRule {
  /**
   * The FlagSync event key, as `track()` would take it. `{attribute}` in it is replaced by that
   * span attribute's value (`http.latency;route={http.route}`); a span without it gives no event.
   */
  eventKey: string;
  /** Which spans: every criterion given must hold; at least one is required. */
  match: {
    spanName?: string;
    /** RE2 syntax, unanchored. */
    spanNameRegex?: string;
    kind?: SpanKindName;
    /** Instrumentation scope name, e.g. `@opentelemetry/instrumentation-http`. */
    scope?: string;
    status?: SpanStatusName;
    attributes?: readonly AttributeCondition[];
  };
  /**
   * What the event carries as `value`. `duration`: the span's duration in milliseconds.
   * `attribute`: a numeric span attribute (a span without it gives no event). `flag`: 1 when the
   * span's status is error (`when: { status: 'error' }`) or the attribute condition holds, else 0.
   * Omitted: no value (a plain event, counted).
   */
  value?:
    | { from: 'duration' }
    | { from: 'attribute'; key: string }
    | { from: 'flag'; when: { status: 'error' } | { attribute: AttributeCondition } };
  /**
   * Span attributes copied into the event's `properties` (an allow list; nothing else leaves).
   * `sampling.probability` is not one: derived events write it themselves (derived-sampling.ts).
   */
  properties?: readonly string[];
}

/** What rules read of a span; the same from the SDK's spans and from decoded OTLP. */
export interface SpanFacts {
  /** Trace and span ids as the caller keeps them (hex or raw); only compared, never interpreted. */
  traceId: string;
  name: string;
  kind: SpanKindName | undefined;
  scope: string;
  status: SpanStatusName;
  /** End minus start, in nanoseconds (exact below 2^53). */
  durationNanos: number;
  /** End time, milliseconds since the epoch (the derived event's timestamp). */
  endMs: number;
  /** The span's attributes (decoders may give only those the rules read). */
  attributes: Readonly<Record<string, unknown>>;
  /** Its W3C tracestate, if any (the sampling probability may be in it: derived-sampling.ts). */
  traceState?: string;
}

export interface CompiledRule {
  readonly index: number;
  /** The kind and exact span name the rule requires, if any (for indexing rules by span). */
  readonly kind: SpanKindName | undefined;
  readonly spanName: string | undefined;
  readonly eventKey: string;
  /** The attributes this rule reads (decoders skip the values of the others). */
  readonly attributeNames: readonly string[];
  /** The event key's JSON text for this span, undefined when a `{attribute}` of it is missing. */
  eventKeyJson(span: SpanFacts): string | undefined;
  /** The `value` JSON text for a matching span, '' for no value; undefined when it does not match. */
  evaluate(span: SpanFacts): string | undefined;
  /** `,"properties":{...}` or ''; `extra` (`"key":value` text) is written last. */
  properties(span: SpanFacts, extra?: string): string;
}

const KINDS: readonly SpanKindName[] = ['internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES: readonly SpanStatusName[] = ['unset', 'ok', 'error'];

/**
 * Validates rules (presets expanded: derived-presets.ts) and prepares them; throws a
 * FlagSyncConfigError naming the rule and field.
 */
export function compileRules(setting: DerivedEventsSetting | undefined, source = 'derivedEvents'): CompiledRule[] {
  const rules = expandPresets(setting, source);
  if (rules === undefined) return [];
  // Indexes are those of the expanded list (a preset's rules take one each), as in the Go component.
  return rules.map((rule, index) => compileRule(rule, index, `${source}[${index}]`));
}

function compileRule(rule: DerivedEventRule, index: number, at: string): CompiledRule {
  const fail = (message: string): never => {
    throw new FlagSyncConfigError(`${at}: ${message}`);
  };
  if (!rule || typeof rule !== 'object') fail('must be an object');
  if (typeof rule.eventKey !== 'string' || rule.eventKey === '') fail('eventKey must be a non-empty string');
  const match = rule.match;
  if (!match || typeof match !== 'object') fail('match is required (span name, kind, scope, status or attributes)');
  // Cheapest and most selective first: a span meeting no rule costs a comparison per rule.
  const tests: ((span: SpanFacts) => boolean)[] = [];
  const names = new Set<string>();
  if (match.kind !== undefined) {
    const kind = KINDS.includes(match.kind) ? match.kind : fail(`match.kind must be one of ${KINDS.join(', ')}`);
    tests.push((span) => span.kind === kind);
  }
  if (match.status !== undefined) {
    const status = STATUSES.includes(match.status)
      ? match.status
      : fail(`match.status must be one of ${STATUSES.join(', ')}`);
    tests.push((span) => span.status === status);
  }
  if (match.spanName !== undefined) {
    const name = typeof match.spanName === 'string' ? match.spanName : fail('match.spanName must be a string');
    tests.push((span) => span.name === name);
  }
  if (match.scope !== undefined) {
    const scope = typeof match.scope === 'string' ? match.scope : fail('match.scope must be a string');
    tests.push((span) => span.scope === scope);
  }
  if (match.attributes !== undefined) {
    if (!Array.isArray(match.attributes)) fail('match.attributes must be a list of conditions');
    match.attributes.forEach((condition, i) => {
      const test = compileCondition(condition, `match.attributes[${i}]`, fail);
      names.add(condition.key);
      tests.push((span) => test(span.attributes[condition.key]));
    });
  }
  if (match.spanNameRegex !== undefined) {
    const re = regex(match.spanNameRegex, 'match.spanNameRegex', fail);
    tests.push((span) => re.test(span.name));
  }
  if (tests.length === 0)
    fail('match needs at least one criterion: a rule matching every span is almost surely a mistake');

  const value = compileValue(rule.value, names, fail);
  const properties = rule.properties ?? [];
  if (!Array.isArray(properties) || !properties.every((p) => typeof p === 'string' && p !== ''))
    fail('properties must be a list of attribute keys');
  if (properties.includes(SAMPLING_PROBABILITY_PROPERTY))
    fail(`properties: ${SAMPLING_PROBABILITY_PROPERTY} is written by derived events themselves`);
  for (const p of properties) names.add(p);
  const propertyKeys = properties.map((key) => [key, `${JSON.stringify(key)}:`] as const);
  const eventKeyJson = compileEventKey(rule.eventKey, names);

  return {
    index,
    kind: match.kind,
    spanName: match.spanName,
    eventKey: rule.eventKey,
    eventKeyJson,
    attributeNames: [...names],
    evaluate(span) {
      for (const test of tests) if (!test(span)) return undefined;
      return value(span);
    },
    properties(span, extra) {
      let out = '';
      for (const [key, prefix] of propertyKeys) {
        const text = scalarJson(span.attributes[key]);
        if (text !== undefined) out += (out ? ',' : '') + prefix + text;
      }
      if (extra) out += (out ? ',' : '') + extra;
      return out ? `,"properties":{${out}}` : '';
    },
  };
}

/** `{attribute}` in an event key: a name without braces (the rest of the key is literal text). */
const PLACEHOLDER = /\{([^{}]+)\}/g;

/** The event key's JSON for a span: fixed, or with its placeholders filled from the span's attributes. */
function compileEventKey(eventKey: string, names: Set<string>): (span: SpanFacts) => string | undefined {
  const parts = eventKey.split(PLACEHOLDER);
  if (parts.length === 1) {
    const json = JSON.stringify(eventKey);
    return () => json;
  }
  // parts alternate: literal, attribute key, literal, ...
  for (let i = 1; i < parts.length; i += 2) names.add(parts[i]!);
  return (span) => {
    let key = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const text = placeholderText(span.attributes[parts[i]!]);
      if (text === undefined) return undefined;
      key += text + parts[i + 1]!;
    }
    return key === '' ? undefined : JSON.stringify(key);
  };
}

/** An attribute's text in an event key: a non-empty string as is, a finite number or a boolean as JSON writes it. */
function placeholderText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'boolean') return String(value);
  return numericJson(value);
}

type Fail = (message: string) => never;

function compileValue(
  value: DerivedEventRule['value'],
  names: Set<string>,
  fail: Fail,
): (span: SpanFacts) => string | undefined {
  if (value === undefined) return () => '';
  if (!value || typeof value !== 'object')
    return fail('value must be an object with from: duration, attribute or flag');
  switch (value.from) {
    case 'duration':
      return (span) => numberJson(span.durationNanos / 1e6);
    case 'attribute': {
      const key =
        typeof value.key === 'string' && value.key !== ''
          ? value.key
          : fail('value.key must name a numeric span attribute');
      names.add(key);
      return (span) => numericJson(span.attributes[key]);
    }
    case 'flag': {
      const when = value.when as { status?: unknown; attribute?: AttributeCondition } | undefined;
      if (!when || typeof when !== 'object' || (when.status === undefined) === (when.attribute === undefined)) {
        return fail("value.when must be { status: 'error' } or { attribute: condition }");
      }
      if (when.status !== undefined) {
        if (when.status !== 'error') fail("value.when.status must be 'error'");
        return (span) => (span.status === 'error' ? '1' : '0');
      }
      const condition = when.attribute!;
      const test = compileCondition(condition, 'value.when.attribute', fail);
      names.add(condition.key);
      return (span) => (test(span.attributes[condition.key]) ? '1' : '0');
    }
    default:
      return fail('value.from must be duration, attribute or flag');
  }
}

function compileCondition(condition: AttributeCondition, at: string, fail: Fail): (value: unknown) => boolean {
  if (!condition || typeof condition !== 'object' || typeof condition.key !== 'string' || condition.key === '')
    fail(`${at}.key must be a non-empty string`);
  const given = [condition.equals, condition.in, condition.regex].filter((v) => v !== undefined).length;
  if (given !== 1) fail(`${at} needs exactly one of equals, in, regex`);
  if (condition.equals !== undefined) {
    const expected = scalar(condition.equals, `${at}.equals`, fail);
    return (value) => sameScalar(value, expected);
  }
  if (condition.in !== undefined) {
    if (!Array.isArray(condition.in) || condition.in.length === 0) fail(`${at}.in must be a non-empty list`);
    const expected = condition.in.map((v, i) => scalar(v, `${at}.in[${i}]`, fail));
    return (value) => expected.some((e) => sameScalar(value, e));
  }
  const re = regex(condition.regex, `${at}.regex`, fail);
  return (value) => typeof value === 'string' && re.test(value);
}

function scalar(value: unknown, at: string, fail: Fail): Scalar {
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))
    return value;
  return fail(`${at} must be a string, a finite number or a boolean`);
}

/** Strings equal strings, booleans booleans, numbers numbers (an int64 attribute decoded as BigInt included). */
function sameScalar(value: unknown, expected: Scalar): boolean {
  if (typeof expected === 'number')
    return (typeof value === 'number' || typeof value === 'bigint') && Number(value) === expected;
  return value === expected;
}

/** A compiled rule pattern: RE2 semantics, matched in linear time, the same verdicts as Go's regexp. */
interface Pattern {
  test(value: string): boolean;
}

/** Compile a rule pattern, or throw a FlagSyncConfigError naming it (exported for the golden test). */
export function compilePattern(source: string, at: string): Pattern {
  return regex(source, at, (message) => {
    throw new FlagSyncConfigError(message);
  });
}

function regex(source: unknown, at: string, fail: Fail): Pattern {
  if (typeof source !== 'string' || source === '') return fail(`${at} must be a non-empty regular expression`);
  let compiled: RE2JS;
  try {
    // RE2JS, the JavaScript port of RE2: what Go's regexp (the collector's component) accepts and
    // how it matches, with no backtracking (a rule like `(a+)+$` cannot stall the app's event loop).
    compiled = RE2JS.compile(source);
  } catch (error) {
    return fail(`${at} is not a valid RE2 regular expression: ${(error as Error).message}`);
  }
  return { test: (value) => compiled.matcher(value).find() };
}

/** A finite number's JSON text, as the SDKs send numbers. */
function numberJson(n: number): string | undefined {
  return Number.isFinite(n) ? JSON.stringify(n) : undefined;
}

function numericJson(value: unknown): string | undefined {
  if (typeof value === 'number') return numberJson(value);
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

/** A property value's JSON text: strings, finite numbers, booleans; anything else is left out. */
function scalarJson(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  return numericJson(value);
}
