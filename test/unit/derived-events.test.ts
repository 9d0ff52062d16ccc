/** Derived events: rule validation and matching, and joining spans to the users of their trace. */
import { describe, expect, it } from 'vitest';
import { createDerivedEvents, DerivedEvents, TraceContexts } from '../../src/convert/derived-events.js';
import { compileRules, type DerivedEventRule, type SpanFacts } from '../../src/convert/derived-rules.js';

const span = (more: Partial<SpanFacts> = {}): SpanFacts => ({
  traceId: 't1',
  name: 'GET /checkout',
  kind: 'server',
  scope: '@opentelemetry/instrumentation-http',
  status: 'unset',
  durationNanos: 812_345_678,
  endMs: Date.UTC(2026, 10, 27, 10, 0, 0, 123),
  attributes: { 'http.route': '/checkout', 'http.response.status_code': 200 },
  ...more,
});
const CONTEXT = '{"key":"u1","attributes":{"plan":"pro"}}';
const latency: DerivedEventRule = { eventKey: 'latency_ms', match: { kind: 'server' }, value: { from: 'duration' } };

function joiner(rules: DerivedEventRule[], clock = { now: 0 }, options = {}) {
  const traces = new TraceContexts(options, () => clock.now);
  return { derived: createDerivedEvents({ derivedEvents: rules }, traces), traces, clock };
}

describe('derived-event rules: validation', () => {
  it.each([
    [{ eventKey: '', match: { kind: 'server' } }, 'derivedEvents[0]: eventKey must be a non-empty string'],
    [{ eventKey: 'e' }, 'derivedEvents[0]: match is required'],
    [{ eventKey: 'e', match: {} }, 'derivedEvents[0]: match needs at least one criterion'],
    [
      { eventKey: 'e', match: { kind: 'serverish' } },
      'derivedEvents[0]: match.kind must be one of internal, server, client, producer, consumer',
    ],
    [{ eventKey: 'e', match: { status: 'failed' } }, 'derivedEvents[0]: match.status must be one of unset, ok, error'],
    [
      { eventKey: 'e', match: { spanNameRegex: '(' } },
      'derivedEvents[0]: match.spanNameRegex is not a valid RE2 regular expression',
    ],
    [
      { eventKey: 'e', match: { spanNameRegex: '^(?!health)' } },
      'match.spanNameRegex is not a valid RE2 regular expression: error parsing regexp: invalid or unsupported Perl syntax',
    ],
    [
      { eventKey: 'e', match: { attributes: [{ key: 'a' }] } },
      'derivedEvents[0]: match.attributes[0] needs exactly one of equals, in, regex',
    ],
    [
      { eventKey: 'e', match: { attributes: [{ key: 'a', equals: 1, regex: 'x' }] } },
      'needs exactly one of equals, in, regex',
    ],
    [
      { eventKey: 'e', match: { attributes: [{ key: 'a', in: [] }] } },
      'match.attributes[0].in must be a non-empty list',
    ],
    [
      { eventKey: 'e', match: { attributes: [{ key: 'a', equals: { x: 1 } }] } },
      'match.attributes[0].equals must be a string, a finite number or a boolean',
    ],
    [
      { eventKey: 'e', match: { kind: 'server' }, value: { from: 'size' } },
      'value.from must be duration, attribute or flag',
    ],
    [
      { eventKey: 'e', match: { kind: 'server' }, value: { from: 'attribute' } },
      'value.key must name a numeric span attribute',
    ],
    [
      { eventKey: 'e', match: { kind: 'server' }, value: { from: 'flag', when: {} } },
      "value.when must be { status: 'error' } or { attribute: condition }",
    ],
    [
      { eventKey: 'e', match: { kind: 'server' }, value: { from: 'flag', when: { status: 'ok' } } },
      "value.when.status must be 'error'",
    ],
    [
      { eventKey: 'e', match: { kind: 'server' }, properties: ['ok', ''] },
      'properties must be a list of attribute keys',
    ],
  ])('%j: %s', (rule, message) => {
    expect(() => compileRules([rule as DerivedEventRule])).toThrow(message);
  });

  it('names the source of the rules', () => {
    expect(() =>
      compileRules([latency, { eventKey: 'e', match: {} } as DerivedEventRule], 'FLAGSYNC_DERIVED_EVENTS'),
    ).toThrow('FLAGSYNC_DERIVED_EVENTS[1]: match needs');
  });
});

describe('derived-event rules: matching and values', () => {
  const evaluate = (rule: DerivedEventRule, s: SpanFacts) => compileRules([rule])[0]!.evaluate(s);

  it('every criterion must hold', () => {
    const rule: DerivedEventRule = {
      eventKey: 'e',
      match: {
        spanName: 'GET /checkout',
        kind: 'server',
        scope: '@opentelemetry/instrumentation-http',
        status: 'unset',
        attributes: [{ key: 'http.route', equals: '/checkout' }],
      },
    };
    expect(evaluate(rule, span())).toBe('');
    expect(evaluate(rule, span({ name: 'GET /cart' }))).toBeUndefined();
    expect(evaluate(rule, span({ kind: 'client' }))).toBeUndefined();
    expect(evaluate(rule, span({ scope: 'undici' }))).toBeUndefined();
    expect(evaluate(rule, span({ status: 'error' }))).toBeUndefined();
    expect(evaluate(rule, span({ attributes: { 'http.route': '/cart' } }))).toBeUndefined();
  });

  it('attribute conditions: numbers as numbers (BigInt included), strings as strings, in, regex on strings only', () => {
    const cond = (condition: object, value: unknown) =>
      evaluate(
        { eventKey: 'e', match: { attributes: [{ key: 'a', ...condition }] } },
        span({ attributes: { a: value } }),
      ) !== undefined;
    expect(cond({ equals: 200 }, 200)).toBe(true);
    expect(cond({ equals: 200 }, 200n)).toBe(true);
    expect(cond({ equals: 200 }, '200')).toBe(false);
    expect(cond({ equals: '200' }, 200)).toBe(false);
    expect(cond({ equals: true }, true)).toBe(true);
    expect(cond({ in: [500, 502, 503] }, 502)).toBe(true);
    expect(cond({ in: [500, 502, 503] }, 404)).toBe(false);
    expect(cond({ regex: '^5\\d\\d$' }, '503')).toBe(true);
    expect(cond({ regex: '^5' }, 503)).toBe(false);
    expect(cond({ equals: 1 }, undefined)).toBe(false);
  });

  it('values: duration in ms (sub-millisecond kept), a numeric attribute, a flag; no value', () => {
    expect(evaluate(latency, span())).toBe('812.345678');
    expect(
      evaluate(
        { eventKey: 'e', match: { kind: 'server' }, value: { from: 'attribute', key: 'size' } },
        span({ attributes: { size: 9007199254740993n } }),
      ),
    ).toBe('9007199254740993');
    expect(
      evaluate(
        { eventKey: 'e', match: { kind: 'server' }, value: { from: 'attribute', key: 'size' } },
        span({ attributes: { size: 'big' } }),
      ),
    ).toBeUndefined();
    const errors: DerivedEventRule = {
      eventKey: 'e',
      match: { kind: 'server' },
      value: { from: 'flag', when: { status: 'error' } },
    };
    expect([evaluate(errors, span({ status: 'error' })), evaluate(errors, span())]).toEqual(['1', '0']);
    const slow: DerivedEventRule = {
      eventKey: 'e',
      match: { kind: 'server' },
      value: { from: 'flag', when: { attribute: { key: 'http.response.status_code', in: [500, 503] } } },
    };
    expect([
      evaluate(slow, span({ attributes: { 'http.response.status_code': 503 } })),
      evaluate(slow, span()),
    ]).toEqual(['1', '0']);
  });

  it("properties: only allow-listed scalars, in the list's order", () => {
    const rule = compileRules([
      { eventKey: 'e', match: { kind: 'server' }, properties: ['b', 'a', 'missing', 'list', 'nan', 'big'] },
    ])[0]!;
    expect(
      rule.properties(
        span({
          attributes: { a: 'x"y', b: true, list: [1, 2], nan: Number.NaN, big: 12345678901234567890n, secret: 's' },
        }),
      ),
    ).toBe(',"properties":{"b":true,"a":"x\\"y","big":12345678901234567890}');
    expect(rule.properties(span({ attributes: {} }))).toBe('');
  });
});

describe('joining spans to the users of their trace', () => {
  it("a matching span gives one event per context of its trace, with the span's end as its time", () => {
    const { derived } = joiner([latency]);
    derived.noteContext('t1', 'u1', CONTEXT);
    expect(derived.derive(span(), 's1').map((e) => e.json)).toEqual([
      `{"context":${CONTEXT},"eventKey":"latency_ms","value":812.345678,"timestamp":"2026-11-27T10:00:00.123Z"}`,
    ]);
  });

  it("a span before its trace's first evaluation waits and is attributed then, to the contexts known at that moment", () => {
    const { derived } = joiner([latency]);
    expect(derived.derive(span(), 's1')).toEqual([]);
    const released = derived.noteContext('t1', 'u1', CONTEXT);
    expect(released.map((e) => e.source)).toEqual([{ span: 's1', rule: 0, contextKey: 'u1' }]);
    // A later context is not added to an event already made.
    expect(derived.noteContext('t1', 'u2', '{"key":"u2"}')).toEqual([]);
  });

  it('several contexts in one trace: one event each, a repeated context once', () => {
    const { derived } = joiner([latency]);
    for (const key of ['u1', 'u2', 'u1']) derived.noteContext('t1', key, `{"key":"${key}"}`);
    expect(derived.derive(span(), 's1').map((e) => e.source.contextKey)).toEqual(['u1', 'u2']);
  });

  it('a trace with no evaluation within the window gives nothing, and is counted', () => {
    const { derived, traces, clock } = joiner([latency], { now: 0 }, { derivedEventsWindowMillis: 1000 });
    derived.derive(span(), 's1');
    clock.now = 1500;
    expect(derived.noteContext('t1', 'u1', CONTEXT)).toEqual([]);
    expect(traces.unattributed).toBe(1);
  });

  it('at most maxTraces traces are remembered: the oldest go first', () => {
    const { derived, traces } = joiner([latency], { now: 0 }, { derivedEventsMaxTraces: 2 });
    derived.derive(span({ traceId: 'a' }), 's1');
    derived.noteContext('b', 'u1', CONTEXT);
    derived.noteContext('c', 'u1', CONTEXT);
    expect(traces.unattributed).toBe(1);
    expect(derived.derive(span({ traceId: 'b' }), 's2')).toHaveLength(1);
  });

  it("the log exporter's evaluations count for the span exporter's spans (one trace memory); none is kept without rules", () => {
    const traces = new TraceContexts();
    const logSide = new DerivedEvents([], traces);
    expect(logSide.noteContext('t1', 'u1', CONTEXT)).toEqual([]);
    const spanSide = createDerivedEvents({ derivedEvents: [latency] }, traces);
    expect(spanSide.derive(span(), 's1')).toEqual([]); // noted before any rules existed: not kept
    logSide.noteContext('t1', 'u1', CONTEXT);
    expect(spanSide.derive(span({ traceId: 't1' }), 's2')).toHaveLength(1);
  });
});
