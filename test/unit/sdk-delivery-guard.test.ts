/** The SDK delivery guard: holds back exactly the SDK copies of claimed calls, and nothing else. */
import { afterEach, describe, expect, it } from 'vitest';
import { CLAIMED, claimClientImpression, ownContext, RELEASE, resetClaims } from '../../src/instrumentation/claims.js';
import { Fallback } from '../../src/instrumentation/fallback.js';
import {
  guardAxios,
  guardFetch,
  installBrowserSdkDeliveryGuard,
  removeSdkDeliveryGuards,
  sdkDeliveryGuardStats,
} from '../../src/instrumentation/sdk-delivery-guard.js';

/** Stands in for axios' Axios class: records what would go on the wire (as JSON, as axios sends it). */
class FakeAxios {
  sent: { url: string; data?: unknown }[] = [];
  defaults = { headers: { 'x-ridgeline-key': 'k' } as Record<string, string> };
  _request(config: { url: string; data?: unknown }) {
    this.sent.push(JSON.parse(JSON.stringify(config)));
    return Promise.resolve({ status: 201 });
  }
}

afterEach(() => {
  removeSdkDeliveryGuards();
  resetClaims();
});

const at = (ms: number) => new Date(ms).toISOString();

describe('SDK delivery guard: node-sdk (axios, items keep their context object)', () => {
  it('holds back exactly the impressions this package claimed, and sends the rest as the SDK would', async () => {
    guardAxios({ Axios: FakeAxios });
    const mine = ownContext({ key: 'u1', email: 'a@b.c' });
    mine[CLAIMED] = true;
    const released = ownContext({ key: 'u3', attributes: { plan: 'pro' } });
    released[CLAIMED] = true;
    released[RELEASE]();
    const unclaimed = ownContext({ key: 'u4' });
    const theirs = { key: 'u2' };
    const axios = new FakeAxios();
    const before = { ...sdkDeliveryGuardStats() };
    const onlyOurs = await axios._request({
      url: '/track/impressions/server',
      method: 'POST',
      data: { impressions: [{ flagKey: 'f', context: mine }], sdkContext: {} },
    } as never);
    expect(onlyOurs).toMatchObject({ status: 202 });
    const fallback = new Fallback('dflt');
    await axios._request({
      url: '/track/impressions/server',
      method: 'POST',
      data: {
        impressions: [
          { flagKey: 'f', flagValue: 1, context: mine },
          { flagKey: 'g', flagValue: 2, context: theirs },
          { flagKey: 'h', flagValue: fallback, context: released },
          { flagKey: 'i', flagValue: 3, context: unclaimed },
        ],
        sdkContext: {},
      },
    } as never);
    expect(axios.sent).toEqual([
      {
        url: '/track/impressions/server',
        method: 'POST',
        data: {
          impressions: [
            { flagKey: 'g', flagValue: 2, context: { key: 'u2' } },
            { flagKey: 'h', flagValue: 'dflt', context: { key: 'u3', attributes: { plan: 'pro' } } },
            { flagKey: 'i', flagValue: 3, context: { key: 'u4' } },
          ],
          sdkContext: {},
        },
      },
    ]);
    expect(sdkDeliveryGuardStats().filteredImpressions - before.filteredImpressions).toBe(2);
    expect(sdkDeliveryGuardStats().suppressedRequests - before.suppressedRequests).toBe(1);
  });

  it('never touches events, other routes, or requests without the FlagSync key', async () => {
    guardAxios({ Axios: FakeAxios });
    const owned = ownContext({ key: 'u1' });
    owned[CLAIMED] = true;
    const axios = new FakeAxios();
    const events = { url: '/track/events/server', method: 'POST', data: { events: [{ context: owned }] } };
    const rules = { url: '/sdk/rules', method: 'POST' };
    await axios._request(events as never);
    await axios._request(rules as never);
    const app = new FakeAxios();
    app.defaults.headers = {};
    const appRequest = {
      url: 'https://shop.example/track/impressions/server',
      method: 'POST',
      data: { impressions: [{ context: owned }] },
    };
    await app._request(appRequest as never);
    expect(axios.sent).toEqual(JSON.parse(JSON.stringify([events, rules])));
    expect(app.sent).toEqual(JSON.parse(JSON.stringify([appRequest])));
  });

  it('is undone by removeSdkDeliveryGuards and ignores what is not axios', async () => {
    guardAxios({ Axios: FakeAxios });
    removeSdkDeliveryGuards();
    const owned = ownContext({ key: 'u' });
    owned[CLAIMED] = true;
    const axios = new FakeAxios();
    await axios._request({
      url: '/track/impressions/server',
      method: 'POST',
      data: { impressions: [{ context: owned }] },
    } as never);
    expect(axios.sent).toHaveLength(1);
    expect(guardAxios({})).toBe(false);
    expect(guardAxios(undefined)).toBe(false);
  });
});

describe('SDK delivery guard: js-sdk (items without context, fetch keepalive on kill)', () => {
  it('holds back the claimed impression of that client, flag and millisecond window, once', async () => {
    const sent: { url: string; body: string }[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: unknown, init?: { body?: string }) => {
      sent.push({ url: String(input), body: init?.body ?? '' });
      return new Response('{}', { status: 201 });
    }) as typeof fetch;
    try {
      expect(installBrowserSdkDeliveryGuard({ axios: { Axios: FakeAxios } })).toBe(true);
      claimClientImpression('b', 'f', 1000, 1001)[CLAIMED] = true;
      claimClientImpression('b', 'g', 1000, 1001)[CLAIMED] = false; // recorded nowhere: the SDK's copy goes out
      claimClientImpression('other', 'f', 2000, 2000)[CLAIMED] = true;
      const impressions = [
        { flagKey: 'f', flagValue: 1, timestamp: at(1001) },
        { flagKey: 'f', flagValue: 1, timestamp: at(1001) }, // a second copy: the claim is used up
        { flagKey: 'g', flagValue: 1, timestamp: at(1000) },
        { flagKey: 'f', flagValue: 1, timestamp: at(2000) }, // another client's claim
      ];
      const headers = { 'Content-Type': 'application/json', 'x-ridgeline-key': 'k' };
      const body = JSON.stringify({ context: { key: 'b', attributes: {} }, impressions, sdkContext: {} });
      await fetch('https://sdk.flagsync.com/track/impressions/client', {
        method: 'POST',
        keepalive: true,
        headers,
        body,
      });
      expect(JSON.parse(sent[0]!.body).impressions).toEqual(impressions.slice(1));

      claimClientImpression('b', 'f', 4000, 4002)[CLAIMED] = true;
      const onlyOurs = await fetch('https://sdk.flagsync.com/track/impressions/client', {
        method: 'POST',
        headers,
        body: JSON.stringify({ context: { key: 'b' }, impressions: [{ flagKey: 'f', timestamp: at(4001) }] }),
      });
      expect(onlyOurs.status).toBe(202);
      await fetch('https://sdk.flagsync.com/track/events/client', { method: 'POST', headers, body: '{"events":[]}' });
      expect(sent.map((s) => s.url)).toEqual([
        'https://sdk.flagsync.com/track/impressions/client',
        'https://sdk.flagsync.com/track/events/client',
      ]);
    } finally {
      removeSdkDeliveryGuards();
      globalThis.fetch = realFetch;
    }
  });

  it('covers js-sdk only with both axios and fetch guarded', () => {
    expect(installBrowserSdkDeliveryGuard({ axios: {} })).toBe(false);
    expect(guardFetch()).toBe(true);
  });
});
