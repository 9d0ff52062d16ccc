// An ES module app: run as `node --import ./register-hook.mjs --require ./setup.cjs cell.mjs`, the
// pattern OpenTelemetry JS documents for ESM (loader hook, then a CommonJS telemetry setup).
import { createRequire } from 'node:module';
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { instrumentFlagSyncClient } from 'flagsync-otel';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';

const require = createRequire(import.meta.url);
const otel = require('./setup.cjs');
const { runScenario } = require('./scenario.cjs');
if (otel.reference || otel.auto) {
  await runScenario({ FlagSyncFactory, wrap: (c) => c, otel });
} else {
  await installSdkDeliveryGuard();
  await runScenario({ FlagSyncFactory, wrap: (c) => instrumentFlagSyncClient(c), otel });
}
