// A CommonJS app. The OTel setup (./setup.cjs, the line's own) runs first, as `--require` or the
// app's first require would; the app then loads @flagsync/node-sdk as usual.
'use strict';
const otel = require('./setup.cjs');

async function main() {
  const { FlagSyncFactory } = require('@flagsync/node-sdk');
  const { runScenario } = require('./scenario.cjs');
  if (otel.reference || otel.auto) return runScenario({ FlagSyncFactory, wrap: (c) => c, otel });
  // Plain providers: the manual wrapper and the delivery guard, as the README shows.
  const { instrumentFlagSyncClient } = require('flagsync-otel');
  const { installSdkDeliveryGuard } = require('flagsync-otel/instrumentation');
  await installSdkDeliveryGuard();
  return runScenario({ FlagSyncFactory, wrap: (c) => instrumentFlagSyncClient(c), otel });
}
main();
