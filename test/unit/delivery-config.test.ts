import { describe, expect, it } from 'vitest';
import { FlagSyncConfigError, resolveDeliveryConfig } from '../../src/config/delivery-config.js';
import {
  backoffMillis,
  isConfigProblemStatus,
  isRetryableStatus,
  parseRetryAfter,
} from '../../src/delivery/retry-policy.js';

describe('resolveDeliveryConfig', () => {
  it('merges options over env over defaults', () => {
    const config = resolveDeliveryConfig(
      { maxBatchSize: 7 },
      {
        FLAGSYNC_SDK_KEY: 'k-env',
        FLAGSYNC_EVENTS_URL: 'http://127.0.0.1:9/',
        FLAGSYNC_EXPORT_MAX_BATCH_SIZE: '99',
        FLAGSYNC_EXPORT_MAX_QUEUE_SIZE: '123',
      },
    );
    expect(config).toMatchObject({
      sdkKey: 'k-env',
      eventsUrl: 'http://127.0.0.1:9',
      maxBatchSize: 7,
      maxQueueSize: 123,
      flushIntervalMillis: 2000,
      timeoutMillis: 10_000,
    });
  });

  it('requires an SDK key, naming both ways to give it', () => {
    expect(() => resolveDeliveryConfig({}, {})).toThrow(
      new FlagSyncConfigError(
        'a FlagSync server SDK key is required: pass { sdkKey } or set FLAGSYNC_SDK_KEY',
        'set FLAGSYNC_SDK_KEY to your FlagSync server SDK key',
      ),
    );
  });

  it('rejects bad URLs and numbers with the option name, never echoing the key', () => {
    expect(() => resolveDeliveryConfig({ sdkKey: 'secret-key-1', eventsUrl: 'ftp://x' }, {})).toThrow(
      'option eventsUrl must be an http(s) URL, got "ftp://x"',
    );
    expect(() => resolveDeliveryConfig({ sdkKey: 'secret-key-1', eventsUrl: 'not a url' }, {})).toThrow(
      /must be an http\(s\) URL/,
    );
    expect(() => resolveDeliveryConfig({ sdkKey: 'secret-key-1' }, { FLAGSYNC_EXPORT_TIMEOUT: 'soon' })).toThrow(
      'env FLAGSYNC_EXPORT_TIMEOUT must be an integer from 1 to 3600000, got "soon"',
    );
    expect(() => resolveDeliveryConfig({ sdkKey: 'secret-key-1', maxBatchSize: 0 }, {})).toThrow(
      'option maxBatchSize must be an integer from 1 to 10000, got 0',
    );
    try {
      resolveDeliveryConfig({ sdkKey: 'secret-key-1', maxQueueSize: -1 }, {});
    } catch (error) {
      expect(String(error)).not.toContain('secret-key-1');
    }
    // A wrong key itself is never shown either.
    expect(() => resolveDeliveryConfig({ sdkKey: 'has space' }, {})).toThrow(
      'option sdkKey must not contain white space',
    );
    expect(() => resolveDeliveryConfig({}, { FLAGSYNC_SDK_KEY: 'has space' })).not.toThrow(/has space/);
  });
});

describe('retry policy', () => {
  it('retries 408, 429 and 5xx; keeps the data on answers that mean a wrong setting; other 4xx are final', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 413, 415].some(isRetryableStatus)).toBe(false);
    expect([301, 302, 307, 308, 401, 403, 404, 405].every(isConfigProblemStatus)).toBe(true);
    expect([400, 413, 415, 422, 429, 500].some(isConfigProblemStatus)).toBe(false);
  });

  it('backs off exponentially with jitter inside [ceiling/2, ceiling]', () => {
    const options = { initialBackoffMillis: 100, maxBackoffMillis: 1000 };
    expect(backoffMillis(0, options, () => 0)).toBe(50);
    expect(backoffMillis(0, options, () => 1)).toBe(100);
    expect(backoffMillis(3, options, () => 1)).toBe(800);
    expect(backoffMillis(10, options, () => 0.5)).toBe(750);
  });

  it('reads Retry-After as seconds or an HTTP date, capped', () => {
    const cap = 300_000;
    expect(parseRetryAfter('7', cap)).toBe(7000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), cap, 4_000)).toBe(6000);
    expect(parseRetryAfter(new Date(1_000).toUTCString(), cap, 4_000)).toBe(0);
    // A day, or more than a 32-bit timer holds: cut to the cap.
    expect(parseRetryAfter('86400', cap)).toBe(cap);
    expect(parseRetryAfter('999999999', cap)).toBe(cap);
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', cap, 0)).toBe(cap);
    expect(parseRetryAfter('soon', cap)).toBeUndefined();
    expect(parseRetryAfter('-5', cap)).toBeUndefined();
    expect(parseRetryAfter(undefined, cap)).toBeUndefined();
  });
});
