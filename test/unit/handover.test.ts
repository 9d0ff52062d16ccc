/**
 * The receipt registry: a consumer finds every handed-over call by its holder and event, whatever
 * order it exports them in; a call no consumer takes goes back at the receipt timeout; each settles once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ownContext } from '../../src/instrumentation/claims.js';
import {
  claimFor,
  claimsOf,
  giveBackAll,
  handOver,
  handoverStats,
  isUnsettled,
  receipt,
  resetHandover,
  setReceiptTimeout,
  take,
  type Claim,
} from '../../src/instrumentation/handover.js';

afterEach(() => {
  vi.useRealTimers();
  resetHandover();
});

interface Call {
  claim: Claim;
  holder: string;
  event: Record<string, unknown>;
}

/** `count` calls handed to the exporters, `perSpan` per span (holder), each with its own stored event. */
function handOverCalls(count: number, perSpan = 1, pipeline: 'exporter' | 'collector' = 'exporter'): Call[] {
  const calls: Call[] = [];
  for (let i = 0; i < count; i++) {
    const call = { claim: ownContext({ key: `u${i}` }), holder: `span-${Math.floor(i / perSpan)}`, event: { i } };
    handOver(call.claim, pipeline, call.holder, call.event, i % perSpan === 0);
    calls.push(call);
  }
  return calls;
}

/** What an exporter does with a batch: find each call, take it, receipt it. */
function exportInOrder(calls: Call[]): number {
  let found = 0;
  for (const call of calls) {
    const claim = claimFor(call.holder, call.event);
    if (claim === call.claim && take(claim)) {
      receipt(claim);
      found++;
    }
  }
  return found;
}

describe('receipt registry', () => {
  it.each([
    ['in hand-over order', (calls: Call[]) => calls],
    ['in reverse order (every lookup past the front)', (calls: Call[]) => [...calls].reverse()],
    [
      'interleaved (spans ending out of order)',
      (calls: Call[]) => calls.filter((_, i) => i % 2).concat(calls.filter((_, i) => i % 2 === 0)),
    ],
  ])('finds every call exported %s, once', (_name, order) => {
    const calls = handOverCalls(500, 3);
    expect(exportInOrder(order(calls))).toBe(500);
    expect(exportInOrder(calls)).toBe(0);
    expect(handoverStats()).toMatchObject({ handedOver: 500, receipted: 500, pending: 0 });
  });

  it('finds nothing for an unknown event, and every call after it still', () => {
    const calls = handOverCalls(100);
    expect(claimFor('span-5', { i: 5 })).toBeUndefined();
    expect(claimFor('nobody', calls[7]!.event)).toBeUndefined();
    expect(exportInOrder([...calls].reverse())).toBe(100);
    expect(handoverStats().pending).toBe(0);
  });

  it('gives an event of another span nothing', () => {
    const [a, b] = handOverCalls(2);
    expect(claimFor(b!.holder, a!.event)).toBeUndefined();
    expect(claimFor(a!.holder, a!.event)).toBe(a!.claim);
  });

  it('files collector-mode calls by span, for the OTLP export to take them all', () => {
    const calls = handOverCalls(6, 3, 'collector');
    expect(claimsOf('span-0')).toEqual(calls.slice(0, 3).map((c) => c.claim));
    expect(claimsOf('span-1')).toEqual(calls.slice(3).map((c) => c.claim));
    for (const claim of claimsOf('span-0')!) take(claim);
    expect(claimsOf('span-0')).toBeUndefined();
  });

  it('gives back the calls no consumer took within the receipt timeout, and only those', () => {
    vi.useFakeTimers();
    setReceiptTimeout(5_000);
    const early = handOverCalls(50);
    expect(exportInOrder(early.slice(0, 10).reverse())).toBe(10);
    vi.advanceTimersByTime(3_000);
    const late = handOverCalls(5);
    vi.advanceTimersByTime(3_000);
    expect(handoverStats()).toMatchObject({ receipted: 10, pending: 5, returned: { 'no-receipt': 40 } });
    // A call returned to the SDK is no consumer's to take any more.
    expect(claimFor(early[20]!.holder, early[20]!.event)).toBeUndefined();
    expect(exportInOrder(late)).toBe(5);
    expect(handoverStats().pending).toBe(0);
  });

  it('times a call out at its receipt timeout after 25 days of calls always waiting (the clock rebased)', () => {
    vi.useFakeTimers();
    setReceiptTimeout(5_000);
    const start = Date.now();
    // A call taken and still waiting for its answer keeps the clock running (its epoch never moves).
    const [waiting] = handOverCalls(1);
    expect(take(claimFor(waiting!.holder, waiting!.event)!)).toBe(true);
    // The clock stays a small integer: past 2^31 ms, an int32 would wrap and no call would time out again.
    vi.setSystemTime(start + 2 ** 31 - 3_000);
    vi.advanceTimersByTime(1_000);
    const [late] = handOverCalls(1);
    vi.advanceTimersByTime(4_000);
    expect(handoverStats()).toMatchObject({ pending: 2, returned: { 'no-receipt': 0 } });
    vi.advanceTimersByTime(2_000);
    expect(handoverStats()).toMatchObject({ pending: 1, returned: { 'no-receipt': 1 } });
    expect(isUnsettled(late!.claim)).toBe(false);
    receipt(waiting!.claim);
    expect(handoverStats()).toMatchObject({ pending: 0, receipted: 1 });
  });

  it('gives back every unsettled call at the end, taken or not, once', () => {
    const calls = handOverCalls(40);
    const taken = claimFor(calls[30]!.holder, calls[30]!.event)!;
    expect(take(taken)).toBe(true);
    giveBackAll('shutdown');
    expect(calls.every((c) => !isUnsettled(c.claim))).toBe(true);
    expect(handoverStats()).toMatchObject({ pending: 0, returned: { shutdown: 40 } });
    receipt(taken);
    expect(handoverStats().receipted).toBe(0);
  });

  it('keeps a call waiting long for its answer, while thousands after it are receipted and swept', () => {
    vi.useFakeTimers();
    setReceiptTimeout(60_000);
    const [slow, ...rest] = handOverCalls(6_001);
    // A consumer takes the first and waits; every later call is found, taken and receipted.
    expect(take(claimFor(slow!.holder, slow!.event)!)).toBe(true);
    expect(exportInOrder(rest.slice(0, 5_000))).toBe(5_000);
    // The sweep drops the receipted ones behind the waiting call: the lookups still find the rest,
    // in any order, and the end still finds the waiting call and the untaken ones.
    vi.advanceTimersByTime(1_000);
    expect(exportInOrder(rest.slice(5_000, 5_500).reverse())).toBe(500);
    const later = handOverCalls(10);
    expect(handoverStats().pending).toBe(1 + 500 + 10);
    giveBackAll('shutdown');
    expect(handoverStats()).toMatchObject({ receipted: 5_500, pending: 0, returned: { shutdown: 511 } });
    expect(isUnsettled(slow!.claim)).toBe(false);
    expect(later.every((c) => !isUnsettled(c.claim))).toBe(true);
  });

  it('finds collector-mode and exporter calls handed over side by side, and gives back both at the end', () => {
    const exporter = handOverCalls(20);
    const collector = handOverCalls(6, 3, 'collector');
    expect(exportInOrder(exporter.slice(10))).toBe(10);
    for (const claim of claimsOf('span-0')!) if (collector.some((c) => c.claim === claim)) take(claim);
    giveBackAll('shutdown');
    expect(handoverStats()).toMatchObject({ receipted: 10, pending: 0, returned: { shutdown: 16 } });
  });
});
