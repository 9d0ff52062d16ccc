import { describe, expect, it } from 'vitest';
import { createConverter, withBodyFields, type SourceEvent } from '../../src/convert/converter.js';
import { payloadSize } from '../../src/convert/payload-size.js';

const T = Date.UTC(2026, 10, 25, 10, 0, 0, 123);
// Most cases here are written as another emitter would write them (no size marker): name the provider.
const converter = createConverter({ providerNames: ['FlagSync'] });
const CONTEXT_REASON =
  'flagsync.context must be the JSON text of an object with a non-empty string key and an object of attributes';

function flagEvent(attributes: Record<string, unknown>, name = 'feature_flag.evaluation'): SourceEvent {
  return {
    name,
    timeMs: T,
    attributes: {
      'feature_flag.provider.name': 'FlagSync',
      'feature_flag.key': 'f',
      'feature_flag.context.id': 'u1',
      ...attributes,
    },
  };
}
function trackEvent(attributes: Record<string, unknown>): SourceEvent {
  return {
    name: 'flagsync.track',
    timeMs: T,
    attributes: { 'flagsync.event.key': 'k', 'flagsync.context': '{"key":"u1"}', ...attributes },
  };
}
/** With the size marker this package writes. */
function sized(event: SourceEvent): SourceEvent {
  return { ...event, attributes: { 'flagsync.size': payloadSize(event.attributes), ...event.attributes } };
}

describe('converter: flag evaluations', () => {
  it('builds the impression with a millisecond UTC timestamp', () => {
    expect(
      converter.convert(
        flagEvent({ 'flagsync.value': '"Join Now"', 'flagsync.context': '{"key":"u1","attributes":{"plan":"pro"}}' }),
      ),
    ).toEqual({
      kind: 'impression',
      item: {
        flagKey: 'f',
        flagValue: 'Join Now',
        context: { key: 'u1', attributes: { plan: 'pro' } },
        timestamp: '2026-11-25T10:00:00.123Z',
      },
      json: '{"flagKey":"f","flagValue":"Join Now","context":{"key":"u1","attributes":{"plan":"pro"}},"timestamp":"2026-11-25T10:00:00.123Z"}',
      contextText: '{"key":"u1","attributes":{"plan":"pro"}}',
    });
  });

  it('keeps texts from other emitters as they are, still valid JSON (whitespace, escapes)', () => {
    const outcome = converter.convert(
      flagEvent({
        'flagsync.value': ' { "a" : [1, 2] } ',
        'flagsync.context': '{"key":"u1","attributes":{"name":"\\u00e9"}}',
      }),
    );
    expect(outcome.kind).toBe('impression');
    if (outcome.kind !== 'impression') return;
    expect(JSON.parse(outcome.json)).toEqual(outcome.item);
  });

  it('truncates sub-millisecond time, as the SDK clock would', () => {
    const outcome = converter.convert({ ...flagEvent({ 'flagsync.value': '1' }), timeMs: T + 0.9 });
    expect(outcome.kind === 'impression' && outcome.item.timestamp).toBe('2026-11-25T10:00:00.123Z');
  });

  it('ignores other providers and other event names; a call another deliverer has is elsewhere', () => {
    expect(
      converter.convert(flagEvent({ 'feature_flag.provider.name': 'LaunchDarkly', 'flagsync.value': '1' })).kind,
    ).toBe('ignored');
    expect(converter.convert(flagEvent({ 'flagsync.value': '1' }, 'exception')).kind).toBe('ignored');
    expect(converter.convert(flagEvent({ 'flagsync.value': '1', 'flagsync.impression': false }))).toMatchObject({
      kind: 'elsewhere',
      by: 'sdk',
    });
    expect(converter.convert(flagEvent({ 'flagsync.value': '1', 'flagsync.delivery': 'exporter' }))).toMatchObject({
      kind: 'elsewhere',
      by: 'exporter',
    });
    expect(converter.isCandidateName('http.request')).toBe(false);
  });

  it('accepts OpenFeature-style events (semconv value, no flagsync.* attributes)', () => {
    const outcome = converter.convert(
      flagEvent({ 'feature_flag.result.value': true, 'feature_flag.result.variant': 'on' }),
    );
    expect(outcome).toEqual({
      kind: 'impression',
      item: { flagKey: 'f', flagValue: true, context: { key: 'u1' }, timestamp: '2026-11-25T10:00:00.123Z' },
      json: '{"flagKey":"f","flagValue":true,"context":{"key":"u1"},"timestamp":"2026-11-25T10:00:00.123Z"}',
      contextText: '{"key":"u1"}',
    });
  });

  it('accepts the legacy event name, provider attribute and variant', () => {
    const legacy = {
      name: 'feature_flag',
      timeMs: T,
      attributes: {
        'feature_flag.provider_name': 'flagsync',
        'feature_flag.key': 'f',
        'feature_flag.context.id': 'u1',
        'feature_flag.variant': 'Sign Up',
      },
    };
    expect(converter.convert(legacy)).toEqual({
      kind: 'impression',
      item: { flagKey: 'f', flagValue: 'Sign Up', context: { key: 'u1' }, timestamp: '2026-11-25T10:00:00.123Z' },
      json: '{"flagKey":"f","flagValue":"Sign Up","context":{"key":"u1"},"timestamp":"2026-11-25T10:00:00.123Z"}',
      contextText: '{"key":"u1"}',
    });
  });

  it("takes this package's own events (size marker) by default, other emitters' only for named providers", () => {
    const byDefault = createConverter();
    expect(
      byDefault.convert(sized(flagEvent({ 'flagsync.value': '1', 'flagsync.context': '{"key":"u1"}' }))).kind,
    ).toBe('impression');
    expect(byDefault.convert(flagEvent({ 'feature_flag.result.value': 1 })).kind).toBe('ignored');
    expect(
      byDefault.convert(sized(flagEvent({ 'feature_flag.provider.name': 'flagsync', 'flagsync.value': '1' }))).kind,
    ).toBe('ignored');
  });

  it('uses configured provider names', () => {
    const openFeature = createConverter({ providerNames: ['FlagSync', 'flagsync-openfeature'] });
    expect(
      openFeature.convert(
        flagEvent({ 'feature_flag.provider.name': 'FlagSync-OpenFeature', 'feature_flag.result.value': 3 }),
      ).kind,
    ).toBe('impression');
  });

  it('sends flagValue null when values were left out on purpose', () => {
    const outcome = converter.convert(flagEvent({}));
    expect(outcome.kind === 'impression' && outcome.item.flagValue).toBeNull();
  });

  it.each([
    [{ 'feature_flag.key': '' }, 'feature_flag.key must be a non-empty string'],
    [
      { 'feature_flag.context.id': undefined },
      'feature_flag.context.id (the FlagSync context key) must be a non-empty string',
    ],
    [
      { 'feature_flag.context.id': 42 },
      'feature_flag.context.id (the FlagSync context key) must be a non-empty string',
    ],
    [{ 'flagsync.value': '{bad' }, 'flagsync.value is not valid JSON'],
    [{ 'flagsync.value': 5 }, 'flagsync.value must be JSON text'],
    [{ 'flagsync.value': '1', 'flagsync.context': '[1]' }, CONTEXT_REASON],
    [{ 'flagsync.value': '1', 'flagsync.context': '{"key":""}' }, CONTEXT_REASON],
    [{ 'flagsync.value': '1', 'flagsync.context': '{"key":"u","attributes":[]}' }, CONTEXT_REASON],
    [{ 'feature_flag.result.value': new Uint8Array([1]) }, 'feature_flag.result.value is not a JSON value'],
  ])('rejects %j with a reason', (attributes, reason) => {
    expect(converter.convert(flagEvent(attributes))).toEqual({ kind: 'rejected', reason });
  });

  it('takes the whole context this package recorded, fields beside the key included', () => {
    const outcome = converter.convert(
      flagEvent({ 'flagsync.value': 'true', 'flagsync.context': '{"email":"a@b.c","key":"u1","kind":"user"}' }),
    );
    expect(outcome.kind === 'impression' && outcome.json).toBe(
      '{"flagKey":"f","flagValue":true,"context":{"email":"a@b.c","key":"u1","kind":"user"},"timestamp":"2026-11-25T10:00:00.123Z"}',
    );
  });

  it('ignores an event whose size marker shows attribute limits cut it, rather than deliver a truncated key', () => {
    const intact = sized(flagEvent({ 'flagsync.value': '"Join Now"', 'flagsync.context': '{"key":"user-1234"}' }));
    expect(converter.convert(intact).kind).toBe('impression');
    const truncated = { ...intact, attributes: { ...intact.attributes, 'flagsync.context': '{"key":"user-12' } };
    expect(converter.convert(truncated)).toEqual({ kind: 'damaged' });
    const { 'flagsync.value': _dropped, ...rest } = intact.attributes;
    expect(converter.convert({ ...intact, attributes: rest })).toEqual({ kind: 'damaged' });
    const cutTrack = sized(trackEvent({ 'flagsync.event.value': '12345' }));
    expect(
      converter.convert({ ...cutTrack, attributes: { ...cutTrack.attributes, 'flagsync.event.value': '12' } }),
    ).toEqual({ kind: 'damaged' });
  });

  it('reads a log record body map this package wrote over its attributes', () => {
    const body = {
      'flagsync.size': 0,
      'feature_flag.key': 'f',
      'feature_flag.provider.name': 'FlagSync',
      'flagsync.value': '"long value"',
      'flagsync.context': '{"key":"u1"}',
    };
    body['flagsync.size'] = payloadSize(body);
    // The attributes were cut by a length limit; the body is whole.
    const attributes = {
      'feature_flag.key': 'f',
      'feature_flag.provider.name': 'Flag',
      'feature_flag.result.value': 'long',
    };
    const outcome = converter.convert({
      name: 'feature_flag.evaluation',
      timeMs: T,
      attributes: withBodyFields(attributes, body),
    });
    expect(outcome.kind === 'impression' && outcome.json).toBe(
      '{"flagKey":"f","flagValue":"long value","context":{"key":"u1"},"timestamp":"2026-11-25T10:00:00.123Z"}',
    );
    expect(withBodyFields(attributes, 'a string body')).toBe(attributes);
    expect(withBodyFields(attributes, { unrelated: 1 })).toBe(attributes);
  });

  it('rejects an event time that is not a time', () => {
    expect(converter.convert({ ...flagEvent({ 'flagsync.value': '1' }), timeMs: Number.NaN })).toEqual({
      kind: 'rejected',
      reason: 'event time is not a valid time',
    });
  });
});

describe('converter: parsed-text memo', () => {
  it('gives the same outcome for a text seen before, and still rejects an invalid one every time', () => {
    const c = createConverter({ providerNames: ['FlagSync'] });
    const event = flagEvent({
      'flagsync.value': '{"layout":"grid"}',
      'flagsync.context': '{"key":"u1","attributes":{"plan":"pro"}}',
    });
    const first = c.convert(event);
    // A different string object with the same text, as a decoder produces for each event.
    const again = c.convert(
      flagEvent({
        'flagsync.value': ['{"layout":', '"grid"}'].join(''),
        'flagsync.context': '{"key":"u1","attributes":{"plan":"pro"}}',
      }),
    );
    expect(again).toEqual(first);
    for (let i = 0; i < 2; i++) expect(c.convert(flagEvent({ 'flagsync.context': '{"key":' })).kind).toBe('rejected');
    for (let i = 0; i < 2; i++)
      expect(c.convert(trackEvent({ 'flagsync.event.properties': '[1]' })).kind).toBe('rejected');
  });

  it('stays correct past its size bounds (long texts, more distinct texts than it keeps)', () => {
    const c = createConverter({ providerNames: ['FlagSync'] });
    const long = JSON.stringify({ key: 'u1', attributes: { bio: 'x'.repeat(5000) } });
    const outcome = c.convert(flagEvent({ 'flagsync.context': long }));
    expect(outcome.kind === 'impression' && outcome.json.includes(long)).toBe(true);
    for (let n = 0; n < 3000; n++) {
      const text = `{"key":"u1","attributes":{"n":${n}}}`;
      const o = c.convert(flagEvent({ 'flagsync.context': text }));
      if (o.kind !== 'impression' || o.item.context.attributes?.n !== n) throw new Error(`wrong outcome for ${text}`);
    }
  });
});

describe('converter: track events', () => {
  it('keeps SDK field order and leaves absent fields absent', () => {
    const outcome = converter.convert(
      trackEvent({ 'flagsync.event.value': '1.5', 'flagsync.event.properties': '{"a":[1,{"b":null}]}' }),
    );
    expect(outcome.kind).toBe('event');
    if (outcome.kind !== 'event') return;
    expect(JSON.stringify(outcome.item)).toBe(
      '{"context":{"key":"u1"},"eventKey":"k","value":1.5,"properties":{"a":[1,{"b":null}]},"timestamp":"2026-11-25T10:00:00.123Z"}',
    );
    const bare = converter.convert(trackEvent({}));
    expect(bare.kind === 'event' && JSON.stringify(bare.item)).toBe(
      '{"context":{"key":"u1"},"eventKey":"k","timestamp":"2026-11-25T10:00:00.123Z"}',
    );
  });

  it('distinguishes value null from no value, and keeps numbers exactly as written', () => {
    const outcome = converter.convert(trackEvent({ 'flagsync.event.value': 'null' }));
    expect(outcome.kind === 'event' && outcome.item).toHaveProperty('value', null);
    const huge = converter.convert(trackEvent({ 'flagsync.event.value': '1e+21' }));
    expect(huge.kind === 'event' && huge.json).toContain('"value":1e+21,');
  });

  it.each([
    [{ 'flagsync.event.value': 'abc' }, 'flagsync.event.value must be the JSON text of a number or null'],
    [{ 'flagsync.event.value': '"12"' }, 'flagsync.event.value must be the JSON text of a number or null'],
    [{ 'flagsync.event.value': 12 }, 'flagsync.event.value must be the JSON text of a number or null'],
    [{ 'flagsync.event.properties': '[1,2]' }, 'flagsync.event.properties must be the JSON text of an object or null'],
    [{ 'flagsync.event.properties': '"text"' }, 'flagsync.event.properties must be the JSON text of an object or null'],
    [
      { 'flagsync.event.properties': 'not json' },
      'flagsync.event.properties must be the JSON text of an object or null',
    ],
    [{ 'flagsync.event.key': undefined }, 'flagsync.event.key must be a non-empty string'],
    [{ 'flagsync.context': '{"key":""}' }, CONTEXT_REASON],
    [{ 'flagsync.context': undefined }, 'flagsync.context is required'],
  ])('rejects %j with a reason', (attributes, reason) => {
    expect(converter.convert(trackEvent(attributes))).toEqual({ kind: 'rejected', reason });
  });
});
