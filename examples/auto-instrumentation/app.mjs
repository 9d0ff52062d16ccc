// Plain app code: no flagsync-otel import. The instrumentation registered in otel-setup.mjs
// instruments the client FlagSyncFactory returns.
import { trace } from '@opentelemetry/api';
import { FlagSyncFactory } from '@flagsync/node-sdk';

const client = FlagSyncFactory({
  sdkKey: process.env.FLAGSYNC_SDK_KEY,
  urls: { sdk: process.env.FLAGSYNC_EVENTS_URL },
  sync: { type: 'off' },
}).client();
await client.waitForReady();

await trace.getTracer('app').startActiveSpan('nightly-job', async (span) => {
  for (const key of ['u-1', 'u-2']) {
    const multiplier = client.flag({ key, attributes: { plan: 'pro' } }, 'price-multiplier', 1);
    client.track({ key }, 'job_price_computed', 100 * Number(multiplier));
  }
  span.end();
});

await globalThis.otelShutdown();
await client.destroy();
process.exit(0);
