/**
 * Who delivers a call: the `delivery` setting (`FLAGSYNC_DELIVERY`) resolved per call.
 * - `sdk`: the FlagSync SDK; events are marked so no consumer delivers them.
 * - `exporter`: this process's FlagSync exporters, receipted by FlagSync's 2xx.
 * - `collector`: a collector with the `flagsync` exporter, receipted by the app's OTLP export. Only
 *   the user can say so: nothing in the app can see the collector's configuration.
 * - `auto`: `exporter` while a FlagSync exporter for the call's signal runs in this process, else `sdk`.
 * A setting that cannot take receipts here (collector mode without an OTLP exporter to watch) falls
 * back to `sdk`, and says so once.
 */
import { DELIVERY_COLLECTOR, DELIVERY_EXPORTER, DELIVERY_SDK, type Delivery } from '../conventions.js';
import { optionsOf, resolveOptions } from '../config/options.js';
import type { FlagSyncInstrumentationOptions } from '../types.js';
import { otlpReceiptsAvailable } from './otlp-receipts.js';

export type DeliverySetting = 'auto' | typeof DELIVERY_SDK | typeof DELIVERY_EXPORTER | typeof DELIVERY_COLLECTOR;

export interface ResolvedHandover {
  delivery: DeliverySetting;
  receiptTimeoutMillis: number;
  destroyTimeoutMillis: number;
}

/** The instrumentation's delivery options: option, else environment, else default; a bad value throws. */
export function resolveHandover(options: FlagSyncInstrumentationOptions): ResolvedHandover {
  const env = typeof process !== 'undefined' && process.env ? process.env : {};
  const values = resolveOptions(optionsOf('instrumentation'), options as Record<string, unknown>, env);
  return {
    delivery: values.delivery as DeliverySetting,
    receiptTimeoutMillis: values.receiptTimeoutMillis as number,
    destroyTimeoutMillis: values.destroyTimeoutMillis as number,
  };
}

/** A running FlagSync exporter: `auto` hands calls of its signal to it while it can deliver. */
export interface LiveExporter {
  readonly signal: 'traces' | 'logs';
  canDeliver(): boolean;
}

const LIVE = Symbol.for('flagsync-otel.live-exporters');
const shared = globalThis as Record<PropertyKey, unknown>;
shared[LIVE] ??= new Set<LiveExporter>();
const live = shared[LIVE] as Set<LiveExporter>;

/** Register a FlagSync exporter; the returned function unregisters it (at shutdown). */
export function registerLiveExporter(exporter: LiveExporter): () => void {
  live.add(exporter);
  return () => live.delete(exporter);
}

function hasLiveExporter(signal: 'traces' | 'logs'): boolean {
  for (const exporter of live) if (exporter.signal === signal && exporter.canDeliver()) return true;
  return false;
}

/**
 * Who delivers a call recorded on this signal, or why it stays with the SDK. `collector` needs an
 * OTLP exporter whose answers are receipts.
 */
export function deliveryFor(setting: DeliverySetting, signal: 'span' | 'log'): Delivery {
  switch (setting) {
    case 'sdk':
      return DELIVERY_SDK;
    case 'exporter':
      return DELIVERY_EXPORTER;
    case 'collector':
      return otlpReceiptsAvailable() ? DELIVERY_COLLECTOR : DELIVERY_SDK;
    default:
      return hasLiveExporter(signal === 'span' ? 'traces' : 'logs') ? DELIVERY_EXPORTER : DELIVERY_SDK;
  }
}
