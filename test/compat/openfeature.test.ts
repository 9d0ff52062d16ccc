/**
 * OpenFeature's own OTel hooks (SpanEventHook and EventHook) with a provider named FlagSync, on
 * both OpenTelemetry JS lines, installed into fixture apps as users install them: every
 * evaluation reaches FlagSync once, through this package's exporters (`providerNames`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';
import { canonical } from '../utils/scenario.js';

const run = promisify(execFile);
let standIn: StandIn;

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());

describe.each(['openfeature-2x', 'openfeature-3x'])('%s', (fixture) => {
  it("SpanEventHook and EventHook evaluations of the FlagSync provider reach FlagSync once each, other providers' never", async () => {
    const dir = await installFixture(fixture, { sharedFiles: 'openfeature-app' });
    standIn.reset();
    await run(process.execPath, ['of-app.cjs'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
        FLAGSYNC_EVENTS_URL: standIn.url,
      },
      timeout: 60_000,
    });
    expect(standIn.rejections).toEqual([]);
    expect(canonical(standIn.impressions())).toEqual(
      canonical([
        { flagKey: 'register-button-copy', flagValue: 'Join Now', context: { key: 'of-span-user' } },
        { flagKey: 'register-button-copy', flagValue: 'Join Now', context: { key: 'of-event-user' } },
        // OpenFeature's hooks write an object value as its JSON text (attributes hold primitives): FlagSync gets the text.
        { flagKey: 'checkout-config', flagValue: '{"layout":"grid","columns":3}', context: { key: 'of-event-user' } },
      ]),
    );
  }, 600_000);
});
