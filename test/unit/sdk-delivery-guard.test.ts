import { afterEach, describe, expect, it } from 'vitest';
import { guardAxios, isSdkDeliveryGuardInstalled, removeSdkDeliveryGuards, sdkDeliveryGuardStats } from '../../src/instrumentation/sdk-delivery-guard.js';

class FakeAxios {
  sent: unknown[] = [];
  defaults = { headers: { 'x-ridgeline-key': 'k' } };
  _request(config: unknown) {
    this.sent.push(config);
    return Promise.resolve({ status: 200 });
  }
}

afterEach(() => removeSdkDeliveryGuards());

describe('SDK delivery guard', () => {
  it('answers SDK track POSTs locally and passes every other request through', async () => {
    const axios = { Axios: FakeAxios };
    expect(guardAxios(axios)).toBe(true);
    expect(isSdkDeliveryGuardInstalled()).toBe(true);
    const instance = new FakeAxios();
    const before = sdkDeliveryGuardStats().suppressedRequests;
    await expect(instance._request({ url: '/track/impressions/server', method: 'POST' })).resolves.toMatchObject({ status: 202 });
    await instance._request({ url: '/track/events/client', method: 'POST', headers: {} });
    await instance._request({ url: '/sdk/rules', method: 'POST' });
    await instance._request({ url: '/track/impressions/server', method: 'GET' });
    expect(instance.sent).toEqual([{ url: '/sdk/rules', method: 'POST' }, { url: '/track/impressions/server', method: 'GET' }]);
    expect(sdkDeliveryGuardStats().suppressedRequests - before).toBe(2);
  });

  it('leaves requests without the FlagSync key header alone (the app\'s own axios calls)', async () => {
    guardAxios({ Axios: FakeAxios });
    const instance = new FakeAxios();
    instance.defaults = { headers: {} as never };
    await instance._request({ url: 'https://shop.example/track/events/server', method: 'POST' });
    expect(instance.sent).toHaveLength(1);
  });

  it('is undone by removeSdkDeliveryGuards and ignores what is not axios', async () => {
    guardAxios({ Axios: FakeAxios });
    removeSdkDeliveryGuards();
    expect(isSdkDeliveryGuardInstalled()).toBe(false);
    const instance = new FakeAxios();
    await instance._request({ url: '/track/events/server', method: 'POST' });
    expect(instance.sent).toHaveLength(1);
    expect(guardAxios({})).toBe(false);
    expect(guardAxios(undefined)).toBe(false);
  });
});

describe('fetch guard (js-sdk flushes with fetch keepalive on kill)', () => {
  it('answers SDK track POSTs with the key header locally, and nothing else', async () => {
    const { guardFetch } = await import('../../src/instrumentation/sdk-delivery-guard.js');
    const seen: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: unknown) => {
      seen.push(String(input));
      return new Response('{}', { status: 200 });
    }) as typeof fetch;
    try {
      expect(guardFetch()).toBe(true);
      const suppressed = await fetch('https://sdk.flagsync.com/track/impressions/client', { method: 'POST', keepalive: true, headers: { 'Content-Type': 'application/json', 'x-ridgeline-key': 'k' }, body: '{}' });
      expect(suppressed.status).toBe(202);
      await fetch('https://sdk.flagsync.com/track/events/client', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await fetch('https://sdk.flagsync.com/sdk/flags', { method: 'POST', headers: { 'x-ridgeline-key': 'k' } });
      expect(seen).toEqual(['https://sdk.flagsync.com/track/events/client', 'https://sdk.flagsync.com/sdk/flags']);
      removeSdkDeliveryGuards();
      await fetch('https://sdk.flagsync.com/track/impressions/client', { method: 'POST', headers: { 'x-ridgeline-key': 'k' } });
      expect(seen).toHaveLength(3);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
