// Browser-safe entry point: the manual wrapper, the conventions and the types. No Node imports.
export { instrumentFlagSyncClient, createClientInstrumenter } from './instrumentation/wrap-client.js';
export type { ClientInstrumenter } from './instrumentation/wrap-client.js';
export {
  claimSdkDelivery,
  guardAxios,
  guardFetch,
  installBrowserSdkDeliveryGuard,
  isSdkDeliveryGuardInstalled,
  releaseSdkDelivery,
  removeSdkDeliveryGuards,
  sdkDeliveryGuardStats,
} from './instrumentation/sdk-delivery-guard.js';
export type { GuardStats } from './instrumentation/sdk-delivery-guard.js';
export type { RecorderStats } from './instrumentation/recorder.js';
export {
  EVENT_FEATURE_FLAG_EVALUATION,
  EVENT_FLAGSYNC_TRACK,
  ATTR_FLAGSYNC_VALUE,
  ATTR_FLAGSYNC_CONTEXT_ATTRIBUTES,
  ATTR_FLAGSYNC_CONTEXT_KEY,
  ATTR_FLAGSYNC_IMPRESSION,
  ATTR_FLAGSYNC_EVENT_KEY,
  ATTR_FLAGSYNC_EVENT_VALUE,
  ATTR_FLAGSYNC_EVENT_VALUE_NULL,
  ATTR_FLAGSYNC_EVENT_PROPERTIES,
  PROVIDER_NAME,
} from './conventions.js';
export { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';
export type {
  ContextAttributeFilter,
  EventSignal,
  FlagSyncEvent,
  FlagSyncImpression,
  FlagSyncInstrumentationOptions,
  FlagSyncSdkContext,
  FlagSyncUserContext,
  JsonValue,
  NoRecordingSpanBehavior,
} from './types.js';
