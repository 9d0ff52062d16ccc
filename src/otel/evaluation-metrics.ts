/**
 * The opt-in evaluation counter `feature_flag.evaluations` (`evaluationMetrics: true`, `FLAGSYNC_EVALUATION_METRICS`),
 * through the OpenTelemetry Metrics API: one per flag() call, with `feature_flag.key`,
 * `feature_flag.result.variant` (when known and values are not omitted), `feature_flag.result.reason` and
 * `error.type` (on errors). No context id, no value: its cardinality is flags × variants × reasons.
 *
 * The hot path only adds 1 to a number: calls are counted here, per attribute set, and reported as an asynchronous
 * (observable) counter when the app's MeterProvider collects, so no attribute hashing happens per call. Counts are
 * process-wide and cumulative; a MeterProvider registered later reports them from the process start.
 */
import { metrics, type Attributes, type MeterProvider, type ObservableResult } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_RESULT_VARIANT,
  INSTRUMENTATION_SCOPE,
  METRIC_FEATURE_FLAG_EVALUATIONS,
} from '../conventions.js';
import { PACKAGE_VERSION } from '../version.js';

interface Series {
  count: number;
  readonly attributes: Attributes;
}

/** One flag's series: by variant (undefined: none), or by error type; then by reason. No string is built per call. */
interface FlagSeries {
  byVariant: Map<string | undefined, Map<string, Series>>;
  byError: Map<string, Map<string, Series>>;
}
/**
 * Shared on globalThis: each entry point of the package (ESM and CommonJS, index and instrumentation bundles) has
 * a copy of this module, and one counter per MeterProvider must report all of their calls.
 */
interface MetricsState {
  seriesByFlag: Map<string, FlagSeries>;
  registeredOn: MeterProvider | undefined;
}
const STATE = Symbol.for('flagsync-otel.evaluation-metrics.v1');
const shared = globalThis as Record<PropertyKey, unknown>;
shared[STATE] ??= { seriesByFlag: new Map(), registeredOn: undefined } satisfies MetricsState;
const state = shared[STATE] as MetricsState;
const { seriesByFlag } = state;

/**
 * Count one evaluation. `slot` (optional) caches the series on an object that stands for this exact attribute set
 * (a served value of one flag definition and one omit setting), so the lookup is a property read.
 */
export function countEvaluation(
  flagKey: string,
  variant: string | undefined,
  reason: string,
  errorType: string | undefined,
  slot?: { series?: unknown },
): void {
  let series = slot?.series as Series | undefined;
  if (!series) {
    series = seriesFor(flagKey, variant, reason, errorType);
    if (slot) slot.series = series;
  }
  series.count++;
  // A global read (a few ns): the app may register or replace its MeterProvider at any time.
  const provider = metrics.getMeterProvider();
  if (provider !== state.registeredOn) register(provider);
}

function seriesFor(flagKey: string, variant: string | undefined, reason: string, errorType: string | undefined) {
  let flag = seriesByFlag.get(flagKey);
  if (!flag) {
    flag = { byVariant: new Map(), byError: new Map() };
    seriesByFlag.set(flagKey, flag);
  }
  const byOutcome = errorType ? flag.byError : flag.byVariant;
  const outcome = errorType ? errorType : variant;
  let byReason = (byOutcome as Map<string | undefined, Map<string, Series>>).get(outcome);
  if (!byReason) {
    byReason = new Map();
    (byOutcome as Map<string | undefined, Map<string, Series>>).set(outcome, byReason);
  }
  let series = byReason.get(reason);
  if (!series) {
    const attributes: Attributes = { [ATTR_FEATURE_FLAG_KEY]: flagKey };
    // An error's series has no variant (none is written on errors).
    if (variant !== undefined && !errorType) attributes[ATTR_FEATURE_FLAG_RESULT_VARIANT] = variant;
    attributes[ATTR_FEATURE_FLAG_RESULT_REASON] = reason;
    if (errorType) attributes[ATTR_ERROR_TYPE] = errorType;
    series = { count: 0, attributes };
    byReason.set(reason, series);
  }
  return series;
}

/** Register the observable counter on a new global MeterProvider (the counts so far go with it). */
function register(provider: MeterProvider): void {
  state.registeredOn = provider;
  try {
    const counter = provider
      .getMeter(INSTRUMENTATION_SCOPE, PACKAGE_VERSION)
      .createObservableCounter(METRIC_FEATURE_FLAG_EVALUATIONS, {
        description: 'FlagSync flag evaluations (flag() calls), by flag key, variant, reason and error type',
        unit: '{evaluation}',
      });
    counter.addCallback(observe);
  } catch {
    // a provider that cannot take it: nothing is reported there
  }
}

function observe(result: ObservableResult): void {
  for (const flag of seriesByFlag.values())
    for (const byOutcome of [flag.byVariant, flag.byError] as Map<unknown, Map<string, Series>>[])
      for (const byReason of byOutcome.values())
        for (const series of byReason.values()) result.observe(series.count, series.attributes);
}

/** Whether `evaluationMetrics` (or `FLAGSYNC_EVALUATION_METRICS=true`) turns the counter on. */
export function evaluationMetricsEnabled(option: boolean | undefined): boolean {
  if (option !== undefined) return option;
  const env = typeof process !== 'undefined' ? process.env?.FLAGSYNC_EVALUATION_METRICS : undefined;
  return env === 'true' || env === '1';
}
