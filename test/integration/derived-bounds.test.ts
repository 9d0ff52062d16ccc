/**
 * The trace memory's bounds through a real FlagSyncSpanExporter to the FlagSync stand-in: a trace
 * with more users than `derivedEventsMaxPerTrace` gives that many derived events and no more, a
 * trace too large for `derivedEventsMaxBytes` loses its waiting span, and what each bound drops is
 * counted in stats() and as the `flagsync_otel.derived_dropped` self-metric (attribute `reason`, as
 * the Go component's `otelcol_exporter_flagsync_derived_dropped`); spans still waiting at the last shutdown
 * count as unattributed.
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DerivedEventRule } from '../../src/convert/derived-rules.js';
import { FlagSyncSpanExporter } from '../../src/exporters/flagsync-span-exporter.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { evaluationEvent, exported } from '../utils/exporter-input.js';

class TestReader extends MetricReader {
  protected override onForceFlush = () => Promise.resolve();
  protected override onShutdown = () => Promise.resolve();
}

const RULES: DerivedEventRule[] = [
  { eventKey: 'checkout_latency_ms', match: { kind: 'server' }, value: { from: 'duration' }, properties: ['blob'] },
  { eventKey: 'checkout_error', match: { kind: 'server' }, value: { from: 'flag', when: { status: 'error' } } },
];

const START: [number, number] = [1_795_000_000, 0];
const END: [number, number] = [1_795_000_000, 250_000_000];

/** A handler span of `trace` evaluating a flag for each of `users`. */
function handlerSpan(trace: string, users: string[]) {
  return {
    name: 'checkout handler',
    kind: 0,
    startTime: START,
    endTime: END,
    events: users.map((u) => evaluationEvent(u)),
    spanContext: () => ({ traceId: trace, spanId: `h${trace}` }),
  };
}

/** The server span of `trace` (matching both rules), with attributes. */
function serverSpan(trace: string, attributes: Record<string, unknown> = {}) {
  return {
    name: 'POST /checkout',
    kind: 1,
    startTime: START,
    endTime: END,
    status: { code: 0 },
    attributes,
    events: [],
    spanContext: () => ({ traceId: trace, spanId: `s${trace}` }),
  };
}

const trace = (n: number) => n.toString(16).padStart(32, '0');
const TIMESTAMP = '2026-11-18T11:06:40.250Z';

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());

describe('derived events within the trace memory bounds (real exporter, FlagSync stand-in)', () => {
  it('a trace with more users than derivedEventsMaxPerTrace: that many events arrive, the rest counted', async () => {
    standIn.reset();
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const exporter = new FlagSyncSpanExporter({
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      eventsUrl: standIn.url,
      flushIntervalMillis: 20,
      derivedEvents: RULES,
      derivedEventsMaxPerTrace: 3,
      meterProvider,
    });
    // Trace 1: five users, one server span; trace 2: one user.
    await exported(exporter, [
      handlerSpan(trace(1), ['u1', 'u2', 'u3', 'u4', 'u5']),
      serverSpan(trace(1)),
      handlerSpan(trace(2), ['v1']),
      serverSpan(trace(2)),
    ]);
    await exporter.forceFlush();
    expect(standIn.impressions()).toHaveLength(6);
    const latency = (user: string) => ({
      context: { key: user },
      eventKey: 'checkout_latency_ms',
      value: 250,
      timestamp: TIMESTAMP,
    });
    const error = (user: string) => ({
      context: { key: user },
      eventKey: 'checkout_error',
      value: 0,
      timestamp: TIMESTAMP,
    });
    // Trace 1 keeps u1..u3 (u4, u5 dropped); its first rule's three events fill the bound, so the
    // second rule's three are not made.
    expect(standIn.events()).toEqual([latency('u1'), latency('u2'), latency('u3'), latency('v1'), error('v1')]);
    expect(exporter.stats()).toMatchObject({
      derived: 5,
      derivedDropped: { max_bytes: 0, max_per_trace: 2 + 3 },
      unattributed: 0,
    });
    const { resourceMetrics } = await reader.collect();
    const dropped = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'flagsync_otel.derived_dropped');
    expect(dropped?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ signal: 'traces', reason: 'max_bytes' }, 0],
      [{ signal: 'traces', reason: 'max_per_trace' }, 5],
    ]);
    await exporter.shutdown();
    await meterProvider.shutdown();
  });

  it('derivedEventsMaxBytes: the oldest trace and its waiting span make room; the others are attributed', async () => {
    standIn.reset();
    const exporter = new FlagSyncSpanExporter({
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      eventsUrl: standIn.url,
      flushIntervalMillis: 20,
      derivedEvents: [RULES[0]!],
      derivedEventsMaxBytes: 1 << 20,
    });
    // Three server spans of 400 kB each wait for their traces' evaluations: the third does not fit beside two.
    const blob = 'x'.repeat(400_000);
    await exported(
      exporter,
      [3, 4, 5].map((n) => serverSpan(trace(n), { blob })),
    );
    await exported(
      exporter,
      [3, 4, 5].map((n) => handlerSpan(trace(n), [`w${n}`])),
    );
    await exporter.forceFlush();
    expect(standIn.impressions()).toHaveLength(3);
    expect(standIn.events()).toEqual(
      ['w4', 'w5'].map((user) => ({
        context: { key: user },
        eventKey: 'checkout_latency_ms',
        value: 250,
        properties: { blob },
        timestamp: TIMESTAMP,
      })),
    );
    expect(exporter.stats()).toMatchObject({
      derived: 2,
      derivedDropped: { max_bytes: 1, max_per_trace: 0 },
      unattributed: 0,
    });
    await exporter.shutdown();
  });

  it('a span still waiting for its trace at the last shutdown is unattributed (once per rule it meets), as in Go', async () => {
    standIn.reset();
    const exporter = new FlagSyncSpanExporter({
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      eventsUrl: standIn.url,
      derivedEvents: RULES,
    });
    await exported(exporter, [serverSpan(trace(6))]);
    expect(exporter.stats()).toMatchObject({ derived: 0, unattributed: 0 });
    await exporter.shutdown();
    expect(standIn.events()).toEqual([]);
    expect(exporter.stats()).toMatchObject({
      derived: 0,
      unattributed: 2,
      derivedDropped: { max_bytes: 0, max_per_trace: 0 },
    });
  });
});
