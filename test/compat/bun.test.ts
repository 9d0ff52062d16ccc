/**
 * Bun: its `undici` lacks what the exporters' delivery relies on (every accepted request looked
 * failed and was sent again: 22 impressions for 4 calls). The exporters refuse to run there, in one
 * line; the instrumentation with the SDK delivering works exactly once. Bun from the npm registry
 * (devDependency `bun`), running test/fixtures/bun-app.mjs against the built package.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { ROOT } from '../utils/processes.js';

const run = promisify(execFile);
let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());

describe('on Bun', () => {
  it('the exporters refuse in one line; the SDK delivers every call once', async () => {
    const { stdout } = await run(join(ROOT, 'node_modules/.bin/bun'), ['test/fixtures/bun-app.mjs'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
        FLAGSYNC_EVENTS_URL: standIn.url,
      },
      timeout: 60_000,
    });
    const result = JSON.parse(
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop()!,
    ) as {
      refusal: string | null;
      handover: { handedOver: number };
      events: string[];
    };
    expect(result.refusal).toBe(
      'flagsync-otel: the FlagSync exporters need Node.js (>= 22.19) and do not run on Bun, whose undici lacks what ' +
        'their delivery relies on: on Bun, let the FlagSync SDK deliver (FLAGSYNC_DELIVERY=sdk, the default without ' +
        'exporters) or a collector (FLAGSYNC_DELIVERY=collector)',
    );
    expect(result.handover.handedOver).toBe(0);
    // The events in the span are telemetry: the SDK delivers.
    expect(result.events).toEqual(['sdk', 'sdk', 'sdk']);
    await standIn.waitFor(() => standIn.impressions().length >= 4 && standIn.events().length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(
      standIn
        .impressions()
        .map((i) => `${i.flagKey}:${(i.context as { key: string }).key}`)
        .sort(),
    ).toEqual(['new-checkout:user-3', 'price-multiplier:user-1', 'register-button-copy:user-1', 'string-true:user-2']);
    expect(
      standIn
        .events()
        .map((e) => `${e.eventKey}:${(e.context as { key: string }).key}`)
        .sort(),
    ).toEqual(['page_load_time:user-4', 'purchase_event:user-1']);
    expect(new Set(standIn.batches.map((b) => b.sdkContext.sdkName))).toEqual(new Set(['@flagsync/node-sdk']));
  }, 90_000);
});
