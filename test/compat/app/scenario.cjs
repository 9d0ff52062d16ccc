// The calls every compatibility cell makes, the same for both OTel lines and module systems.
// Unusual but legal values included: fields beside the key, long values (for attribute limits),
// NaN/Infinity/1e21 track values, flags serving null, a stale variant, numbers past 2^53 and 2^63,
// empty keys.
'use strict';

const USERS = [
  { key: 'user-1', attributes: { plan: 'pro', email: 'one@example.com' } },
  { key: 'user-2', kind: 'user', email: 'two@example.com' },
  { key: 'ユーザー-3', attributes: { bio: 'x'.repeat(80), tags: ['a', 'b'], nested: { x: null } } },
  { key: 'user-4' },
  // Sent by the SDK (FlagSync's API takes an empty key); this package leaves it to the SDK.
  { key: '' },
];

const FLAGS = [
  ['register-button-copy', 'Register'],
  ['price-multiplier', 1],
  ['checkout-config', undefined],
  ['string-true', 'false'],
  ['new-checkout', false],
  ['retired-banner', undefined],
  ['no-such-flag', 'fallback'],
  ['null-config', 'none'],
  ['stale-variant', undefined],
  ['huge-limit', 0],
  ['big-quota', 0],
  ['long-copy', ''],
];

function calls(client, user) {
  for (const [flagKey, fallback] of FLAGS) client.flag(user, flagKey, fallback);
  client.track(user, 'page_load_time', 1234.5);
  client.track(user, 'purchase_event', null, { price: 42.5, items: [{ sku: 'A-1', qty: 2 }], note: 'n'.repeat(60) });
  client.track(user, 'signup');
  client.track(user, 'clicked', 0, {});
  client.track(user, 'not_a_number', NaN);
  client.track(user, 'infinite', Infinity);
  client.track(user, 'huge', 1e21);
  client.track(user, 'big', 1e19);
  client.track(user, '');
}

/**
 * Users 1 and 4 call inside a request span (sampled or not, per the cell), users 2 and 3 outside
 * any span. `otel.inRequest(name, fn)` starts the span the cell's way. User 4's short key leaves
 * some of its span events within a small attribute length limit.
 */
async function runScenario({ FlagSyncFactory, wrap, otel }) {
  const client = wrap(
    FlagSyncFactory({
      sdkKey: process.env.FLAGSYNC_SDK_KEY,
      urls: { sdk: process.env.FLAGSYNC_EVENTS_URL },
      sync: { type: 'off' },
    }).client(),
  );
  await client.waitForReady();
  USERS.forEach((user, i) => {
    if (i === 0 || i === 3) otel.inRequest(`GET /page/${i}`, () => calls(client, user));
    else calls(client, user);
  });
  await otel.shutdown();
  await client.destroy();
  process.stdout.write(`${JSON.stringify({ stats: otel.stats(), metrics: otel.metrics?.() })}\n`);
  // node-sdk 0.1.1 leaves a 60 s timer behind after destroy() (and traps SIGTERM): exit explicitly.
  process.exit(0);
}

/**
 * Calls the SDK accepts and sends but FlagSync's API refuses (a batch holding one is refused
 * whole): kept apart, in a session of their own, so they cannot take valid items with them.
 */
function refusedCalls(client) {
  client.track({ key: 'user-5' }, 'cart', 1, [1, 2]);
  client.track({ key: 'user-5' }, 42);
  client.track({ key: 'user-5' }, 'cart', '12');
  client.track({ key: 'user-5', attributes: null }, 'cart');
  client.flag({ key: 'user-5', attributes: null }, 'new-checkout', false);
}

module.exports = { USERS, FLAGS, calls, refusedCalls, runScenario };
