/**
 * flagsync-otel's self-metrics as one catalogue, read from the counters the code already keeps
 * when a reader collects (nothing is recorded on the hot path). The exporters report them through
 * the OpenTelemetry Metrics API; the service serves the same catalogue as Prometheus text. The
 * instrument `flagsync_otel.delivered` is `flagsync_otel_delivered_total` in Prometheus, in both.
 */
import type { Attributes, BatchObservableResult, Meter, MeterProvider, Observable } from '@opentelemetry/api';
import type { DerivedDroppedReason } from '../convert/derived-events.js';
import type { DeliveryStats } from '../delivery/delivery-engine.js';
import type { LaneStats } from '../delivery/lane.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';

type Sample = readonly [attributes: Readonly<Record<string, string>>, value: number];

export interface SelfMetric<Source> {
  /** Instrument name after `flagsync_otel.`; Prometheus: `flagsync_otel_<name>`, plus `_total` for counters. */
  name: string;
  type: 'counter' | 'gauge';
  unit: string;
  description: string;
  /** The attribute keys of its samples (Prometheus label names). */
  labels: readonly string[];
  samples(source: Source): Sample[];
}

/** What the delivery engine reports. */
export interface EngineSource {
  stats(): DeliveryStats;
  readonly queued: number;
}

/** What conversion reports, in an exporter or the service. */
export interface ConversionSource {
  rejected: number;
  damaged: number;
  derived: number;
  unattributed: number;
  derivedDropped: Readonly<Record<DerivedDroppedReason, number>>;
  elsewhere: number;
}

const counter = <S>(name: string, description: string, samples: (s: S) => number): SelfMetric<S> => ({
  name,
  type: 'counter',
  unit: '{item}',
  description,
  labels: [],
  samples: (s) => [[{}, samples(s)]],
});

const byRoute = (field: keyof LaneStats, description: string): SelfMetric<EngineSource> => ({
  name: field,
  type: 'counter',
  unit: '{item}',
  description,
  labels: ['kind'],
  samples: (engine) => {
    const stats = engine.stats();
    return [
      [{ kind: 'impression' }, stats.impressions[field]],
      [{ kind: 'event' }, stats.events[field]],
    ];
  },
});

export const ENGINE_METRICS: readonly SelfMetric<EngineSource>[] = [
  byRoute('delivered', 'Items FlagSync accepted.'),
  { ...byRoute('retries', 'Requests to FlagSync that were retries.'), unit: '{request}' },
  byRoute('dropped', 'Items dropped because the queue was full.'),
  byRoute('failed', 'Items FlagSync refused or that were undeliverable at shutdown.'),
  byRoute(
    'unconfirmed',
    'Items sent again after an attempt FlagSync may have stored (timeout, connection lost): possible duplicates.',
  ),
  byRoute(
    'unanswered',
    'Items given up at shutdown while their request was unanswered: FlagSync may have stored them.',
  ),
  byRoute(
    'withdrawn',
    'Items given back before they were sent: their calls went back to the FlagSync SDK, which sends them.',
  ),
  {
    name: 'queued_items',
    type: 'gauge',
    unit: '{item}',
    description: 'Items waiting for delivery.',
    labels: [],
    samples: (engine) => [[{}, engine.queued]],
  },
];

export const CONVERSION_METRICS: readonly SelfMetric<ConversionSource>[] = [
  counter('rejected', 'Events that could not be converted.', (s) => s.rejected),
  counter(
    'damaged',
    'FlagSync events cut by attribute limits on the way, ignored rather than delivered truncated.',
    (s) => s.damaged,
  ),
  counter('derived', 'Events derived from spans by the derived-event rules.', (s) => s.derived),
  {
    ...counter(
      'unattributed',
      'Spans matching a derived-event rule whose trace had no flag evaluation within the window (or before ' +
        'shutdown): no event.',
      (s: ConversionSource) => s.unattributed,
    ),
    unit: '{span}',
  },
  {
    name: 'derived_dropped',
    type: 'counter',
    unit: '{item}',
    description:
      'Derived events not made, and contexts or waiting spans not kept, because the trace memory reached a bound ' +
      '(derivedEventsMaxBytes, derivedEventsMaxPerTrace).',
    labels: ['reason'],
    samples: (s) => [
      [{ reason: 'max_bytes' }, s.derivedDropped.max_bytes],
      [{ reason: 'max_per_trace' }, s.derivedDropped.max_per_trace],
    ],
  },
  counter(
    'elsewhere',
    "This package's events of calls another deliverer has (flagsync.delivery), or that went back to the SDK.",
    (s) => s.elsewhere,
  ),
];

/**
 * Report `metrics` of `source` through a meter of `provider`, with `attributes` added to every
 * sample. Returns the function that stops it (at shutdown), after one more report.
 */
export function observeSelfMetrics<S>(
  provider: MeterProvider,
  metrics: readonly SelfMetric<S>[],
  source: S,
  attributes: Attributes = {},
): () => void {
  const meter: Meter = provider.getMeter(PACKAGE_NAME, PACKAGE_VERSION);
  const instruments = metrics.map((metric) => {
    const options = { description: metric.description, unit: metric.unit };
    const name = `flagsync_otel.${metric.name}`;
    return metric.type === 'counter'
      ? meter.createObservableCounter(name, options)
      : meter.createObservableGauge(name, options);
  });
  let stopped = false;
  const callback = (result: BatchObservableResult) => {
    metrics.forEach((metric, i) => {
      for (const [labels, value] of metric.samples(source))
        result.observe(instruments[i] as Observable, value, { ...attributes, ...labels });
    });
    // That was the last report; removed once this collection's callbacks have all been called.
    if (stopped) queueMicrotask(() => meter.removeBatchObservableCallback(callback, instruments));
  };
  meter.addBatchObservableCallback(callback, instruments);
  // Stopping leaves one more report: the counts of a shutdown's last flush reach the next collection
  // (a periodic reader's, or the MeterProvider's own at its shutdown), which keeps them.
  return () => {
    stopped = true;
  };
}
