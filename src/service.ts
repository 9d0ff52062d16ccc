// Node entry point: the collector-side OTLP/HTTP service, usable as a library.
export { startFlagSyncService } from './service/flagsync-service.js';
export type { FlagSyncService } from './service/flagsync-service.js';
export { resolveServiceConfig } from './service/service-config.js';
export type { FlagSyncServiceOptions, ResolvedServiceConfig } from './service/service-config.js';
export type { ServiceCounters } from './service/self-metrics.js';
