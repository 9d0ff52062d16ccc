/** The stand-in validates exactly as the wire reference describes, and misbehaves on request. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());
afterEach(() => standIn.reset());

const sdkContext = { sdkName: 'test', sdkVersion: '1.0.0' };
const impression = {
  flagKey: 'f',
  flagValue: 'v',
  context: { key: 'u', attributes: { plan: 'pro' } },
  timestamp: '2026-11-25T10:00:00.000Z',
};
const event = {
  context: { key: 'u' },
  eventKey: 'e',
  value: 1.5,
  properties: { a: 1 },
  timestamp: '2026-11-25T10:00:00.000Z',
};

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(standIn.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-ridgeline-key': STANDIN_DEFAULT_SDK_KEY, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('stand-in track routes', () => {
  it('accepts valid server and client bodies and records items (client items get the batch context)', async () => {
    expect((await post('/track/impressions/server', { impressions: [impression], sdkContext })).status).toBe(201);
    expect(
      (
        await post('/track/events/server', {
          events: [event, { context: { key: 'u' }, eventKey: 'bare', timestamp: event.timestamp }],
          sdkContext,
        })
      ).status,
    ).toBe(201);
    const { context: _c, ...clientImpression } = impression;
    expect(
      (
        await post('/track/impressions/client', {
          context: { key: 'b', attributes: {} },
          impressions: [clientImpression],
          sdkContext,
        })
      ).status,
    ).toBe(201);
    expect(standIn.impressions()).toEqual([impression, { ...clientImpression, context: { key: 'b', attributes: {} } }]);
    expect(standIn.events().map((e) => e.eventKey)).toEqual(['e', 'bare']);
  });

  it.each([
    [
      'unknown top-level field',
      '/track/impressions/server',
      { impressions: [impression], sdkContext, extra: 1 },
      'unexpected field "extra"',
    ],
    [
      'empty sdkContext field',
      '/track/impressions/server',
      { impressions: [impression], sdkContext: { sdkName: '', sdkVersion: '1' } },
      'sdkContext needs non-empty sdkName and sdkVersion',
    ],
    [
      'missing flagValue',
      '/track/impressions/server',
      { impressions: [{ ...impression, flagValue: undefined }], sdkContext },
      'impressions[0]: flagValue is required',
    ],
    [
      'timestamp without ms',
      '/track/impressions/server',
      { impressions: [{ ...impression, timestamp: '2026-11-25T10:00:00Z' }], sdkContext },
      'impressions[0]: timestamp must be ISO-8601 UTC with milliseconds',
    ],
    [
      'context without key',
      '/track/impressions/server',
      { impressions: [{ ...impression, context: { attributes: {} } }], sdkContext },
      'impressions[0]: context.key must be a string',
    ],
    [
      'attributes not an object',
      '/track/impressions/server',
      { impressions: [{ ...impression, context: { key: 'u', attributes: null } }], sdkContext },
      'impressions[0]: context.attributes must be an object',
    ],
    [
      'event key not a string',
      '/track/events/server',
      { events: [{ ...event, eventKey: 42 }], sdkContext },
      'events[0]: eventKey must be a string',
    ],
    [
      'string value',
      '/track/events/server',
      { events: [{ ...event, value: '12' }], sdkContext },
      'events[0]: value must be a number or null',
    ],
    [
      'array properties',
      '/track/events/server',
      { events: [{ ...event, properties: [1] }], sdkContext },
      'events[0]: properties must be an object or null',
    ],
    [
      'context on client item',
      '/track/events/client',
      { context: { key: 'u' }, events: [event], sdkContext },
      'events[0]: unexpected field "context"',
    ],
  ])('rejects %s with 400 and a FlagSync error body', async (_name, path, body, message) => {
    const response = await post(path, body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errorCode: 'INVALID_REQUEST', message, statusCode: 400, path });
    expect(standIn.batches).toHaveLength(0);
  });

  it('accepts what the SDKs send for an app: fields beside the key, empty strings', async () => {
    const context = { key: '', kind: 'user', email: 'a@b.c', attributes: { plan: 'pro' } };
    expect(
      (await post('/track/events/server', { events: [{ ...event, context, eventKey: '' }], sdkContext })).status,
    ).toBe(201);
    expect(standIn.events()).toEqual([{ ...event, context, eventKey: '' }]);
  });

  it('checks key, media type, encoding, JSON and size', async () => {
    expect(
      (await post('/track/events/server', { events: [], sdkContext }, { 'x-ridgeline-key': 'wrong' })).status,
    ).toBe(401);
    expect(
      (await post('/track/events/server', { events: [], sdkContext }, { 'content-type': 'text/plain' })).status,
    ).toBe(415);
    expect(
      (await post('/track/events/server', { events: [], sdkContext }, { 'content-encoding': 'gzip' })).status,
    ).toBe(415);
    expect((await post('/track/events/server', '{"events": [')).status).toBe(400);
    const small = await startStandIn({ maxBodyBytes: 100 });
    try {
      const response = await fetch(`${small.url}/track/events/server`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-ridgeline-key': STANDIN_DEFAULT_SDK_KEY },
        body: JSON.stringify({ events: [event, event], sdkContext }),
      });
      expect(response.status).toBe(413);
    } finally {
      await small.close();
    }
  });

  it('injects faults: status with Retry-After, delay, reset, for a number of requests', async () => {
    standIn.addFault({ route: 'events', status: 429, retryAfter: '3', times: 2 });
    const body = { events: [event], sdkContext };
    const first = await post('/track/events/server', body);
    expect([first.status, first.headers.get('retry-after')]).toEqual([429, '3']);
    expect((await post('/track/impressions/server', { impressions: [impression], sdkContext })).status).toBe(201);
    expect((await post('/track/events/server', body)).status).toBe(429);
    expect((await post('/track/events/server', body)).status).toBe(201);
    standIn.addFault({ reset: true });
    await expect(post('/track/events/server', body)).rejects.toThrow();
    standIn.addFault({ delayMs: 200 });
    const start = Date.now();
    expect((await post('/track/events/server', body)).status).toBe(201);
    expect(Date.now() - start).toBeGreaterThanOrEqual(190);
    expect(standIn.events()).toHaveLength(2);
  });
});

describe('stand-in flag routes', () => {
  it('serves node-sdk rules and js-sdk evaluated flags for the same user alike', async () => {
    const rules = (await (await post('/sdk/rules', { sdkContext })).json()) as {
      flags: Record<string, { featureFlag: { key: string }; state: { isEnabled: boolean } }>;
    };
    expect(Object.keys(rules.flags)).toContain('register-button-copy');
    expect(rules.flags['retired-banner']!.state.isEnabled).toBe(false);
    const flags = (await (
      await post('/sdk/flags', { context: { key: 'u1', attributes: { plan: 'pro' } }, sdkContext })
    ).json()) as { flags: Record<string, unknown> };
    expect(flags.flags).toMatchObject({
      'price-multiplier': 1.5,
      'string-true': 'true',
      'number-one': 1,
      'retired-banner': 'none',
    });
    expect(['Register', 'Join Now', 'Sign Up']).toContain(flags.flags['register-button-copy']);
  });
});
