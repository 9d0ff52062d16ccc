/**
 * Real @flagsync/js-sdk (the browser SDK, run in Node) + real OTel SDK + our exporters + the stand-in.
 * The browser SDK posts to the client routes with one context per batch; this package sends the
 * server form with the context on every item. What FlagSync learns must be the same.
 */
import { FlagSyncFactory } from '@flagsync/js-sdk';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FlagSyncLogRecordExporter } from '../../src/exporters/flagsync-log-record-exporter.js';
import { FlagSyncSpanExporter } from '../../src/exporters/flagsync-span-exporter.js';
import { installSdkDeliveryGuard } from '../../src/instrumentation/node-sdk-delivery-guard.js';
import { removeSdkDeliveryGuards } from '../../src/instrumentation/sdk-delivery-guard.js';
import { handoverStats } from '../../src/instrumentation/handover.js';
import { instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { setupOtel } from '../utils/otel.js';
import { canonicalSortedKeys as canonical } from '../utils/scenario.js';

const USERS = [{ key: 'browser-1', attributes: { plan: 'pro' } }, { key: 'browser-2' }];

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(async () => {
  await standIn.close();
});

type BrowserClient = ReturnType<ReturnType<typeof FlagSyncFactory>['client']>;

async function session(
  wrap: (client: BrowserClient) => BrowserClient,
  core: { key: string; attributes?: Record<string, unknown> },
  beforeKill: () => Promise<void> = async () => undefined,
) {
  const client = wrap(
    FlagSyncFactory({
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      core,
      urls: { sdk: standIn.url },
      sync: { type: 'off' },
    }).client(),
  );
  await client.waitForReady();
  client.flag('register-button-copy', 'Register');
  client.flag('checkout-config');
  client.flag('string-true');
  client.flag('no-such-flag', 'fallback');
  client.track('page_load_time', 812.25);
  client.track('purchase_event', null, { price: 42.5, discount: 'SPRING', nested: { list: [1, 'two', null] } });
  client.track('signup');
  await beforeKill();
  client.kill();
}

describe('js-sdk through the OpenTelemetry SDK to FlagSync', () => {
  it('sends what the browser SDK would send natively, once', async () => {
    removeSdkDeliveryGuards();
    for (const user of USERS) await session((c) => c, user);
    await standIn.waitFor(() => standIn.impressions().length === 8 && standIn.events().length === 6);
    expect(standIn.batches.every((b) => b.audience === 'client' && b.sdkContext.sdkName === '@flagsync/js-sdk')).toBe(
      true,
    );
    const nativeImpressions = standIn.impressions();
    const nativeEvents = standIn.events();
    standIn.reset();

    await installSdkDeliveryGuard();
    const before = handoverStats();
    const options = { sdkKey: STANDIN_DEFAULT_SDK_KEY, eventsUrl: standIn.url, flushIntervalMillis: 50 };
    const otel = setupOtel({
      spanProcessors: [new BatchSpanProcessor({ exporter: new FlagSyncSpanExporter(options) })],
      logProcessors: [new BatchLogRecordProcessor({ exporter: new FlagSyncLogRecordExporter(options) })],
    });
    for (const user of USERS) {
      // As a page does on visibilitychange: end its span and flush telemetry, then let the SDK flush (kill()).
      // kill() cannot wait: whatever has no receipt by then goes back to the SDK's own beacon.
      await otel.tracer.startActiveSpan(`page ${user.key}`, async (span) => {
        await session(
          (c) => instrumentFlagSyncClient(c, { delivery: 'exporter' }),
          user,
          async () => {
            span.end();
            await otel.tracerProvider.forceFlush();
            await otel.loggerProvider.forceFlush();
            await vi.waitFor(() => expect(handoverStats().pending).toBe(0));
          },
        );
      });
    }
    await otel.shutdown();
    const after = handoverStats();
    expect([after.handedOver - before.handedOver, after.receipted - before.receipted, after.pending]).toEqual([
      14, 14, 0,
    ]);

    expect(standIn.batches.every((b) => b.audience === 'server' && b.sdkContext.sdkName === 'flagsync-otel')).toBe(
      true,
    );
    expect(canonical(standIn.impressions())).toEqual(canonical(nativeImpressions));
    expect(canonical(standIn.events())).toEqual(canonical(nativeEvents));
    // js-sdk records missing flags too, with the default it served.
    expect(
      standIn
        .impressions()
        .filter((i) => i.flagKey === 'no-such-flag')
        .map((i) => [i.flagValue, i.context]),
    ).toEqual([
      ['fallback', { key: 'browser-1', attributes: { plan: 'pro' } }],
      ['fallback', { key: 'browser-2', attributes: {} }],
    ]);
  });
});
