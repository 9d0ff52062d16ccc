// An OpenFeature app with OpenFeature's own OTel hooks (no FlagSync SDK, no FlagSyncInstrumentation):
// evaluations of a provider named FlagSync, recorded by SpanEventHook (span events) on one client
// and by EventHook (log-based events) on another, delivered by this package's exporters; another
// provider's evaluations, recorded the same way, are not FlagSync's.
'use strict';
const api = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { InMemoryProvider, OpenFeature } = require('@openfeature/server-sdk');
const { SpanEventHook, EventHook } = require('@openfeature/open-telemetry-hooks');
const { FlagSyncSpanExporter, FlagSyncLogRecordExporter } = require('flagsync-otel/exporters');
const line = require('./of-line.cjs');

class FlagSyncNamedProvider extends InMemoryProvider {
  metadata = { name: 'FlagSync' };
}

async function main() {
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // Evaluations of providers named FlagSync are taken from other emitters only when asked to.
  const options = { providerNames: ['FlagSync'], flushIntervalMillis: 50 };
  const tracerProvider = line.tracerProvider(new FlagSyncSpanExporter(options));
  const loggerProvider = line.loggerProvider(new FlagSyncLogRecordExporter(options));
  const flags = {
    'register-button-copy': {
      variants: { register: 'Register', join: 'Join Now' },
      defaultVariant: 'join',
      disabled: false,
    },
    'checkout-config': { variants: { grid: { layout: 'grid', columns: 3 } }, defaultVariant: 'grid', disabled: false },
  };
  await OpenFeature.setProviderAndWait(new FlagSyncNamedProvider(flags));
  // Another vendor's provider, with the same hooks: not FlagSync's, never delivered to it.
  await OpenFeature.setProviderAndWait('other', new InMemoryProvider(flags));
  const otherClient = OpenFeature.getClient('other');
  otherClient.addHooks(new SpanEventHook(), new EventHook());
  const spanClient = OpenFeature.getClient('spans');
  spanClient.addHooks(new SpanEventHook());
  const eventClient = OpenFeature.getClient('events');
  eventClient.addHooks(new EventHook());
  const tracer = api.trace.getTracer('of-app');
  await tracer.startActiveSpan('GET /register', async (span) => {
    await spanClient.getStringValue('register-button-copy', 'Register', { targetingKey: 'of-span-user' });
    await eventClient.getStringValue('register-button-copy', 'Register', { targetingKey: 'of-event-user' });
    await eventClient.getObjectValue('checkout-config', {}, { targetingKey: 'of-event-user' });
    await otherClient.getStringValue('register-button-copy', 'Register', { targetingKey: 'other-vendor-user' });
    span.end();
  });
  await OpenFeature.close();
  await tracerProvider.shutdown();
  await loggerProvider.shutdown();
}
main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
