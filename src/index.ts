// Browser-safe entry point: the manual wrapper, the browser guard, the conventions and the types. No Node imports.
export { getInstrumentationStats, instrumentFlagSyncClient } from './instrumentation/wrap-client.js';
export { installBrowserSdkDeliveryGuard, sdkDeliveryGuardStats } from './instrumentation/sdk-delivery-guard.js';
export type { GuardStats } from './instrumentation/claims.js';
export type { RecorderStats, SdkDeliveryReason } from './instrumentation/recorder.js';
export {
  EVENT_FEATURE_FLAG_EVALUATION,
  EVENT_FLAGSYNC_TRACK,
  ATTR_FLAGSYNC_SIZE,
  ATTR_FLAGSYNC_VALUE,
  ATTR_FLAGSYNC_CONTEXT,
  ATTR_FLAGSYNC_IMPRESSION,
  ATTR_FLAGSYNC_EVENT_KEY,
  ATTR_FLAGSYNC_EVENT_VALUE,
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
