import { describe, expect, it } from 'vitest';
import { payloadSize } from '../../src/convert/payload-size.js';
import {
  flagEvaluationAttributes,
  prepareServerContext,
  trackAttributes,
} from '../../src/instrumentation/attributes.js';
import { resolveContextPrivacy } from '../../src/instrumentation/privacy.js';

// The builders sum the size marker as they write (no second walk on the flag() path): it must be what the
// converters compute, or every event would be taken as cut by attribute limits.
const context = prepareServerContext(
  { key: 'user-é-😀', attributes: { plan: 'pro', tags: ['a', 'b'] } },
  resolveContextPrivacy({}),
)!;

describe('the size marker the attribute builders write', () => {
  const values: unknown[] = [
    'Join Now',
    '',
    true,
    0,
    -1.5,
    2 ** 63,
    Number.NaN,
    null,
    { deep: [[1e308, -0, '\u0000']] },
  ];
  for (const value of values)
    for (const [errorType, omitValues, variant] of [
      [undefined, false, 'Join Now'],
      ['flag_not_found', false, undefined],
      [undefined, true, undefined],
    ] as const)
      it(`flag(): value ${JSON.stringify(value)}, error ${errorType}, values omitted ${omitValues}`, () => {
        const attributes = flagEvaluationAttributes(
          context,
          'exporter',
          'register-button-copy',
          value,
          'unknown',
          variant,
          errorType,
          omitValues,
        )!;
        expect(attributes['flagsync.size']).toBe(payloadSize(attributes));
      });

  for (const [value, properties] of [
    [undefined, undefined],
    [812.5, undefined],
    [null, { route: '/register', items: [1, 2] }],
    [Number.POSITIVE_INFINITY, null],
  ] as const)
    it(`track(): value ${value}, properties ${JSON.stringify(properties)}`, () => {
      const attributes = trackAttributes(context, 'collector', 'page_load_time', value, properties)!;
      expect(attributes['flagsync.size']).toBe(payloadSize(attributes));
    });
});
