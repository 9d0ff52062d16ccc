/**
 * The lane's timing rules under fake timers: flush interval, backoff with jitter, Retry-After,
 * 413 halving, growing timeouts after unconfirmed attempts, the configuration-problem pause, and
 * drain's deadline at shutdown. Each test scripts FlagSync's answers and reads when requests left.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Lane, type EntryOutcome, type LaneOptions } from '../../src/delivery/lane.js';
import type { Transport, TransportResult } from '../../src/delivery/transport.js';

const OPTIONS: LaneOptions = {
  kind: 'impressions',
  sdkContextJson: '{"sdkName":"test"}',
  maxBatchSize: 8,
  maxBatchBytes: 1 << 20,
  maxQueueSize: 100,
  maxQueueBytes: 1 << 20,
  flushIntervalMillis: 100,
  timeoutMillis: 1000,
  backoff: { initialBackoffMillis: 100, maxBackoffMillis: 300 },
  configErrorRetryDelayMillis: 30_000,
};

interface Sent {
  at: number;
  items: number[];
  timeoutMillis: number | undefined;
}

/** FlagSync as a script: each request gets the next answer (a function of the request), or `hang`. */
function scripted(answer: (request: Sent, index: number) => TransportResult | 'hang') {
  const sent: Sent[] = [];
  const hanging: ((r: TransportResult) => void)[] = [];
  const transport: Transport = {
    post(_path, body, timeoutMillis) {
      const request = {
        at: Date.now(),
        items: (JSON.parse(body) as { impressions: { i: number }[] }).impressions.map((x) => x.i),
        timeoutMillis,
      };
      sent.push(request);
      const result = answer(request, sent.length - 1);
      if (result === 'hang') return new Promise((resolve) => hanging.push(resolve));
      return Promise.resolve(result);
    },
    close: () => Promise.resolve(),
  };
  return { transport, sent, hanging };
}

const OK: TransportResult = { kind: 'success', status: 202 };
const unavailable = (extra: Partial<Extract<TransportResult, { kind: 'retryable' }>> = {}): TransportResult => ({
  kind: 'retryable',
  status: 503,
  message: 'FlagSync answered 503',
  ...extra,
});

function lane(transport: Transport, options: Partial<LaneOptions> = {}) {
  const outcomes = new Map<number, EntryOutcome>();
  const retries: { delay: number; unconfirmed: boolean; configProblem: boolean }[] = [];
  const l = new Lane({ ...OPTIONS, ...options }, transport, {
    onRetry: (_kind, _message, delay, unconfirmed, configProblem) =>
      retries.push({ delay, unconfirmed, configProblem }),
    onFailure: () => undefined,
    onDelivered: () => undefined,
  });
  const offer = (...items: number[]) => {
    for (const i of items) {
      const json = JSON.stringify({ i });
      const settle = (outcome: EntryOutcome) => {
        if (outcomes.has(i)) throw new Error(`item ${i} settled twice`);
        outcomes.set(i, outcome);
      };
      expect(l.offer({ json, bytes: json.length, settle, tag: String(i) })).toBe(true);
    }
  };
  return { lane: l, offer, outcomes, retries };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('lane timing (fake timers)', () => {
  it('a partial batch leaves after flushIntervalMillis, a full one at once', async () => {
    const f = scripted(() => OK);
    const { offer, outcomes } = lane(f.transport);
    offer(1, 2, 3);
    await vi.advanceTimersByTimeAsync(99);
    expect(f.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.sent).toEqual([{ at: 1_000_100, items: [1, 2, 3], timeoutMillis: 1000 }]);
    offer(...range(10, 18));
    await vi.advanceTimersByTimeAsync(0);
    expect(f.sent[1]).toEqual({ at: 1_000_100, items: range(10, 18), timeoutMillis: 1000 });
    expect([...outcomes.values()].every((o) => o.delivered)).toBe(true);
    expect(outcomes.size).toBe(11);
  });

  it('backoff doubles from initialBackoffMillis up to maxBackoffMillis (full jitter ceiling), resets on success', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const f = scripted((_r, n) => (n < 5 || n === 6 ? unavailable() : OK));
    const { lane: l, offer, outcomes, retries } = lane(f.transport);
    offer(1);
    await vi.advanceTimersByTimeAsync(100); // first attempt at the flush interval
    expect(l.backoff).toEqual({ retryAt: 1_000_200, lastError: 'FlagSync answered 503', status: 503 });
    await vi.advanceTimersByTimeAsync(2000);
    const gaps = f.sent.slice(1).map((s, k) => s.at - f.sent[k]!.at);
    expect(gaps).toEqual([100, 200, 300, 300, 300]);
    expect(retries.map((r) => r.delay)).toEqual([100, 200, 300, 300, 300]);
    expect(outcomes.get(1)).toEqual({ delivered: true });
    expect(l.backoff).toBeUndefined();
    expect(l.stats).toMatchObject({ requests: 6, retries: 5, delivered: 1, failed: 0 });
    // After the success the next failure starts from the initial delay again.
    offer(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(retries.map((r) => r.delay)).toEqual([100, 200, 300, 300, 300, 100]);
    expect(outcomes.get(2)).toEqual({ delivered: true });
  });

  it('with no jitter luck the delay is half the ceiling', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const f = scripted((_r, n) => (n < 3 ? unavailable() : OK));
    const { offer, retries } = lane(f.transport);
    offer(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(retries.map((r) => r.delay)).toEqual([50, 100, 150]);
  });

  it("Retry-After longer than the backoff is honoured; a shorter one does not shorten the backoff; 429's status is kept", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const answers = [unavailable({ status: 429, retryAfterMillis: 5000 }), unavailable({ retryAfterMillis: 10 }), OK];
    const f = scripted((_r, n) => answers[n]!);
    const { lane: l, offer } = lane(f.transport);
    offer(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(l.backoff?.status).toBe(429);
    await vi.advanceTimersByTimeAsync(4999);
    expect(f.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(199);
    expect(f.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.sent.map((s) => s.at - 1_000_000)).toEqual([100, 5100, 5300]);
  });

  it('413 halves the batch until FlagSync takes it, for the rest of the backlog; one item too large fails alone', async () => {
    const f = scripted((r) =>
      r.items.includes(99)
        ? { kind: 'failure', status: 413, message: 'FlagSync answered 413' }
        : r.items.length > 2
          ? { kind: 'failure', status: 413, message: 'FlagSync answered 413' }
          : OK,
    );
    const { lane: l, offer, outcomes } = lane(f.transport);
    offer(...range(0, 8));
    await vi.advanceTimersByTimeAsync(0);
    expect(f.sent.map((s) => s.items)).toEqual([range(0, 8), range(0, 4), [0, 1], [2, 3], [4, 5], [6, 7]]);
    // All at once: halving needs no wait.
    expect(new Set(f.sent.map((s) => s.at))).toEqual(new Set([1_000_000]));
    offer(99, 100, 101);
    await vi.advanceTimersByTimeAsync(100);
    // Back at 8 once the queue emptied: 3 items together first, then halved down to the one that never fits.
    expect(f.sent.slice(6).map((s) => s.items)).toEqual([[99, 100, 101], [99, 100], [99], [100], [101]]);
    expect(outcomes.get(99)).toEqual({ delivered: false, reason: 'FlagSync answered 413', status: 413 });
    expect([...range(0, 8), 100, 101].every((i) => outcomes.get(i)?.delivered)).toBe(true);
    expect(l.stats).toMatchObject({ delivered: 10, failed: 1 });
  });

  it('a batch FlagSync refuses for one item (400) is halved until that item stands alone: the rest is delivered', async () => {
    const f = scripted((r) =>
      r.items.includes(5) ? { kind: 'failure', status: 400, message: 'FlagSync answered 400 VALIDATION_ERROR' } : OK,
    );
    const { lane: l, offer, outcomes } = lane(f.transport);
    offer(...range(0, 8));
    await vi.advanceTimersByTimeAsync(0);
    // The halved batch stays small for the rest of the backlog, as after 413.
    expect(f.sent.map((s) => s.items)).toEqual([range(0, 8), range(0, 4), range(4, 8), [4, 5], [4], [5], [6], [7]]);
    expect(outcomes.get(5)).toEqual({
      delivered: false,
      reason: 'FlagSync answered 400 VALIDATION_ERROR',
      status: 400,
    });
    expect(
      range(0, 8)
        .filter((i) => i !== 5)
        .every((i) => outcomes.get(i)?.delivered),
    ).toBe(true);
    expect(l.stats).toMatchObject({ delivered: 7, failed: 1 });
  });

  it('an unconfirmed attempt (timeout) resends the same batch with a doubled timeout, up to 4x, and counts it', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const f = scripted((_r, n) =>
      n < 3 ? unavailable({ status: undefined, unconfirmed: true, message: 'timed out' }) : OK,
    );
    const { lane: l, offer, retries } = lane(f.transport);
    offer(1, 2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(f.sent.map((s) => s.timeoutMillis)).toEqual([1000, 2000, 4000, 4000]);
    expect(f.sent.every((s) => s.items.join() === '1,2')).toBe(true);
    expect(retries.every((r) => r.unconfirmed)).toBe(true);
    expect(l.stats.unconfirmed).toBe(6);
    offer(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(f.sent.at(-1)?.timeoutMillis).toBe(1000);
  });

  it('a setting problem (401) keeps the data and waits configErrorRetryDelayMillis, not the backoff', async () => {
    const f = scripted((_r, n) =>
      n < 2 ? unavailable({ status: 401, configProblem: true, message: 'FlagSync answered 401' }) : OK,
    );
    const { offer, outcomes, retries } = lane(f.transport);
    offer(1);
    await vi.advanceTimersByTimeAsync(100 + 29_999);
    expect(f.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(f.sent.map((s) => s.at - 1_000_000)).toEqual([100, 30_100, 60_100]);
    expect(retries.every((r) => r.configProblem && r.delay === 30_000)).toBe(true);
    expect(outcomes.get(1)).toEqual({ delivered: true });
  });

  it('drain ignores a pending backoff once, and gives up at its deadline; close settles what is left, counting the unanswered', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const f = scripted((_r, n) => (n === 0 ? unavailable() : 'hang'));
    const {
      lane: l,
      offer,
      outcomes,
    } = lane(f.transport, { backoff: { initialBackoffMillis: 60_000, maxBackoffMillis: 60_000 } });
    offer(1, 2, 3);
    await vi.advanceTimersByTimeAsync(100);
    expect(l.backoff?.retryAt).toBe(1_000_100 + 60_000);
    const drained = l.drain(Date.now() + 5000);
    await vi.advanceTimersByTimeAsync(0);
    expect(f.sent).toHaveLength(2); // at once, despite the backoff
    let left: number | undefined;
    void drained.then((n) => (left = n));
    await vi.advanceTimersByTimeAsync(4999);
    expect(left).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(left).toBe(3);
    expect(l.close('shut down before FlagSync answered')).toEqual({ lost: 3, unanswered: 3 });
    expect(outcomes.get(2)).toEqual({ delivered: false, reason: 'shut down before FlagSync answered' });
    expect(l.stats).toMatchObject({ failed: 3, unanswered: 3 });
    // FlagSync answering after the close changes nothing.
    f.hanging[0]!(OK);
    await vi.advanceTimersByTimeAsync(0);
    expect(l.stats.delivered).toBe(0);
    expect(outcomes.size).toBe(3);
  });
});
