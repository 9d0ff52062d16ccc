/**
 * The service's admission and timeout logic (deliver-request.ts) under fake timers, with the real
 * delivery engine, dedupe window and converter, and FlagSync scripted: each test asserts the
 * answer, what FlagSync received, and the counts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveDeliveryConfig } from '../../src/config/delivery-config.js';
import { createConverter } from '../../src/convert/converter.js';
import { payloadSize } from '../../src/convert/payload-size.js';
import { createDerivedEvents, TraceContexts } from '../../src/convert/derived-events.js';
import { DeliveryEngine } from '../../src/delivery/delivery-engine.js';
import type { Transport, TransportResult } from '../../src/delivery/transport.js';
import { createDecodeFilter } from '../../src/otlp/decode-filter.js';
import { decodeTracesJson } from '../../src/otlp/decode-json.js';
import { DedupeWindow } from '../../src/service/dedupe-window.js';
import { deliverRequest, type DeliverDeps } from '../../src/service/deliver-request.js';
import { HttpAnswer } from '../../src/service/http-answer.js';
import { newCounters } from '../../src/service/service-metrics.js';
import { flagSpansRequest } from '../utils/otlp-request.js';

const OK: TransportResult = { kind: 'success', status: 202 };

interface Post {
  path: string;
  users: string[];
}

function setup(answer: (post: Post, index: number) => TransportResult | 'hang', delivery = {}) {
  const posts: Post[] = [];
  const hanging: ((r: TransportResult) => void)[] = [];
  const transport: Transport = {
    post(path, body) {
      const parsed = JSON.parse(body) as Record<string, { context: { key: string } }[]>;
      const items = parsed.impressions ?? parsed.events ?? [];
      const post = { path, users: items.map((i) => i.context.key) };
      posts.push(post);
      const result = answer(post, posts.length - 1);
      return result === 'hang' ? new Promise((resolve) => hanging.push(resolve)) : Promise.resolve(result);
    },
    close: () => Promise.resolve(),
  };
  const config = resolveDeliveryConfig(
    {
      sdkKey: 'server-test-key-0123456789',
      eventsUrl: 'http://127.0.0.1:9',
      flushIntervalMillis: 10,
      initialBackoffMillis: 1000,
      maxBackoffMillis: 1000,
      ...delivery,
    },
    {},
  );
  const converter = createConverter();
  const deps: DeliverDeps = {
    converter,
    derived: createDerivedEvents({}, new TraceContexts()),
    engine: new DeliveryEngine(config, transport),
    dedupe: new DedupeWindow(600_000, 10_000),
    counters: newCounters(),
    ackTimeoutMillis: 10_000,
  };
  const filter = createDecodeFilter(converter);
  /** Spans for users u<from>..: an impression and an event each. */
  const request = (users: number, from = 0, edit = (json: string) => json) =>
    deliverRequest('traces', decodeTracesJson(edit(flagSpansRequest(users, from)), filter), deps);
  return { deps, posts, hanging, request };
}

/** The request with span `index`'s evaluation naming no flag (its size marker kept right). */
function withEmptyFlagKey(json: string, index: number): string {
  const request = JSON.parse(json);
  const attributes: { key: string; value: { stringValue?: string; intValue?: string } }[] =
    request.resourceSpans[0].scopeSpans[0].spans[index].events[0].attributes;
  const values: Record<string, string> = {};
  for (const kv of attributes) {
    if (kv.key === 'feature_flag.key') kv.value.stringValue = '';
    if (kv.key !== 'flagsync.size') values[kv.key] = kv.value.stringValue!;
  }
  attributes.find((kv) => kv.key === 'flagsync.size')!.value.intValue = String(payloadSize(values));
  return JSON.stringify(request);
}

const impressionUsers = (posts: Post[]) => posts.filter((p) => p.path.includes('impressions')).flatMap((p) => p.users);

/** The HttpAnswer a promise rejects with. */
async function refusal(promise: Promise<unknown>): Promise<HttpAnswer> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpAnswer);
  return error as HttpAnswer;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a request through admission, feeding and settlement (fake timers)', () => {
  it('answers once FlagSync accepted everything; the same request again is all duplicates and sends nothing', async () => {
    const { deps, posts, request } = setup(() => OK);
    const first = request(3);
    await vi.advanceTimersByTimeAsync(10);
    expect(await first).toEqual({ rejected: 0, errorMessage: '' });
    expect(impressionUsers(posts)).toEqual(['u0', 'u1', 'u2']);
    expect(posts).toHaveLength(2);
    expect(await request(3)).toEqual({ rejected: 0, errorMessage: '' });
    expect(posts).toHaveLength(2);
    expect(deps.counters).toMatchObject({ duplicates: 6, converted: { impressions: 3, events: 3 } });
  });

  it('while FlagSync throttles: 429 with the Retry-After left, before queuing anything; the throttled request still completes', async () => {
    const { deps, posts, request } = setup((_post, n) =>
      n === 0 ? { kind: 'retryable', status: 429, retryAfterMillis: 7000, message: 'FlagSync answered 429' } : OK,
    );
    const first = request(2);
    await vi.advanceTimersByTimeAsync(10);
    expect(deps.engine.backoff?.status).toBe(429);
    await vi.advanceTimersByTimeAsync(990);
    const queued = deps.engine.queued;
    const answer = await refusal(request(2, 100));
    expect(answer.status).toBe(429);
    // FlagSync's 7 s from its answer at 10 ms, asked at 1000 ms: 6.01 s, rounded up.
    expect(answer.retryAfterSeconds).toBe(7);
    expect(answer.message).toContain('FlagSync answered 429');
    expect(deps.engine.queued).toBe(queued);
    await vi.advanceTimersByTimeAsync(6010);
    expect(await first).toEqual({ rejected: 0, errorMessage: '' });
    expect(impressionUsers(posts)).toEqual(['u0', 'u1', 'u0', 'u1']);
    // Nothing of the refused request was registered: its retry is fresh, not a duplicate.
    const retry = request(2, 100);
    await vi.advanceTimersByTimeAsync(10);
    expect(await retry).toEqual({ rejected: 0, errorMessage: '' });
    expect(impressionUsers(posts).slice(4)).toEqual(['u100', 'u101']);
    expect(deps.counters.duplicates).toBe(0);
  });

  it('the same request again while the first is in flight waits for it and sends nothing twice', async () => {
    const { deps, posts, hanging, request } = setup(() => 'hang');
    const first = request(2);
    await vi.advanceTimersByTimeAsync(10);
    const again = request(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(posts).toHaveLength(2);
    for (const resolve of hanging) resolve(OK);
    expect(await first).toEqual({ rejected: 0, errorMessage: '' });
    expect(await again).toEqual({ rejected: 0, errorMessage: '' });
    expect(posts).toHaveLength(2);
    expect(deps.counters.duplicates).toBe(4);
  });

  it('a copy another request was delivering fails: this request gets 503 to be sent again', async () => {
    const { hanging, request } = setup(() => 'hang');
    const first = request(1);
    await vi.advanceTimersByTimeAsync(10);
    const again = request(1);
    await vi.advanceTimersByTimeAsync(10);
    for (const resolve of hanging) resolve({ kind: 'failure', status: 400, message: 'FlagSync answered 400' });
    expect(await first).toEqual({ rejected: 2, errorMessage: 'FlagSync answered 400' });
    const answer = await refusal(again);
    expect([answer.status, answer.message]).toEqual([
      503,
      'not delivered to FlagSync: a copy of this data sent earlier failed',
    ]);
  });

  it('FlagSync not answering within the ack timeout: 503; what had not left is handed back, what was in flight counted', async () => {
    const { deps, posts, hanging, request } = setup((_p, n) => (n < 2 ? 'hang' : OK), { maxBatchSize: 2 });
    const first = request(5);
    const refused = refusal(first);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(posts.map((p) => p.users)).toEqual([
      ['u0', 'u1'],
      ['u0', 'u1'],
    ]);
    await vi.advanceTimersByTimeAsync(1);
    const answer = await refused;
    expect([answer.status, answer.retryAfterSeconds]).toEqual([503, 1]);
    expect(deps.counters.inFlightAtAckTimeout).toBe(4);
    expect(deps.engine.stats().impressions.withdrawn + deps.engine.stats().events.withdrawn).toBe(6);
    expect(deps.engine.queued).toBe(4);
    // FlagSync answers late; the collector's retry sends only what was handed back.
    for (const resolve of hanging) resolve(OK);
    await vi.advanceTimersByTimeAsync(0);
    const retry = request(5);
    await vi.advanceTimersByTimeAsync(10);
    expect(await retry).toEqual({ rejected: 0, errorMessage: '' });
    expect(impressionUsers(posts)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
  });

  it('a request larger than the queue is fed in parts as FlagSync takes what is ahead of it', async () => {
    const { deps, posts, request } = setup(() => OK, { maxQueueSize: 4, maxBatchSize: 4 });
    const big = request(10);
    await vi.advanceTimersByTimeAsync(100);
    expect(await big).toEqual({ rejected: 0, errorMessage: '' });
    expect(impressionUsers(posts)).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`));
    expect(deps.engine.stats().impressions).toMatchObject({ delivered: 10, dropped: 0, withdrawn: 0 });
  });

  it('a request larger than the queue, FlagSync down past the deadline: the part not queued is answered 503 too', async () => {
    const { deps, request } = setup(() => ({ kind: 'retryable', status: 503, message: 'FlagSync answered 503' }), {
      maxQueueSize: 4,
      maxBatchSize: 4,
    });
    const refused = refusal(request(10));
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await refused).status).toBe(503);
    // Nothing delivered, nothing left queued for this request, nothing remembered as delivered.
    expect(deps.engine.stats().impressions.delivered).toBe(0);
    expect(deps.engine.queued).toBe(0);
    expect(deps.dedupe.size).toBe(0);
  });

  it('events that cannot be converted are counted in partial success with the first reason; the rest are delivered', async () => {
    const { posts, request } = setup(() => OK);
    const result = request(3, 0, (json) => withEmptyFlagKey(json, 1));
    await vi.advanceTimersByTimeAsync(10);
    const { rejected, errorMessage } = await result;
    expect(rejected).toBe(1);
    expect(errorMessage).toBe('feature_flag.key must be a non-empty string');
    expect(impressionUsers(posts)).toEqual(['u0', 'u2']);
  });
});
