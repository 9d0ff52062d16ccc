// Node entry point: the sidecar OTLP/HTTP service, usable as a library.
export { startFlagSyncService } from './service/flagsync-service.js';
export type { FlagSyncService } from './service/flagsync-service.js';
export type { FlagSyncServiceOptions } from './service/service-config.js';
export type { ServiceCounters } from './service/service-metrics.js';
