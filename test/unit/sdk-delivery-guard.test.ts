import { afterEach, describe, expect, it } from 'vitest';
import {
  claimSdkDelivery,
  guardAxios,
  guardFetch,
  isSdkDeliveryGuardInstalled,
  ownContext,
  releaseSdkDelivery,
  removeSdkDeliveryGuards,
  sdkDeliveryGuardStats,
} from '../../src/instrumentation/sdk-delivery-guard.js';

/** Stands in for axios' Axios class: records what would go on the wire. */
class FakeAxios {
  sent: { url: string; data?: unknown }[] = [];
  defaults = { headers: { 'x-ridgeline-key': 'k' } as Record<string, string> };
  _request(config: { url: string; data?: unknown }) {
    this.sent.push(config);
    return Promise.resolve({ status: 201 });
  }
}

afterEach(() => removeSdkDeliveryGuards());

const at = (ms: number) => new Date(ms).toISOString();

describe('SDK delivery guard: node-sdk (axios, items with context)', () => {
  it('holds back exactly the impressions whose context this package registered', async () => {
    guardAxios({ Axios: FakeAxios });
    expect(isSdkDeliveryGuardInstalled()).toBe(true);
    const ours = ownContext({ key: 'u1' });
    const theirs = { key: 'u2' };
    const axios = new FakeAxios();
    const before = { ...sdkDeliveryGuardStats() };
    const onlyOurs = await axios._request({ url: '/track/impressions/server', method: 'POST', data: { impressions: [{ flagKey: 'f', context: ours }], sdkContext: {} } } as never);
    expect(onlyOurs).toMatchObject({ status: 202 });
    await axios._request({ url: '/track/impressions/server', method: 'POST', data: { impressions: [{ flagKey: 'f', context: ours }, { flagKey: 'g', context: theirs }], sdkContext: {} } } as never);
    expect(axios.sent).toEqual([{ url: '/track/impressions/server', method: 'POST', data: { impressions: [{ flagKey: 'g', context: theirs }], sdkContext: {} } }]);
    expect(sdkDeliveryGuardStats().filteredImpressions - before.filteredImpressions).toBe(2);
    expect(sdkDeliveryGuardStats().suppressedRequests - before.suppressedRequests).toBe(1);
  });

  it('never touches events, other routes, or requests without the FlagSync key', async () => {
    guardAxios({ Axios: FakeAxios });
    const ours = ownContext({ key: 'u1' });
    const axios = new FakeAxios();
    const events = { url: '/track/events/server', method: 'POST', data: { events: [{ context: ours }] } };
    const rules = { url: '/sdk/rules', method: 'POST' };
    await axios._request(events as never);
    await axios._request(rules as never);
    const app = new FakeAxios();
    app.defaults.headers = {};
    const appRequest = { url: 'https://shop.example/track/impressions/server', method: 'POST', data: { impressions: [{ context: ours }] } };
    await app._request(appRequest as never);
    expect(axios.sent).toEqual([events, rules]);
    expect(app.sent).toEqual([appRequest]);
  });

  it('is undone by removeSdkDeliveryGuards and ignores what is not axios', async () => {
    guardAxios({ Axios: FakeAxios });
    removeSdkDeliveryGuards();
    expect(isSdkDeliveryGuardInstalled()).toBe(false);
    const axios = new FakeAxios();
    await axios._request({ url: '/track/impressions/server', method: 'POST', data: { impressions: [{ context: ownContext({ key: 'u' }) }] } } as never);
    expect(axios.sent).toHaveLength(1);
    expect(guardAxios({})).toBe(false);
    expect(guardAxios(undefined)).toBe(false);
  });
});

describe('SDK delivery guard: js-sdk (fetch keepalive on kill, items without context)', () => {
  it('holds back impressions queued while this package delivered, to the millisecond', async () => {
    const sent: { url: string; body: string }[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: unknown, init?: { body?: string }) => {
      sent.push({ url: String(input), body: init?.body ?? '' });
      return new Response('{}', { status: 201 });
    }) as typeof fetch;
    try {
      guardFetch(); // claims delivery from now on
      releaseSdkDelivery(Date.now());
      claimSdkDelivery(200);
      releaseSdkDelivery(1000);
      claimSdkDelivery(2000);
      releaseSdkDelivery(3000);
      const body = JSON.stringify({ context: { key: 'b' }, impressions: [at(500), at(1000), at(1500), at(2500), at(3001)].map((timestamp) => ({ flagKey: 'f', timestamp })), sdkContext: {} });
      const headers = { 'Content-Type': 'application/json', 'x-ridgeline-key': 'k' };
      await fetch('https://sdk.flagsync.com/track/impressions/client', { method: 'POST', keepalive: true, headers, body });
      expect(JSON.parse(sent[0]!.body).impressions.map((i: { timestamp: string }) => Date.parse(i.timestamp))).toEqual([1500, 3001]);

      claimSdkDelivery(4000);
      const onlyOurs = await fetch('https://sdk.flagsync.com/track/impressions/client', { method: 'POST', headers, body: JSON.stringify({ impressions: [{ flagKey: 'f', timestamp: at(Date.now()) }] }) });
      expect(onlyOurs.status).toBe(202);
      await fetch('https://sdk.flagsync.com/track/events/client', { method: 'POST', headers, body: '{"events":[]}' });
      expect(sent.map((s) => s.url)).toEqual(['https://sdk.flagsync.com/track/impressions/client', 'https://sdk.flagsync.com/track/events/client']);
    } finally {
      removeSdkDeliveryGuards();
      globalThis.fetch = realFetch;
    }
  });
});
