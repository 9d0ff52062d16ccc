/**
 * Teams on OpenFeature: the real @openfeature/open-telemetry-hooks SpanEventHook, with a provider
 * whose name is FlagSync, through FlagSyncSpanExporter to the stand-in.
 */
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { SpanEventHook } from '@openfeature/open-telemetry-hooks';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlagSyncSpanExporter } from '../../src/exporters/flagsync-span-exporter.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { setupOtel } from '../utils/otel.js';

/** A provider as a FlagSync OpenFeature provider would present itself. */
class FlagSyncNamedProvider extends InMemoryProvider {
  // InMemoryProvider types its name as the literal 'in-memory'.
  override readonly metadata = { name: 'FlagSync' } as unknown as InMemoryProvider['metadata'];
}

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());

describe('OpenFeature OTel hooks', () => {
  it('evaluations recorded by SpanEventHook become FlagSync impressions; other providers are ignored', async () => {
    const otel = setupOtel({ spanProcessors: [new BatchSpanProcessor({ exporter: new FlagSyncSpanExporter({ sdkKey: STANDIN_DEFAULT_SDK_KEY, eventsUrl: standIn.url, flushIntervalMillis: 20 }) })] });
    const flags = { 'register-button-copy': { variants: { register: 'Register', join: 'Join Now' }, defaultVariant: 'join', disabled: false } };
    await OpenFeature.setProviderAndWait('flagsync', new FlagSyncNamedProvider(flags));
    await OpenFeature.setProviderAndWait('other', new InMemoryProvider(flags));
    const flagsync = OpenFeature.getClient('flagsync');
    const other = OpenFeature.getClient('other');
    flagsync.addHooks(new SpanEventHook());
    other.addHooks(new SpanEventHook());
    await otel.tracer.startActiveSpan('GET /register', async (span) => {
      expect(await flagsync.getStringValue('register-button-copy', 'Register', { targetingKey: 'of-user-1' })).toBe('Join Now');
      await other.getStringValue('register-button-copy', 'Register', { targetingKey: 'of-user-2' });
      span.end();
    });
    await otel.shutdown();
    await OpenFeature.close();
    const impressions = standIn.impressions();
    expect(impressions.map(({ timestamp: _t, ...rest }) => rest)).toEqual([{ flagKey: 'register-button-copy', flagValue: 'Join Now', context: { key: 'of-user-1' } }]);
  });
});
