/**
 * OpenFeature's hooks as the source: an evaluation reported with `error.type` flag_not_found (FLAG_NOT_FOUND in older
 * hooks) is no impression, as node-sdk sends none for a missing flag (issue 21). This package's own events keep
 * their rule: the SDK's own impression, or js-sdk's record of every call, is what `flagsync.delivery` says.
 */
import { describe, expect, it } from 'vitest';
import { createConverter, type SourceEvent } from '../../src/convert/converter.js';
import { payloadSize } from '../../src/convert/payload-size.js';

const T = Date.UTC(2026, 10, 25, 10, 0, 0, 123);
const converter = createConverter({ providerNames: ['FlagSync'] });

function openFeature(attributes: Record<string, unknown>): SourceEvent {
  return {
    name: 'feature_flag.evaluation',
    timeMs: T,
    attributes: {
      'feature_flag.provider.name': 'FlagSync',
      'feature_flag.key': 'missing',
      'feature_flag.context.id': 'of-user',
      'feature_flag.result.value': 'default',
      ...attributes,
    },
  };
}

describe('OpenFeature evaluations of a missing flag', () => {
  it.each(['flag_not_found', 'FLAG_NOT_FOUND', 'Flag_Not_Found'])('error.type %s: ignored, no impression', (type) => {
    expect(converter.convert(openFeature({ 'feature_flag.result.reason': 'error', 'error.type': type }))).toEqual({
      kind: 'ignored',
    });
  });

  it('other errors (the default served for a type mismatch) and no error: impressions as before', () => {
    for (const extra of [{ 'error.type': 'type_mismatch', 'feature_flag.result.reason': 'error' }, {}])
      expect(converter.convert(openFeature(extra))).toMatchObject({
        kind: 'impression',
        item: { flagKey: 'missing', flagValue: 'default', context: { key: 'of-user' } },
      });
  });

  it("this package's own event with error.type flag_not_found (js-sdk records missing flags) is still converted", () => {
    const attributes = {
      'feature_flag.provider.name': 'FlagSync',
      'feature_flag.key': 'missing',
      'feature_flag.context.id': 'u1',
      'error.type': 'flag_not_found',
      'flagsync.value': '"fallback"',
      'flagsync.context': '{"key":"u1"}',
      'flagsync.delivery': 'collector',
    };
    const event = {
      name: 'feature_flag.evaluation',
      timeMs: T,
      attributes: { 'flagsync.size': payloadSize(attributes), ...attributes },
    };
    expect(createConverter().convert(event)).toMatchObject({ kind: 'impression', item: { flagValue: 'fallback' } });
  });
});
