/** Rule presets (derived-presets.ts): what a name expands to, where it may stand, and the errors for a wrong one. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expandPresets, PRESETS } from '../../src/convert/derived-presets.js';
import { compileRules, type SpanFacts } from '../../src/convert/derived-rules.js';

const golden = JSON.parse(
  readFileSync(new URL('../../testdata/golden/rules/presets.json', import.meta.url), 'utf8'),
) as { presets: unknown };

const span = (attributes: Record<string, unknown>, more: Partial<SpanFacts> = {}): SpanFacts => ({
  traceId: 't',
  name: 'GET',
  kind: 'server',
  scope: '@opentelemetry/instrumentation-http',
  status: 'unset',
  durationNanos: 12_500_000,
  endMs: 0,
  attributes,
  ...more,
});

describe('derived-event presets', () => {
  it('the expansion is the one the Go component holds to (testdata/golden/rules/presets.json)', () => {
    expect(golden.presets).toEqual(PRESETS);
  });

  it("'http' alone, or { preset: 'http' } in a list of rules, in its place", () => {
    const own = { eventKey: 'mine', match: { spanName: 'x' } };
    expect(expandPresets('http')).toBe(PRESETS.http);
    expect(expandPresets([own, { preset: 'http' }, own])).toEqual([own, ...PRESETS.http, own]);
    expect(expandPresets([own])).toEqual([own]);
    expect(expandPresets(undefined)).toBeUndefined();
  });

  it('a wrong preset name or a preset entry with rule fields: an error naming it and the presets', () => {
    expect(() => expandPresets('grpc' as 'http')).toThrow(
      'derivedEvents must be one of the presets: http (got "grpc")',
    );
    expect(() => compileRules([{ preset: 'http', eventKey: 'x' } as never], 'FLAGSYNC_DERIVED_EVENTS')).toThrow(
      'FLAGSYNC_DERIVED_EVENTS[0]: a preset entry takes only preset (found eventKey)',
    );
    expect(() => compileRules({} as never)).toThrow('derivedEvents must be a preset name or a list of rules');
  });

  it('http: latency and error rate, global and per route (method and http.route in the key)', () => {
    const rules = compileRules('http');
    const facts = span({ 'http.request.method': 'GET', 'http.route': '/users/:id' }, { status: 'error' });
    expect(rules.map((r) => [r.eventKeyJson(facts), r.evaluate(facts)])).toEqual([
      ['"otel.http.latency"', '12.5'],
      ['"otel.http.error"', '1'],
      ['"http.latency;method=GET;route=/users/:id"', '12.5'],
      ['"http.error;method=GET;route=/users/:id"', '1'],
    ]);
    // No route known: the global events only.
    const noRoute = span({ 'http.request.method': 'POST' });
    expect(rules.map((r) => r.eventKeyJson(noRoute))).toEqual([
      '"otel.http.latency"',
      '"otel.http.error"',
      undefined,
      undefined,
    ]);
    // Not an HTTP server span (old semconv http.method, or another kind): no rule matches.
    expect(rules.map((r) => r.evaluate(span({ 'http.method': 'GET' })))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(rules.map((r) => r.evaluate(span({ 'http.request.method': 'GET' }, { kind: 'client' })))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    // The decoders are told to keep the attributes the keys read.
    expect(rules[2]!.attributeNames).toEqual(['http.request.method', 'http.route']);
  });
});
