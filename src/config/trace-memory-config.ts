/**
 * The trace memory's settings for derived events (its window and bounds): user options, then
 * environment, then defaults, checked against the one option schema (options.ts) at construction.
 */
import { optionsOf, resolveOptions } from './options.js';

export interface TraceMemoryConfig {
  /** How long a trace's contexts (and spans waiting for one) are kept, ms. Default 300000. */
  derivedEventsWindowMillis: number;
  /** Most traces remembered at once (the oldest are forgotten first). Default 100000. */
  derivedEventsMaxTraces: number;
  /** Most bytes of contexts and waiting spans held (the oldest traces are forgotten first). Default 64 MiB. */
  derivedEventsMaxBytes: number;
  /** Most events derived from one trace, and most contexts and waiting spans kept for it. Default 1000. */
  derivedEventsMaxPerTrace: number;
}

/** Options, else the environment, else the schema's defaults; a bad value throws a FlagSyncConfigError naming it. */
export function resolveTraceMemoryConfig(
  options: Readonly<Partial<TraceMemoryConfig>> = {},
  env: NodeJS.ProcessEnv = process.env,
): TraceMemoryConfig {
  return resolveOptions(optionsOf('derived'), options, env) as unknown as TraceMemoryConfig;
}
