/** The service's own counters, exposed in Prometheus text format at /metrics (scrapable by a collector). */
import type { DeliveryStats } from '../delivery/delivery-engine.js';

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
    duplicates: 0,
    derived: 0,
    inFlightAtAckTimeout: 0,
    responses: {},
  };
}

export function renderPrometheus(
  c: ServiceCounters,
  delivery: DeliveryStats,
  queued: number,
  unattributed: number,
): string {
  const lines: string[] = [];
  const counter = (name: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  counter('flagsync_otel_received_records_total', 'Spans and log records received over OTLP.', [
    ['{signal="traces"}', c.receivedRecords.traces],
    ['{signal="logs"}', c.receivedRecords.logs],
  ]);
  counter('flagsync_otel_received_events_total', 'FlagSync evaluation and track events found in them.', [
    ['', c.receivedEvents],
  ]);
  counter('flagsync_otel_converted_total', 'Events converted to FlagSync items.', [
    ['{kind="impression"}', c.converted.impressions],
    ['{kind="event"}', c.converted.events],
  ]);
  counter('flagsync_otel_rejected_total', 'Events that could not be converted.', [['', c.rejected]]);
  counter(
    'flagsync_otel_damaged_total',
    'FlagSync events cut by attribute limits on the way, ignored rather than delivered truncated.',
    [['', c.damaged]],
  );
  counter('flagsync_otel_duplicates_total', 'Items dropped because they were already delivered.', [['', c.duplicates]]);
  counter('flagsync_otel_derived_total', 'Events derived from spans by the derived-event rules.', [['', c.derived]]);
  counter(
    'flagsync_otel_unattributed_total',
    'Spans matching a derived-event rule whose trace had no flag evaluation within the window: no event.',
    [['', unattributed]],
  );
  counter(
    'flagsync_otel_in_flight_at_ack_timeout_total',
    'Items FlagSync had not answered for when their request was answered 503; a retry on another instance may ' +
      'deliver them twice.',
    [['', c.inFlightAtAckTimeout]],
  );
  for (const [field, help] of [
    ['delivered', 'Items FlagSync accepted.'],
    ['retries', 'Requests to FlagSync that were retries.'],
    ['dropped', 'Items dropped because the queue was full.'],
    ['failed', 'Items FlagSync refused or that were undeliverable at shutdown.'],
    [
      'unconfirmed',
      'Items sent again after an attempt FlagSync may have stored (timeout, connection lost): possible duplicates.',
    ],
    ['unanswered', 'Items given up at shutdown while their request was unanswered: FlagSync may have stored them.'],
    ['withdrawn', 'Items handed back to the collector (answered 503 after the ack timeout) before they were sent.'],
  ] as const) {
    counter(`flagsync_otel_${field}_total`, help, [
      ['{kind="impression"}', delivery.impressions[field]],
      ['{kind="event"}', delivery.events[field]],
    ]);
  }
  counter(
    'flagsync_otel_responses_total',
    'OTLP answers by HTTP status.',
    Object.entries(c.responses).map(([code, n]) => [`{code="${code}"}`, n]),
  );
  lines.push(
    '# HELP flagsync_otel_queued_items Items waiting for delivery.',
    '# TYPE flagsync_otel_queued_items gauge',
    `flagsync_otel_queued_items ${queued}`,
  );
  return `${lines.join('\n')}\n`;
}
