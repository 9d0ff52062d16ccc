/** The one option schema: resolution rules, and the docs generated from it. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withGeneratedOptions } from '../../src/config/options-docs.js';
import { OPTIONS, resolveOptions } from '../../src/config/options.js';

describe('option schema', () => {
  it('every option with an environment variable is named FLAGSYNC_*, once; integers have bounds', () => {
    const envs = OPTIONS.flatMap((o) => (o.env ? [o.env] : []));
    expect(new Set(envs).size).toBe(envs.length);
    expect(envs.every((e) => e.startsWith('FLAGSYNC_'))).toBe(true);
    for (const o of OPTIONS.filter((o) => o.type === 'integer')) {
      expect([o.name, typeof o.min, typeof o.max]).toEqual([o.name, 'number', 'number']);
      expect(o.default === undefined || (Number(o.default) >= o.min! && Number(o.default) <= o.max!)).toBe(true);
    }
  });

  it('options over the environment over defaults; an explicit undefined is no option', () => {
    const specs = OPTIONS.filter((o) => o.name === 'maxBatchSize' || o.name === 'flushIntervalMillis');
    expect(resolveOptions(specs, { maxBatchSize: 7 }, { FLAGSYNC_EXPORT_MAX_BATCH_SIZE: '9' })).toEqual({
      maxBatchSize: 7,
      flushIntervalMillis: 2000,
    });
    expect(resolveOptions(specs, { maxBatchSize: undefined }, { FLAGSYNC_EXPORT_MAX_BATCH_SIZE: '9' })).toMatchObject({
      maxBatchSize: 9,
    });
  });

  it('bounds, URLs, secrets never shown', () => {
    const spec = OPTIONS.filter((o) => o.name === 'maxBatchSize');
    expect(() => resolveOptions(spec, {}, { FLAGSYNC_EXPORT_MAX_BATCH_SIZE: '12.5' })).toThrow(
      'env FLAGSYNC_EXPORT_MAX_BATCH_SIZE must be an integer from 1 to 10000, got "12.5"',
    );
    expect(() => resolveOptions(spec, { maxBatchSize: '12' }, {})).toThrow('option maxBatchSize must be an integer');
    const key = OPTIONS.filter((o) => o.name === 'sdkKey');
    expect(() => resolveOptions(key, { sdkKey: 42 }, {})).toThrow(
      'option sdkKey must be a non-empty string, got (hidden)',
    );
  });

  it.each(['README.md'])('the option tables in %s are the ones the schema generates (npm run docs)', (file) => {
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    expect(text).toMatch(/<!-- options:[a-z,]+ -->/);
    expect(withGeneratedOptions(text)).toBe(text);
  });
});
