/** The sampling probability of a derived event (derived-sampling.ts): from tracestate ot=th:, else the app's sampler. */
import { describe, expect, it } from 'vitest';
import { compileRules } from '../../src/convert/derived-rules.js';
import { probabilityFromTraceState } from '../../src/convert/derived-sampling.js';
import { DerivedEvents, TraceContexts } from '../../src/convert/derived-events.js';
import { probabilityFromDescription } from '../../src/otel/sampler-probability.js';

describe('sampling probability', () => {
  it.each([
    ['ot=th:0', 1],
    ['ot=th:8', 0.5],
    ['ot=th:c', 0.25],
    ['vendor=x, ot=rv:0123456789abcd;th:c;x:y', 0.25],
    // 13 digits, padded: T = 0xfffffffffffff0.
    ['ot=th:fffffffffffff', 16 / 2 ** 56],
    ['', undefined],
    [undefined, undefined],
    ['ot=rv:0123456789abcd', undefined],
    ['ot=th:C', undefined],
    ['ot=th:', undefined],
    ['ot=th:123456789abcdef', undefined],
    ['other=th:8', undefined],
  ])('tracestate %j: %s', (traceState, p) => {
    expect(probabilityFromTraceState(traceState)).toBe(p);
  });

  it.each([
    ['AlwaysOnSampler', 1],
    ['TraceIdRatioBased{0.1}', 0.1],
    [
      'ParentBased{root=TraceIdRatioBased{0.25}, remoteParentSampled=AlwaysOnSampler, ' +
        'remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}',
      0.25,
    ],
    ['ParentBased{root=AlwaysOnSampler, remoteParentSampled=AlwaysOnSampler}', 1],
    ['AlwaysOffSampler', undefined],
    ['TraceIdRatioBased{2}', undefined],
    ['RecordOnly', undefined],
  ])("the app's sampler described as %s: %s", (description, p) => {
    expect(probabilityFromDescription(description)).toBe(p);
  });

  it("each derived event carries it as a property: the span's tracestate first, else the configured sampler's", () => {
    const traces = new TraceContexts();
    const derived = new DerivedEvents(
      compileRules([
        { eventKey: 'latency', match: { kind: 'server' }, value: { from: 'duration' }, properties: ['r'] },
      ]),
      traces,
    );
    derived.samplingProbability = 0.1;
    traces.note('t1', 'u', '{"key":"u"}');
    traces.note('t2', 'u', '{"key":"u"}');
    const facts = { name: 's', kind: 'server', scope: '', status: 'unset', durationNanos: 1e6, endMs: 0 } as const;
    const [fromState] = derived.derive(
      { ...facts, traceId: 't1', attributes: { r: 'x' }, traceState: 'ot=th:8' },
      's1',
    );
    const [fromSampler] = derived.derive({ ...facts, traceId: 't2', attributes: {} }, 's2');
    expect(JSON.parse(fromState!.json).properties).toEqual({ r: 'x', 'sampling.probability': 0.5 });
    expect(fromState!.probability).toBe(0.5);
    expect(JSON.parse(fromSampler!.json).properties).toEqual({ 'sampling.probability': 0.1 });
  });

  it('a rule may not allow-list the property derived events write themselves', () => {
    expect(() =>
      compileRules([{ eventKey: 'e', match: { kind: 'server' }, properties: ['sampling.probability'] }]),
    ).toThrow('derivedEvents[0]: properties: sampling.probability is written by derived events themselves');
  });
});
