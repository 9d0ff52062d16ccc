/**
 * One delivery engine per process and configuration: a span exporter and a log record exporter
 * set up with the same FlagSync settings share one connection pool, one backoff state and one
 * memory bound, as if they were one exporter. The engine shuts down with its last user.
 */
import type { ResolvedDeliveryConfig } from '../config/delivery-config.js';
import { TraceContexts, type DerivedEventsConfig } from '../convert/derived-events.js';
import { DeliveryEngine } from './delivery-engine.js';
import type { Transport } from './transport.js';

export interface EngineLease {
  readonly engine: DeliveryEngine;
  /** The flag contexts seen per trace, for derived events: shared like the engine. */
  readonly traces: TraceContexts;
  /** Stop using the engine; the last user's release shuts it down (within the shutdown deadline). */
  release(): Promise<void>;
}

const engines = new Map<string, { engine: DeliveryEngine; traces: TraceContexts; users: number }>();

/** `derived`: the trace memory's bounds, taken from the first user. */
export function acquireEngine(
  config: ResolvedDeliveryConfig,
  transport?: Transport,
  derived: DerivedEventsConfig = {},
): EngineLease {
  // A transport given by the caller (tests) is that caller's own: no sharing.
  if (transport) {
    const engine = new DeliveryEngine(config, transport);
    return { engine, traces: new TraceContexts(derived), release: () => engine.shutdown() };
  }
  const key = JSON.stringify(config);
  let shared = engines.get(key);
  if (!shared) {
    shared = { engine: new DeliveryEngine(config), traces: new TraceContexts(derived), users: 0 };
    engines.set(key, shared);
  }
  shared.users++;
  const entry = shared;
  let released = false;
  return {
    engine: entry.engine,
    traces: entry.traces,
    async release() {
      if (released) return;
      released = true;
      if (--entry.users > 0) {
        await entry.engine.forceFlush();
        return;
      }
      engines.delete(key);
      await entry.engine.shutdown();
    },
  };
}
