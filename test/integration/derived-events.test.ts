/**
 * Derived events in-process, with the real HTTP instrumentation: an app process (test/fixtures/
 * http-app.cjs: the built package, @opentelemetry/instrumentation-http, the real node-sdk) whose
 * handler evaluates a flag in a span below the server span. Each request gives exactly one
 * latency event (the server span's duration) and one error-rate event, for the user the flag was
 * evaluated for, and nothing else leaves but the allow-listed properties.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, type StandIn } from '../../src/standin/server.js';
import { CHECKOUT_RULES, expectedCheckoutEvents, receivedEvents, runHttpApp } from '../utils/http-app.js';

let standIn: StandIn;

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(async () => {
  await standIn.close();
});

describe('derived events with @opentelemetry/instrumentation-http (in-process exporter)', () => {
  it('each request: one latency and one error-rate event for its user, exactly as the server span says', async () => {
    const { servers, stats } = await runHttpApp(standIn, { rules: CHECKOUT_RULES });
    expect(servers.map((s) => s.user).sort()).toEqual(['u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
    // The app's default sampler (ParentBased, root AlwaysOn) keeps every trace: probability 1.
    expect(receivedEvents(standIn)).toEqual(expectedCheckoutEvents(servers, 1));
    // Users 3 and 6 got a 500.
    expect(
      standIn
        .events()
        .filter((e) => e.eventKey === 'checkout_error' && e.value === 1)
        .map((e) => (e.context as { key: string }).key)
        .sort(),
    ).toEqual(['u3', 'u6']);
    expect(standIn.impressions()).toHaveLength(6);
    expect(stats).toMatchObject({ derived: 12, unattributed: 0, derivedDropped: { max_bytes: 0, max_per_trace: 0 } });
    expect(standIn.batches.every((b) => b.sdkContext.sdkName === 'flagsync-otel')).toBe(true);
  });
});
