/**
 * Derived events in the sidecar service: the golden vectors' requests posted over OTLP/HTTP give
 * exactly their derived events at FlagSync, and the same request again (a collector retry) gives
 * nothing more. Rules from the environment are validated at startup.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFlagSyncService, type FlagSyncService } from '../../src/service/flagsync-service.js';
import { resolveServiceConfig } from '../../src/service/service-config.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';

interface Golden {
  name: string;
  converter: { derivedEvents: unknown[]; providerNames?: string[] };
  request: unknown;
  expect: { derived: string[] };
}
const cases = JSON.parse(
  readFileSync(new URL('../../testdata/golden/derived.json', import.meta.url), 'utf8'),
) as Golden[];
let standIn: StandIn;

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());

describe('derived events in the service', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    standIn.reset();
    // As an operator configures them: JSON in the environment.
    const service: FlagSyncService = await startFlagSyncService({
      port: 0,
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      eventsUrl: standIn.url,
      flushIntervalMillis: 20,
      ...(c.converter.providerNames ? { providerNames: c.converter.providerNames } : {}),
      ...resolveServiceConfig(
        {},
        { FLAGSYNC_SDK_KEY: 'k', FLAGSYNC_DERIVED_EVENTS: JSON.stringify(c.converter.derivedEvents) },
      ).derived,
    });
    try {
      const post = () =>
        fetch(`${service.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(c.request),
        });
      expect((await post()).status).toBe(200);
      const derivedKeys = new Set(c.expect.derived.map((d) => (JSON.parse(d) as { eventKey: string }).eventKey));
      const derived = () => standIn.events().filter((e) => derivedKeys.has(e.eventKey as string));
      expect(derived()).toEqual(c.expect.derived.map((d) => JSON.parse(d)));
      // A collector retry of the same request: nothing delivered twice.
      expect((await post()).status).toBe(200);
      expect(derived()).toHaveLength(c.expect.derived.length);
      expect(service.counters.derived).toBe(2 * c.expect.derived.length);
    } finally {
      await service.close(1000);
    }
  });

  it('rules are validated at startup, named by where they came from', async () => {
    expect(() =>
      resolveServiceConfig({}, { FLAGSYNC_SDK_KEY: 'k', FLAGSYNC_DERIVED_EVENTS: '[{"eventKey":"e"' }),
    ).toThrow('FLAGSYNC_DERIVED_EVENTS must be the JSON of a list of derived-event rules');
    expect(() =>
      resolveServiceConfig({}, { FLAGSYNC_SDK_KEY: 'k', FLAGSYNC_DERIVED_EVENTS: '[{"eventKey":"e","match":{}}]' }),
    ).toThrow('FLAGSYNC_DERIVED_EVENTS[0]: match needs at least one criterion');
    await expect(
      startFlagSyncService({ port: 0, sdkKey: 'k', derivedEvents: [{ eventKey: 'e', match: {} }] }),
    ).rejects.toThrow('derivedEvents[0]: match needs at least one criterion');
    expect(() =>
      resolveServiceConfig({}, { FLAGSYNC_SDK_KEY: 'k', FLAGSYNC_DERIVED_EVENTS_FILE: '/nonexistent/rules.json' }),
    ).toThrow('cannot read FLAGSYNC_DERIVED_EVENTS_FILE (/nonexistent/rules.json): ENOENT');
  });
});
