// Node entry point: exporters that deliver to FlagSync in-process, and their building blocks.
export { FlagSyncSpanExporter } from './exporters/flagsync-span-exporter.js';
export { FlagSyncLogRecordExporter } from './exporters/flagsync-log-record-exporter.js';
export type { ExporterStats, FlagSyncExporterOptions } from './exporters/exporter-base.js';
export { FlagSyncConfigError, resolveDeliveryConfig, DEFAULT_EVENTS_URL } from './config/delivery-config.js';
export type { FlagSyncDeliveryOptions, ResolvedDeliveryConfig } from './config/delivery-config.js';
export { createConverter } from './convert/converter.js';
export type { ConversionOutcome, Converter, ConverterOptions, SourceEvent } from './convert/converter.js';
export type { LogRecordLike, SpanLike } from './convert/sources.js';
export { DeliveryEngine } from './delivery/delivery-engine.js';
export type { DeliveryStats } from './delivery/delivery-engine.js';
export type { LaneStats } from './delivery/lane.js';
export type { Transport, TransportResult } from './delivery/transport.js';
