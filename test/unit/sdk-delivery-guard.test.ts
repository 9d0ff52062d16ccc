/**
 * The SDK delivery guard: drops exactly the SDK copies of receipted calls, holds those still
 * waiting for a receipt (sending them when they come back), and sends everything else as the SDK would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { claimClientItem, closeClientClaim, ownContext, resetClaims } from '../../src/instrumentation/claims.js';
import { Fallback } from '../../src/instrumentation/fallback.js';
import { giveBack, handOver, receipt, resetHandover, type Claim } from '../../src/instrumentation/handover.js';
import {
  guardAxios,
  guardFetch,
  guardRequestsDone,
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
  resetHandover();
});

const at = (ms: number) => new Date(ms).toISOString();
let holders = 0;
/** A call handed to a pipeline (its SDK copy held until decided). */
function handedOver<C extends Claim>(claim: C): C {
  handOver(claim, 'exporter', `holder-${++holders}`, undefined);
  return claim;
}

describe('SDK delivery guard: node-sdk (axios, items keep their context object)', () => {
  it('drops receipted calls, sends returned and never-handed-over ones as the SDK made them', async () => {
    guardAxios({ Axios: FakeAxios });
    const receipted = handedOver(ownContext({ key: 'u1', email: 'a@b.c' }));
    receipt(receipted);
    const returned = handedOver(ownContext({ key: 'u3', attributes: { plan: 'pro' } }));
    giveBack([returned], 'export-failed');
    const open = ownContext({ key: 'u4' });
    const theirs = { key: 'u2' };
    const axios = new FakeAxios();
    const before = { ...sdkDeliveryGuardStats() };
    const onlyOurs = await axios._request({
      url: '/track/impressions/server',
      method: 'POST',
      data: { impressions: [{ flagKey: 'f', context: receipted }], sdkContext: {} },
    } as never);
    expect(onlyOurs).toMatchObject({ status: 202 });
    const fallback = new Fallback('dflt');
    await axios._request({
      url: '/track/impressions/server',
      method: 'POST',
      data: {
        impressions: [
          { flagKey: 'f', flagValue: 1, context: receipted },
          { flagKey: 'g', flagValue: 2, context: theirs },
          { flagKey: 'h', flagValue: fallback, context: returned },
          { flagKey: 'i', flagValue: 3, context: open },
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
    expect(sdkDeliveryGuardStats().filteredItems - before.filteredItems).toBe(2);
    expect(sdkDeliveryGuardStats().suppressedRequests - before.suppressedRequests).toBe(1);
  });

  it('holds undecided calls: a receipt drops them, a return sends them in a request of their own', async () => {
    guardAxios({ Axios: FakeAxios });
    const waitingA = handedOver(ownContext({ key: 'a' }));
    const waitingB = handedOver(ownContext({ key: 'b' }));
    const axios = new FakeAxios();
    const answer = await axios._request({
      url: '/track/events/server',
      method: 'POST',
      data: {
        events: [
          { context: waitingA, eventKey: 'e', timestamp: at(1) },
          { context: { key: 'c' }, eventKey: 'e', timestamp: at(2) },
          { context: waitingB, eventKey: 'e', timestamp: at(3) },
        ],
        sdkContext: { sdkName: 'n' },
      },
    } as never);
    // The SDK's request is answered at once with what was not held.
    expect(answer).toMatchObject({ status: 201 });
    expect(axios.sent.map((r) => r.data)).toEqual([
      { events: [{ context: { key: 'c' }, eventKey: 'e', timestamp: at(2) }], sdkContext: { sdkName: 'n' } },
    ]);
    receipt(waitingA);
    giveBack([waitingB], 'no-receipt');
    await guardRequestsDone(Date.now() + 1000);
    expect(axios.sent.map((r) => r.data)).toEqual([
      { events: [{ context: { key: 'c' }, eventKey: 'e', timestamp: at(2) }], sdkContext: { sdkName: 'n' } },
      { events: [{ context: { key: 'b' }, eventKey: 'e', timestamp: at(3) }], sdkContext: { sdkName: 'n' } },
    ]);
  });

  it('never touches other routes or requests without the FlagSync key', async () => {
    guardAxios({ Axios: FakeAxios });
    const owned = handedOver(ownContext({ key: 'u1' }));
    receipt(owned);
    const axios = new FakeAxios();
    const rules = { url: '/sdk/rules', method: 'POST' };
    await axios._request(rules as never);
    const app = new FakeAxios();
    app.defaults.headers = {};
    const appRequest = {
      url: 'https://shop.example/track/impressions/server',
      method: 'POST',
      data: { impressions: [{ context: owned }] },
    };
    await app._request(appRequest as never);
    expect(axios.sent).toEqual(JSON.parse(JSON.stringify([rules])));
    expect(app.sent).toEqual(JSON.parse(JSON.stringify([appRequest])));
  });

  it('is undone by removeSdkDeliveryGuards and ignores what is not axios', async () => {
    guardAxios({ Axios: FakeAxios });
    removeSdkDeliveryGuards();
    const owned = handedOver(ownContext({ key: 'u' }));
    receipt(owned);
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
  it('drops the receipted item of that client, key and millisecond window, once; events alike', async () => {
    const sent: { url: string; body: string }[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: unknown, init?: { body?: string }) => {
      sent.push({ url: String(input), body: init?.body ?? '' });
      return new Response('{}', { status: 201 });
    }) as typeof fetch;
    const claim = (kind: 'impression' | 'event', key: string, name: string, from: number, to: number) => {
      const c = claimClientItem(kind, key, name, from);
      closeClientClaim(c, to);
      return c;
    };
    try {
      expect(installBrowserSdkDeliveryGuard({ axios: { Axios: FakeAxios } })).toBe(true);
      receipt(handedOver(claim('impression', 'b', 'f', 1000, 1001)));
      claim('impression', 'b', 'g', 1000, 1001); // never handed over: the SDK's copy goes out
      receipt(handedOver(claim('impression', 'other', 'f', 2000, 2000)));
      receipt(handedOver(claim('event', 'b', 'f', 1000, 1001))); // an event claim is no impression's
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

      const events = [
        { eventKey: 'f', value: 1, timestamp: at(1001) },
        { eventKey: 'f', value: 2, timestamp: at(1001) },
      ];
      await fetch('https://sdk.flagsync.com/track/events/client', {
        method: 'POST',
        headers,
        body: JSON.stringify({ context: { key: 'b' }, events }),
      });
      expect(JSON.parse(sent[1]!.body).events).toEqual(events.slice(1));

      receipt(handedOver(claim('impression', 'b', 'f', 4000, 4002)));
      const onlyOurs = await fetch('https://sdk.flagsync.com/track/impressions/client', {
        method: 'POST',
        headers,
        body: JSON.stringify({ context: { key: 'b' }, impressions: [{ flagKey: 'f', timestamp: at(4001) }] }),
      });
      expect(onlyOurs.status).toBe(202);
      expect(sent).toHaveLength(2);
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
