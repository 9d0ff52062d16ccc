// Node entry point for auto-instrumentation (registerInstrumentations) and the SDK delivery guard.
export { FlagSyncInstrumentation } from './instrumentation/flagsync-instrumentation.js';
export type { FlagSyncInstrumentationConfig } from './instrumentation/flagsync-instrumentation.js';
export { installSdkDeliveryGuard } from './instrumentation/node-sdk-delivery-guard.js';
export type { InstallGuardResult } from './instrumentation/node-sdk-delivery-guard.js';
