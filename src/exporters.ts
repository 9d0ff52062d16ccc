// Node entry point: exporters that deliver to FlagSync in-process, their options and stats.
export { FlagSyncSpanExporter } from './exporters/flagsync-span-exporter.js';
export { FlagSyncLogRecordExporter } from './exporters/flagsync-log-record-exporter.js';
export type { ExporterStats, FlagSyncExporterOptions } from './exporters/exporter-base.js';
export { FlagSyncConfigError } from './config/delivery-config.js';
export type { FlagSyncDeliveryOptions } from './config/delivery-config.js';
export type { ConverterOptions } from './convert/converter.js';
export type { DerivedEventsConfig } from './convert/derived-events.js';
export type { DerivedEventsPreset, DerivedEventsSetting, PresetName } from './convert/derived-presets.js';
export type { AttributeCondition, DerivedEventRule, SpanKindName, SpanStatusName } from './convert/derived-rules.js';
export type { LogRecordLike, SpanLike } from './convert/sources.js';
export type { DeliveryStats } from './delivery/delivery-engine.js';
export type { LaneStats } from './delivery/lane.js';
