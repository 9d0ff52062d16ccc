// The evaluation counter in a user's app of either OTel JS line: the line's own MeterProvider (sdk-metrics) and
// @opentelemetry/api, node-sdk against the stand-in (FLAGSYNC_EVENTS_URL), the manual wrapper with
// `evaluationMetrics: true`, spans or none. Prints one line: {"metrics": [data points], "events": [...]}.
'use strict';
const api = require('@opentelemetry/api');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');

class PullReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

async function main() {
  const reader = new PullReader();
  api.metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  const options = { evaluationMetrics: true, delivery: 'sdk' };
  const config = {
    sdkKey: process.env.FLAGSYNC_SDK_KEY,
    urls: { sdk: process.env.FLAGSYNC_EVENTS_URL },
    sync: { type: 'off' },
  };
  let client;
  if (process.env.METRICS_CELL === 'instrumentation') {
    // As most Node apps do: the instrumentation first, then the app loads the SDK; no wrapper call in app code.
    const { registerInstrumentations } = require('@opentelemetry/instrumentation');
    const { FlagSyncInstrumentation } = require('flagsync-otel/instrumentation');
    registerInstrumentations({ instrumentations: [new FlagSyncInstrumentation(options)] });
    const { FlagSyncFactory } = require('@flagsync/node-sdk');
    client = FlagSyncFactory(config).client();
  } else {
    const { instrumentFlagSyncClient } = require('flagsync-otel');
    const { installSdkDeliveryGuard } = require('flagsync-otel/instrumentation');
    await installSdkDeliveryGuard();
    const { FlagSyncFactory } = require('@flagsync/node-sdk');
    client = instrumentFlagSyncClient(FlagSyncFactory(config).client(), options);
  }
  await client.waitForReady();
  for (let i = 0; i < 20; i++) client.flag({ key: `user-${i}` }, 'register-button-copy');
  client.flag({ key: 'u', attributes: { plan: 'pro' } }, 'price-multiplier');
  client.flag({ key: 'u' }, 'no-such-flag', false);
  const { resourceMetrics } = await reader.collect();
  const points = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === 'feature_flag.evaluations')
    .flatMap((m) => m.dataPoints.map((p) => ({ ...p.attributes, value: p.value })));
  await client.destroy();
  console.log(JSON.stringify({ metrics: points }));
  process.exit(0);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
