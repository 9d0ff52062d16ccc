/**
 * One delivery engine per process and configuration: a span exporter and a log record exporter
 * set up with the same FlagSync settings share one connection pool, one backoff state and one
 * memory bound, as if they were one exporter. The engine shuts down with its last user.
 */
import type { MeterProvider } from '@opentelemetry/api';
import type { ResolvedDeliveryConfig } from '../config/delivery-config.js';
import type { TraceMemoryConfig } from '../config/trace-memory-config.js';
import { TraceContexts } from '../convert/derived-events.js';
import { ENGINE_METRICS, observeSelfMetrics } from '../otel/self-metrics.js';
import { DeliveryEngine } from './delivery-engine.js';
import type { Transport } from './transport.js';

export interface EngineLease {
  readonly engine: DeliveryEngine;
  /** The flag contexts seen per trace, for derived events: shared like the engine. */
  readonly traces: TraceContexts;
  /**
   * Report the engine's metrics through this provider (once per engine). A provider given
   * explicitly (`explicit`) is kept; the global one replaces an earlier global one.
   */
  reportMetricsTo(provider: MeterProvider, explicit: boolean): void;
  /** Stop using the engine; the last user's release shuts it down (within the shutdown deadline). */
  release(): Promise<void>;
}

interface Shared {
  engine: DeliveryEngine;
  traces: TraceContexts;
  users: number;
  metrics?: { provider: MeterProvider; explicit: boolean; stop: () => void };
}

const engines = new Map<string, Shared>();

/** `derived`: the trace memory's window and bounds, taken from the first user. */
export function acquireEngine(
  config: ResolvedDeliveryConfig,
  transport?: Transport,
  derived: Partial<TraceMemoryConfig> = {},
): EngineLease {
  // A transport given by the caller (tests) is that caller's own: no sharing.
  const key = transport ? undefined : JSON.stringify(config);
  let shared = key === undefined ? undefined : engines.get(key);
  if (!shared) {
    shared = { engine: new DeliveryEngine(config, transport), traces: new TraceContexts(derived), users: 0 };
    if (key !== undefined) engines.set(key, shared);
  }
  shared.users++;
  const entry = shared;
  let released = false;
  return {
    engine: entry.engine,
    traces: entry.traces,
    reportMetricsTo(provider, explicit) {
      const current = entry.metrics;
      if (current && (current.provider === provider || (current.explicit && !explicit))) return;
      current?.stop();
      entry.metrics = { provider, explicit, stop: observeSelfMetrics(provider, ENGINE_METRICS, entry.engine) };
    },
    async release() {
      if (released) return;
      released = true;
      if (--entry.users > 0) {
        await entry.engine.forceFlush();
        return;
      }
      if (key !== undefined) engines.delete(key);
      // Spans still waiting for an evaluation will get none: counted as unattributed.
      entry.traces.close();
      await entry.engine.shutdown();
      entry.metrics?.stop();
    },
  };
}
