// The app of the handover cells: 4 flag() and 2 track() calls, one of each outside any span, in two
// parts; it ends the way FlagSync's docs say, with `await client.destroy()` only (the OTel SDK is
// never shut down). With PAUSE=1 it waits for SIGUSR2 after each part, so the test can break the
// pipeline in between. Prints its handover counts as a JSON line.
'use strict';
const otel = require('./setup.cjs');

const user = (n) => ({ key: `user-${n}`, attributes: { plan: 'pro' } });
const next = (what) =>
  process.env.PAUSE
    ? new Promise((resolve) => {
        process.once('SIGUSR2', resolve);
        process.stdout.write(`${what}\n`);
      })
    : Promise.resolve();

async function main() {
  const { FlagSyncFactory } = require('@flagsync/node-sdk');
  const { getInstrumentationStats } = require('flagsync-otel');
  const client = FlagSyncFactory({
    sdkKey: process.env.FLAGSYNC_SDK_KEY,
    urls: { sdk: process.env.FLAGSYNC_EVENTS_URL },
    sync: { type: 'off' },
  }).client();
  await client.waitForReady();
  otel.inRequest('GET /register', () => {
    client.flag(user(1), 'register-button-copy', 'Register');
    client.flag(user(1), 'price-multiplier', 1);
    client.track(user(1), 'purchase_event', 42.5, { sku: 'A-1' });
  });
  client.flag(user(2), 'string-true', 'false');
  await next('part 1 done');
  otel.inRequest('GET /checkout', () => client.flag(user(3), 'new-checkout', false));
  client.track(user(4), 'page_load_time', 812.25);
  await next('part 2 done');
  await client.destroy();
  const stats = getInstrumentationStats(client) ?? null;
  process.stdout.write(`${JSON.stringify({ handover: stats?.handover ?? null, sdkDelivered: stats?.sdkDelivered })}\n`);
  // node-sdk 0.1.1 leaves a 60 s timer behind after destroy() (and traps SIGTERM): exit explicitly.
  process.exit(0);
}
main();
