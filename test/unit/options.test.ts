/** The one option schema: resolution rules, and the docs and --help generated from it. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withGeneratedOptions } from '../../src/config/options-docs.js';
import { OPTIONS, resolveOptions } from '../../src/config/options.js';
import { resolveServiceConfig } from '../../src/service/service-config.js';

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
    // The service's shorter flush default survives an explicit undefined (it once reset it to 2000).
    expect(resolveServiceConfig({ sdkKey: 'k', flushIntervalMillis: undefined }, {}).delivery.flushIntervalMillis).toBe(
      200,
    );
  });

  it('the same rules for exporters and service: bounds, URLs, secrets never shown', () => {
    const spec = OPTIONS.filter((o) => o.name === 'maxBatchSize');
    expect(() => resolveOptions(spec, {}, { FLAGSYNC_EXPORT_MAX_BATCH_SIZE: '12.5' })).toThrow(
      'env FLAGSYNC_EXPORT_MAX_BATCH_SIZE must be an integer from 1 to 10000, got "12.5"',
    );
    expect(() => resolveOptions(spec, { maxBatchSize: '12' }, {})).toThrow('option maxBatchSize must be an integer');
    const token = OPTIONS.filter((o) => o.name === 'bearerToken');
    expect(() => resolveOptions(token, { bearerToken: 42 }, {})).toThrow(
      'option bearerToken must be a non-empty string, got (hidden)',
    );
  });

  it.each(['README.md', 'docs/collector.md'])(
    'the option tables in %s are the ones the schema generates (npm run docs)',
    (file) => {
      const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
      expect(text).toMatch(/<!-- options:[a-z,]+ -->/);
      expect(withGeneratedOptions(text)).toBe(text);
    },
  );
});
