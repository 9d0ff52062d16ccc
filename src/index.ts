// Browser-safe entry point: the manual wrapper, the browser guard, the conventions and the types. No Node imports.
export { getInstrumentationStats, instrumentFlagSyncClient } from './instrumentation/wrap-client.js';
export type { InstrumentationStats } from './instrumentation/wrap-client.js';
export type { HandoverStats, ReturnReason } from './instrumentation/handover.js';
export type { DeliverySetting } from './instrumentation/delivery-mode.js';
export { installBrowserSdkDeliveryGuard, sdkDeliveryGuardStats } from './instrumentation/sdk-delivery-guard.js';
export type { GuardStats } from './instrumentation/claims.js';
export type { RecorderStats, SdkDeliveryReason } from './instrumentation/recorder.js';
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
