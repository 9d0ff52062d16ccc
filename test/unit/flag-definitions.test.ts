/** Variant names and reasons from node-sdk's flag definitions (flag-definitions.ts), without a network. */
import { describe, expect, it } from 'vitest';
import { serverDefinitions, watchFlagRules } from '../../src/instrumentation/flag-definitions.js';
import { STANDIN_FLAGS, toEnvironmentDetail } from '../../src/standin/flags.js';

type Listener = (payload: unknown) => void;

/** A node-sdk-shaped client whose emitter the test drives (`state::update-received`). */
function fakeClient() {
  const listeners = new Map<string, Listener[]>();
  return {
    on: (event: string, listener: Listener) => listeners.set(event, [...(listeners.get(event) ?? []), listener]),
    emit: (event: string, payload: unknown) => {
      for (const l of listeners.get(event) ?? []) l(payload);
    },
  };
}

const detailOf = (key: string) => {
  const i = STANDIN_FLAGS.findIndex((f) => f.key === key);
  return toEnvironmentDetail(STANDIN_FLAGS[i]!, i);
};

describe('flag definitions', () => {
  it('reads the /sdk/rules answer seen on axios, and stream updates per client', async () => {
    const flags = { 'register-button-copy': detailOf('register-button-copy') };
    const proto = {
      _request: async (config: unknown) => ({ data: { flags }, config }),
    };
    expect(watchFlagRules({ Axios: { prototype: proto } })).toBe(true);
    await proto._request({ url: '/sdk/rules', headers: { 'x-ridgeline-key': 'k1' } });
    const client = fakeClient();
    const defs = serverDefinitions(client);
    expect(defs.served('register-button-copy', 'Join Now')).toMatchObject({ variant: 'Join Now', reason: 'split' });
    expect(defs.served('register-button-copy', 'nope')).toBeUndefined();
    expect(defs.served('new-checkout', true)).toBeUndefined();
    client.emit('state::update-received', { 'new-checkout': detailOf('new-checkout') });
    expect(defs.served('new-checkout', false)).toMatchObject({ variant: 'off', reason: 'split' });
    // Another client's updates are its own.
    expect(serverDefinitions(fakeClient()).served('new-checkout', false)).toBeUndefined();
  });

  it('works reasons out of the state: static, targeting_match, default, disabled; JSON values by identity', () => {
    const client = fakeClient();
    const defs = serverDefinitions(client);
    const config = detailOf('checkout-config');
    client.emit('state::update-received', {
      'price-multiplier': detailOf('price-multiplier'),
      'retired-banner': detailOf('retired-banner'),
      'checkout-config': config,
    });
    expect(defs.served('price-multiplier', 1.5)).toMatchObject({ variant: 'pro', reason: 'targeting_match' });
    expect(defs.served('price-multiplier', 1)).toMatchObject({ variant: 'standard', reason: 'default' });
    expect(defs.served('retired-banner', 'none')).toMatchObject({ variant: 'off', reason: 'disabled' });
    const served = (config.featureFlag as { variants: { jsonValue: unknown }[] }).variants[0]!.jsonValue;
    expect(defs.served('checkout-config', served)).toMatchObject({ variant: 'grid', reason: 'static' });
    expect(defs.served('checkout-config', { ...(served as object) })).toBeUndefined();
  });

  it('two variants serving one value: only what they agree on', () => {
    const client = fakeClient();
    const defs = serverDefinitions(client);
    const detail = detailOf('new-checkout') as { featureFlag: { variants: { booleanValue: unknown }[] } };
    detail.featureFlag.variants[1]!.booleanValue = true;
    client.emit('state::update-received', { 'new-checkout': detail });
    expect(defs.served('new-checkout', true)).toMatchObject({ variant: undefined, reason: 'split' });
  });
});
