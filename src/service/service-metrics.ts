/**
 * The service's counters and its /metrics: the shared self-metrics catalogue (delivery and
 * conversion, as the exporters report them) plus what only the service has, served as Prometheus
 * text by prom-client and read from the counters at each scrape.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import {
  CONVERSION_METRICS,
  ENGINE_METRICS,
  type ConversionSource,
  type EngineSource,
  type SelfMetric,
} from '../otel/self-metrics.js';

export interface ServiceCounters {
  /** Spans and log records received, by signal. */
  receivedRecords: { traces: number; logs: number };
  /** FlagSync events found in them. */
  receivedEvents: number;
  converted: { impressions: number; events: number };
  /** Events that could not be converted (reported in partialSuccess). */
  rejected: number;
  /** Our events cut by attribute limits on the way (ignored: never delivered truncated). */
  damaged: number;
  /** Our events of calls another deliverer has (`flagsync.delivery` sdk or exporter). */
  elsewhere: number;
  /** Items dropped as already delivered (collector retries). */
  duplicates: number;
  /** Events derived from spans by the derived-event rules. */
  derived: number;
  /** Items still in an unanswered request to FlagSync when their OTLP request was answered 503. */
  inFlightAtAckTimeout: number;
  /** Answers by HTTP status. */
  responses: Record<string, number>;
}

export function newCounters(): ServiceCounters {
  return {
    receivedRecords: { traces: 0, logs: 0 },
    receivedEvents: 0,
    converted: { impressions: 0, events: 0 },
    rejected: 0,
    damaged: 0,
    elsewhere: 0,
    duplicates: 0,
    derived: 0,
    inFlightAtAckTimeout: 0,
    responses: {},
  };
}

const SERVICE_METRICS: readonly SelfMetric<ServiceCounters>[] = [
  {
    name: 'received_records',
    type: 'counter',
    unit: '{record}',
    description: 'Spans and log records received over OTLP.',
    labels: ['signal'],
    samples: (c) => [
      [{ signal: 'traces' }, c.receivedRecords.traces],
      [{ signal: 'logs' }, c.receivedRecords.logs],
    ],
  },
  {
    name: 'received_events',
    type: 'counter',
    unit: '{event}',
    description: 'FlagSync evaluation and track events found in them.',
    labels: [],
    samples: (c) => [[{}, c.receivedEvents]],
  },
  {
    name: 'converted',
    type: 'counter',
    unit: '{item}',
    description: 'Events converted to FlagSync items.',
    labels: ['kind'],
    samples: (c) => [
      [{ kind: 'impression' }, c.converted.impressions],
      [{ kind: 'event' }, c.converted.events],
    ],
  },
  {
    name: 'duplicates',
    type: 'counter',
    unit: '{item}',
    description: 'Items dropped because they were already delivered.',
    labels: [],
    samples: (c) => [[{}, c.duplicates]],
  },
  {
    name: 'in_flight_at_ack_timeout',
    type: 'counter',
    unit: '{item}',
    description:
      'Items FlagSync had not answered for when their request was answered 503; a retry on another instance may ' +
      'deliver them twice.',
    labels: [],
    samples: (c) => [[{}, c.inFlightAtAckTimeout]],
  },
  {
    name: 'responses',
    type: 'counter',
    unit: '{response}',
    description: 'OTLP answers by HTTP status.',
    labels: ['code'],
    samples: (c) => Object.entries(c.responses).map(([code, n]) => [{ code }, n] as const),
  },
];

/** The registry /metrics serves: every metric read from its source when scraped. */
export function serviceMetricsRegistry(
  counters: ServiceCounters,
  engine: EngineSource,
  unattributed: () => number,
): Registry {
  const registry = new Registry();
  const conversion: ConversionSource = {
    get rejected() {
      return counters.rejected;
    },
    get damaged() {
      return counters.damaged;
    },
    get derived() {
      return counters.derived;
    },
    get elsewhere() {
      return counters.elsewhere;
    },
    get unattributed() {
      return unattributed();
    },
  };
  register(registry, SERVICE_METRICS, counters);
  register(registry, CONVERSION_METRICS, conversion);
  register(registry, ENGINE_METRICS, engine);
  return registry;
}

function register<S>(registry: Registry, metrics: readonly SelfMetric<S>[], source: S): void {
  for (const metric of metrics) {
    const common = {
      help: metric.description,
      labelNames: metric.labels,
      registers: [registry],
    };
    const samples = () => metric.samples(source);
    if (metric.type === 'counter') {
      new Counter({
        ...common,
        name: `flagsync_otel_${metric.name}_total`,
        // Counts kept by the code, copied at scrape time.
        collect() {
          this.reset();
          for (const [labels, value] of samples()) this.inc(labels, value);
        },
      });
    } else {
      new Gauge({
        ...common,
        name: `flagsync_otel_${metric.name}`,
        collect() {
          for (const [labels, value] of samples()) this.set(labels, value);
        },
      });
    }
  }
}
