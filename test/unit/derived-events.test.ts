/** Derived events: rule validation and matching, and joining spans to the users of their trace. */
import { describe, expect, it } from 'vitest';
import { FlagSyncConfigError } from '../../src/config/options.js';
import { resolveTraceMemoryConfig } from '../../src/config/trace-memory-config.js';
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

describe("the trace memory's bounds (as the Go component's: derivedEventsMaxPerTrace, derivedEventsMaxBytes)", () => {
  const errors: DerivedEventRule = {
    eventKey: 'checkout_error',
    match: { kind: 'server' },
    value: { from: 'flag', when: { status: 'error' } },
  };
  const users = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);
  const sources = (events: readonly { source: { span: string; rule: number; contextKey: string } }[]) =>
    events.map((e) => `${e.source.span}/${e.source.rule}/${e.source.contextKey}`);

  it('defaults equal the Go component’s; a bad value or variable throws naming it', () => {
    expect(resolveTraceMemoryConfig({}, {})).toEqual({
      derivedEventsWindowMillis: 300_000,
      derivedEventsMaxTraces: 100_000,
      derivedEventsMaxBytes: 64 << 20,
      derivedEventsMaxPerTrace: 1000,
    });
    expect(resolveTraceMemoryConfig({}, { FLAGSYNC_DERIVED_EVENTS_MAX_PER_TRACE: '50' })).toMatchObject({
      derivedEventsMaxPerTrace: 50,
    });
    expect(() => new TraceContexts({ derivedEventsMaxPerTrace: 0 })).toThrow(
      new FlagSyncConfigError('option derivedEventsMaxPerTrace must be an integer from 1 to 1000000, got 0'),
    );
    expect(() => resolveTraceMemoryConfig({}, { FLAGSYNC_DERIVED_EVENTS_MAX_BYTES: '1000' })).toThrow(
      'env FLAGSYNC_DERIVED_EVENTS_MAX_BYTES must be an integer from 1048576 to 68719476736, got "1000"',
    );
  });

  it('one trace with many users and many spans: at most maxPerTrace contexts kept and events made, the rest counted', () => {
    const { derived, traces } = joiner([latency], { now: 0 }, { derivedEventsMaxPerTrace: 10 });
    for (const user of users(12)) derived.noteContext('t1', user, `{"key":"${user}"}`);
    const made = [1, 2, 3, 4, 5].map((i) => sources(derived.derive(span(), `s${i}`)));
    // The first span takes the trace's 10 events (contexts u0..u9; u10 and u11 were not kept).
    expect(made).toEqual([users(10).map((u) => `s1/0/${u}`), [], [], [], []]);
    // 2 contexts beyond the bound; then 4 spans × 10 contexts not made.
    expect(traces.dropped).toEqual({ max_bytes: 0, max_per_trace: 2 + 40 });
    expect(traces.unattributed).toBe(0);
  });

  it("the issue's trace: 20,000 users and 50 matching spans of two rules make 1,000 events, not 2 million", () => {
    const { derived, traces } = joiner([latency, errors]);
    for (const user of users(20_000)) derived.noteContext('t1', user, `{"key":"${user}"}`);
    let made = 0;
    for (let i = 0; i < 50; i++) made += derived.derive(span(), `s${i}`).length;
    expect(made).toBe(1000);
    // 19,000 contexts not kept; of the 50 × 2 spans' 1,000 events each, 99 × 1,000 not made.
    expect(traces.dropped).toEqual({ max_bytes: 0, max_per_trace: 19_000 + 99_000 });
    // What is held: the trace and its 1,000 contexts (key u0..u999 and its text).
    const held = users(1000).reduce((n, u) => n + u.length + `{"key":"${u}"}`.length, 160);
    expect(traces.bytes).toBe(held);
  });

  it("with the bound reached, a later rule's events of the trace are not made (the first attributed take it)", () => {
    const { derived, traces } = joiner([latency, errors], { now: 0 }, { derivedEventsMaxPerTrace: 4 });
    for (const user of users(3)) derived.noteContext('t1', user, `{"key":"${user}"}`);
    expect(sources(derived.derive(span(), 's1'))).toEqual(['s1/0/u0', 's1/0/u1', 's1/0/u2', 's1/1/u0']);
    expect(traces.dropped).toEqual({ max_bytes: 0, max_per_trace: 2 });
  });

  it('at most maxPerTrace spans wait for a trace; the ones kept are attributed when its first context comes', () => {
    const { derived, traces } = joiner([latency], { now: 0 }, { derivedEventsMaxPerTrace: 2 });
    for (const id of ['s1', 's2', 's3']) expect(derived.derive(span(), id)).toEqual([]);
    expect(traces.dropped).toEqual({ max_bytes: 0, max_per_trace: 1 });
    expect(sources(derived.noteContext('t1', 'u1', CONTEXT))).toEqual(['s1/0/u1', 's2/0/u1']);
    expect(traces.dropped).toEqual({ max_bytes: 0, max_per_trace: 1 });
  });

  it('bytes are tracked as things are kept and forgotten: contexts, waiting spans, 160 per trace', () => {
    const { derived, traces } = joiner([latency]);
    derived.noteContext('t1', 'u1', CONTEXT);
    expect(traces.bytes).toBe(160 + 'u1'.length + CONTEXT.length);
    derived.derive(span({ traceId: 't2' }), 's1');
    const tail = ',"eventKey":"latency_ms","value":812.345678,"timestamp":"2026-11-27T10:00:00.123Z"}';
    expect(traces.bytes).toBe(160 + 2 + CONTEXT.length + 160 + tail.length + 's1'.length);
    // The waiting span is attributed: its bytes go, the context's are kept.
    expect(derived.noteContext('t2', 'u1', CONTEXT)).toHaveLength(1);
    expect(traces.bytes).toBe(2 * (160 + 2 + CONTEXT.length));
    traces.close();
    expect(traces.bytes).toBe(0);
  });

  it('the byte bound: the oldest traces make room (their waiting spans counted as max_bytes); what cannot fit is refused', () => {
    const big: DerivedEventRule = { ...latency, properties: ['blob'] };
    const { derived, traces } = joiner([big], { now: 0 }, { derivedEventsMaxBytes: 1 << 20 });
    const blob = 'x'.repeat(400_000);
    const bigSpan = (traceId: string) => span({ traceId, attributes: { blob } });
    derived.derive(bigSpan('a'), 's1');
    derived.derive(bigSpan('b'), 's2');
    expect(traces.dropped).toEqual({ max_bytes: 0, max_per_trace: 0 });
    // A third waiting span does not fit beside the two: trace a, and its span, go.
    derived.derive(bigSpan('c'), 's3');
    expect(traces.dropped).toEqual({ max_bytes: 1, max_per_trace: 0 });
    expect(traces.bytes).toBeLessThanOrEqual(1 << 20);
    expect(derived.noteContext('a', 'u1', CONTEXT)).toEqual([]);
    expect(sources(derived.noteContext('b', 'u1', CONTEXT))).toEqual(['s2/0/u1']);
    // A context larger than the whole bound is not kept, and forgets no other trace in vain.
    expect(derived.noteContext('c', 'huge', 'y'.repeat(1 << 20))).toEqual([]);
    expect(traces.dropped).toEqual({ max_bytes: 2, max_per_trace: 0 });
    expect(sources(derived.noteContext('c', 'u1', CONTEXT))).toEqual(['s3/0/u1']);
    expect(traces.unattributed).toBe(0);
  });

  it('closing the memory (the last exporter shut down): spans still waiting count as unattributed', () => {
    const { derived, traces } = joiner([latency]);
    derived.derive(span(), 's1');
    derived.derive(span({ traceId: 't2' }), 's2');
    traces.close();
    expect(traces.unattributed).toBe(2);
    expect(traces.dropped).toEqual({ max_bytes: 0, max_per_trace: 0 });
  });
});
