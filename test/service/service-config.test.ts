import { describe, expect, it } from 'vitest';
import { resolveServiceConfig } from '../../src/service/service-config.js';

const key = { FLAGSYNC_SDK_KEY: 'k-123456' };

describe('resolveServiceConfig', () => {
  it('defaults to loopback on 4318 with no token', () => {
    expect(resolveServiceConfig({}, key)).toMatchObject({
      host: '127.0.0.1',
      port: 4318,
      bearerToken: undefined,
      maxBodyBytes: 16 * 1024 * 1024,
      ackTimeoutMillis: 10_000,
      maxConcurrentRequests: 256,
    });
    // Requests wait for delivery: partial batches go out after 200 ms unless configured otherwise.
    expect(resolveServiceConfig({}, key).delivery.flushIntervalMillis).toBe(200);
    expect(
      resolveServiceConfig({}, { ...key, FLAGSYNC_EXPORT_SCHEDULE_DELAY: '50' }).delivery.flushIntervalMillis,
    ).toBe(50);
    expect(resolveServiceConfig({ flushIntervalMillis: 75 }, key).delivery.flushIntervalMillis).toBe(75);
  });

  it('reads env, and options win over env', () => {
    const env = {
      ...key,
      FLAGSYNC_SERVICE_HOST: '0.0.0.0',
      FLAGSYNC_SERVICE_PORT: '9000',
      FLAGSYNC_SERVICE_BEARER_TOKEN: 'env-token-0123456789',
      FLAGSYNC_SERVICE_MAX_BODY_BYTES: '2048',
    };
    expect(resolveServiceConfig({ port: 9100 }, env)).toMatchObject({
      host: '0.0.0.0',
      port: 9100,
      bearerToken: 'env-token-0123456789',
      maxBodyBytes: 2048,
    });
  });

  it('names the setting in every error and never echoes a secret', () => {
    expect(() => resolveServiceConfig({}, { ...key, FLAGSYNC_SERVICE_PORT: 'http' })).toThrow(
      'env FLAGSYNC_SERVICE_PORT must be an integer from 0 to 65535, got "http"',
    );
    expect(() => resolveServiceConfig({ ackTimeoutMillis: 0 }, key)).toThrow(
      'option ackTimeoutMillis must be an integer from 1 to 3600000, got 0',
    );
    expect(() => resolveServiceConfig({ bearerToken: 'short' }, key)).toThrow(
      /bearer token \(FLAGSYNC_SERVICE_BEARER_TOKEN\) must be at least 16 characters/,
    );
    expect(() => resolveServiceConfig({ bearerToken: 'short' }, key)).not.toThrow(/short/);
    expect(() => resolveServiceConfig({}, {})).toThrow('a FlagSync server SDK key is required');
  });
});
