/** The delivery engine over real HTTP against the stand-in: batching, retries, splits, drops, shutdown. */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveDeliveryConfig, type FlagSyncDeliveryOptions } from '../../src/config/delivery-config.js';
import { DeliveryEngine } from '../../src/delivery/delivery-engine.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import type { FlagSyncEvent, FlagSyncImpression } from '../../src/types.js';
import { captureDiag, type CapturedDiag } from '../utils/diag-capture.js';
import { contextKeys } from '../utils/otlp-request.js';

let standIn: StandIn;
let engine: DeliveryEngine | undefined;
let logs: CapturedDiag;

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(async () => {
  await standIn.close();
});
afterEach(async () => {
  await engine?.shutdown(1000);
  engine = undefined;
  standIn.reset();
  logs?.restore();
});

function makeEngine(options: FlagSyncDeliveryOptions = {}) {
  logs = captureDiag();
  engine = new DeliveryEngine(
    resolveDeliveryConfig(
      {
        sdkKey: STANDIN_DEFAULT_SDK_KEY,
        eventsUrl: standIn.url,
        flushIntervalMillis: 20,
        initialBackoffMillis: 20,
        maxBackoffMillis: 100,
        ...options,
      },
      {},
    ),
  );
  return engine;
}

const impression = (i: number): FlagSyncImpression => ({
  flagKey: 'register-button-copy',
  flagValue: i % 2 ? 'Join Now' : 'Sign Up',
  context: { key: `u${i}` },
  timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(),
});
const event = (i: number): FlagSyncEvent => ({
  context: { key: `u${i}` },
  eventKey: 'page_load_time',
  value: i,
  timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 1, i)).toISOString(),
});

describe('DeliveryEngine → stand-in', () => {
  it('delivers exact items in batches, with our sdkContext and the SDK key header', async () => {
    const e = makeEngine({ maxBatchSize: 4 });
    for (let i = 0; i < 10; i++) e.addImpression(impression(i));
    for (let i = 0; i < 3; i++) e.addEvent(event(i));
    await e.forceFlush(5000);
    expect(standIn.impressions()).toEqual(Array.from({ length: 10 }, (_, i) => impression(i)));
    expect(standIn.events()).toEqual([event(0), event(1), event(2)]);
    expect(standIn.batches.filter((b) => b.route === 'impressions').map((b) => b.items.length)).toEqual([4, 4, 2]);
    expect(new Set(standIn.batches.map((b) => JSON.stringify(b.sdkContext)))).toEqual(
      new Set(['{"sdkName":"flagsync-otel","sdkVersion":"0.1.0"}']),
    );
    expect(e.stats().impressions).toMatchObject({ accepted: 10, delivered: 10, dropped: 0, failed: 0, retries: 0 });
  });

  it('flushes a partial batch on the interval without being asked', async () => {
    const e = makeEngine({ flushIntervalMillis: 30 });
    e.addEvent(event(7));
    await standIn.waitFor(() => standIn.events().length === 1, 5000);
    expect(standIn.events()).toEqual([event(7)]);
  });

  // A 504 or a reset may come after FlagSync stored the batch: the resends are counted as unconfirmed.
  it.each([
    ['500', { status: 500 }, 0],
    ['502', { status: 502 }, 0],
    ['503', { status: 503 }, 0],
    ['504', { status: 504 }, 15],
    ['connection reset', { reset: true }, 15],
  ])('retries after %s and delivers everything exactly once', async (_name, fault, unconfirmed) => {
    standIn.addFault({ ...fault, times: 3 });
    const e = makeEngine();
    for (let i = 0; i < 5; i++) e.addImpression(impression(i));
    await e.forceFlush(5000);
    expect(contextKeys(standIn.impressions())).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
    expect(e.stats().impressions).toMatchObject({ delivered: 5, failed: 0, retries: 3, unconfirmed });
    expect(logs.lines.filter((l) => l.level === 'warn' && l.text.includes('kept queued'))).toHaveLength(1);
  });

  it('FlagSync slower than the timeout (before storing): the retry waits longer, everything arrives exactly once', async () => {
    // 400 ms per answer, twice; our timeout is 250 ms, doubled after a timeout: the retry gets its answer.
    standIn.addFault({ delayMs: 400, times: 2 });
    const e = makeEngine({ timeoutMillis: 250 });
    for (let i = 0; i < 5; i++) e.addImpression(impression(i));
    await e.forceFlush(5000);
    expect(standIn.impressions()).toEqual(Array.from({ length: 5 }, (_, i) => impression(i)));
    expect(standIn.batches).toHaveLength(1);
    // One retry, not a timeout per attempt; the 5 resent items are reported as possible duplicates.
    expect(e.stats().impressions).toMatchObject({ delivered: 5, failed: 0, retries: 1, unconfirmed: 5 });
    const warnings = logs.lines.filter((l) => l.level === 'warn').map((l) => l.text);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /request to FlagSync failed: timed out; impressions kept queued \(FlagSync may have stored them already; stats\(\)\.unconfirmed counts what may arrive twice\), next attempt in \d+ ms$/,
    );
  });

  it('FlagSync stores a batch but answers after the timeout: what arrives twice is exactly what stats() reports as unconfirmed', async () => {
    standIn.addFault({ lateAnswerMs: 600, times: 1, route: 'events' });
    const e = makeEngine({ timeoutMillis: 250 });
    for (let i = 0; i < 4; i++) e.addEvent(event(i));
    for (let i = 0; i < 3; i++) e.addImpression(impression(i));
    await e.forceFlush(5000);
    const received = contextKeys(standIn.events());
    const twice = received.length - new Set(received).size;
    expect(new Set(received)).toEqual(new Set(['u0', 'u1', 'u2', 'u3']));
    expect(twice).toBe(4);
    expect(e.stats().events).toMatchObject({ delivered: 4, retries: 1, unconfirmed: twice });
    // The other route is unaffected: exactly once, nothing reported.
    expect(standIn.impressions()).toEqual([impression(0), impression(1), impression(2)]);
    expect(e.stats().impressions).toMatchObject({ delivered: 3, retries: 0, unconfirmed: 0 });
  });

  it('a refused connection is not reported as a possible duplicate', async () => {
    const closed = await startStandIn();
    const url = closed.url;
    await closed.close();
    logs = captureDiag();
    engine = new DeliveryEngine(
      resolveDeliveryConfig(
        {
          sdkKey: STANDIN_DEFAULT_SDK_KEY,
          eventsUrl: url,
          flushIntervalMillis: 10,
          initialBackoffMillis: 20,
          maxBackoffMillis: 50,
        },
        {},
      ),
    );
    engine.addImpression(impression(1));
    await engine.forceFlush(200);
    expect(engine.stats().impressions).toMatchObject({ delivered: 0, unconfirmed: 0 });
    expect(engine.stats().impressions.retries).toBeGreaterThan(0);
    expect(
      logs.lines.some((l) => l.level === 'warn' && l.text.includes('ECONNREFUSED; impressions kept queued, next')),
    ).toBe(true);
  });

  it('honours Retry-After on 429', async () => {
    standIn.addFault({ status: 429, retryAfter: '1' });
    const e = makeEngine();
    e.addEvent(event(1));
    const start = Date.now();
    await e.forceFlush(5000);
    // forceFlush tries at once; the retry then waits for FlagSync's Retry-After (1 s), not our 20 ms backoff.
    expect(Date.now() - start).toBeGreaterThanOrEqual(950);
    expect(standIn.events()).toEqual([event(1)]);
    expect(standIn.rejections.map((r) => r.status)).toEqual([429]);
  });

  it('splits a batch FlagSync finds too large (413) and delivers the halves', async () => {
    const small = await startStandIn({ maxBodyBytes: 600 });
    try {
      logs = captureDiag();
      engine = new DeliveryEngine(
        resolveDeliveryConfig(
          { sdkKey: STANDIN_DEFAULT_SDK_KEY, eventsUrl: small.url, maxBatchSize: 8, flushIntervalMillis: 20 },
          {},
        ),
      );
      for (let i = 0; i < 8; i++) engine.addImpression(impression(i));
      await engine.forceFlush(5000);
      expect(contextKeys(small.impressions())).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7']);
      expect(small.rejections.length).toBeGreaterThan(0);
      expect(small.rejections.every((r) => r.status === 413)).toBe(true);
      expect(Math.max(...small.batches.map((b) => b.items.length))).toBeLessThan(8);
      expect(engine.stats().impressions).toMatchObject({ delivered: 8, failed: 0 });
    } finally {
      await small.close();
    }
  });

  it('an SDK key FlagSync refuses: one clear error, the items kept and delivered once the key is accepted, key never logged', async () => {
    logs = captureDiag();
    engine = new DeliveryEngine(
      resolveDeliveryConfig(
        {
          sdkKey: 'wrong-secret-key-123',
          eventsUrl: standIn.url,
          flushIntervalMillis: 10,
          maxBatchSize: 2,
          configErrorRetryDelayMillis: 300,
        },
        {},
      ),
    );
    for (let i = 0; i < 6; i++) engine.addImpression(impression(i));
    await standIn.waitFor(() => standIn.rejections.length >= 2);
    expect(standIn.impressions()).toHaveLength(0);
    // The key is activated in FlagSync: the next retry, after the configuration-problem pause, goes through.
    standIn.setSdkKeys([STANDIN_DEFAULT_SDK_KEY, 'wrong-secret-key-123']);
    await engine.forceFlush(5000);
    expect(contextKeys(standIn.impressions())).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5']);
    expect(standIn.rejections.every((r) => r.status === 401)).toBe(true);
    expect(engine.stats().impressions).toMatchObject({ failed: 0, delivered: 6, dropped: 0 });
    const errors = logs.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.text).toContain(
      'FlagSync answered 401 INVALID_SDK_KEY: Invalid SDK key (check the SDK key, FLAGSYNC_SDK_KEY): a setting is wrong; impressions are kept queued and retried every 300 ms',
    );
    expect(logs.text()).not.toContain('wrong-secret-key-123');
    standIn.setSdkKeys([STANDIN_DEFAULT_SDK_KEY]);
  });

  it('a wrong events URL (404) or one that redirects: kept, never sent to the redirect target, delivered once fixed', async () => {
    let target = `${standIn.url}/wrong-prefix`;
    let followed = 0;
    // A proxy in front: first a path FlagSync does not have, then a redirect, then the right place.
    const proxy = createServer((req, res) => {
      if (req.url!.startsWith('/elsewhere')) {
        followed++;
        res.writeHead(200).end();
      } else if (target === 'redirect') {
        res.writeHead(308, { location: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/elsewhere` }).end();
      } else {
        req.pipe(
          httpRequest(`${target}${req.url}`, { method: 'POST', headers: req.headers }, (answer) => {
            res.writeHead(answer.statusCode!, answer.headers);
            answer.pipe(res);
          }),
        );
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      logs = captureDiag();
      engine = new DeliveryEngine(
        resolveDeliveryConfig(
          {
            sdkKey: STANDIN_DEFAULT_SDK_KEY,
            eventsUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
            flushIntervalMillis: 10,
            configErrorRetryDelayMillis: 200,
          },
          {},
        ),
      );
      engine.addEvent(event(1));
      await standIn.waitFor(() => standIn.rejections.some((r) => r.status === 404));
      target = 'redirect';
      await new Promise((r) => setTimeout(r, 500));
      target = standIn.url;
      await engine.forceFlush(5000);
      expect(standIn.events()).toEqual([event(1)]);
      expect(followed).toBe(0);
      expect(engine.stats().events).toMatchObject({ delivered: 1, failed: 0 });
      const errors = logs.lines.filter((l) => l.level === 'error').map((l) => l.text);
      expect(errors[0]).toContain('FlagSync answered 404');
      expect(errors[0]).toContain('(check FLAGSYNC_EVENTS_URL)');
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it("a Retry-After of a day (or beyond a timer's range) is cut to maxRetryAfterMillis", async () => {
    standIn.addFault({ status: 429, retryAfter: '999999999' });
    const e = makeEngine({ maxRetryAfterMillis: 300 });
    e.addEvent(event(2));
    await e.forceFlush(5000);
    expect(standIn.events()).toEqual([event(2)]);
    expect(standIn.rejections.map((r) => r.status)).toEqual([429]);
    expect(logs.text()).not.toContain('TimeoutOverflowWarning');
  });

  it('drops beyond the queue bound and counts exactly what is missing', async () => {
    standIn.addFault({ status: 503, times: Infinity });
    const e = makeEngine({ maxQueueSize: 25 });
    let accepted = 0;
    for (let i = 0; i < 40; i++) if (e.addImpression(impression(i))) accepted++;
    await new Promise((r) => setTimeout(r, 100));
    standIn.clearFaults();
    await e.forceFlush(5000);
    const stats = e.stats().impressions;
    expect(accepted).toBe(25);
    expect(standIn.impressions()).toHaveLength(25);
    expect(stats.dropped).toBe(40 - standIn.impressions().length);
    expect(new Set(contextKeys(standIn.impressions())).size).toBe(25);
  });

  it('bounds queue memory in bytes too, dropping and counting beyond it', async () => {
    standIn.addFault({ status: 503, times: Infinity });
    const itemBytes = Buffer.byteLength(JSON.stringify(impression(10)));
    const e = makeEngine({ maxQueueBytes: itemBytes * 10 + 5 });
    let accepted = 0;
    for (let i = 10; i < 40; i++) if (e.addImpression(impression(i))) accepted++;
    standIn.clearFaults();
    await e.forceFlush(5000);
    expect(accepted).toBe(10);
    expect(standIn.impressions()).toHaveLength(10);
    expect(e.stats().impressions.dropped).toBe(30 - standIn.impressions().length);
  });

  it('shutdown() delivers within its deadline, then reports what is left', async () => {
    standIn.addFault({ status: 503, times: Infinity });
    const e = makeEngine();
    for (let i = 0; i < 3; i++) e.addImpression(impression(i));
    e.addEvent(event(0));
    await e.shutdown(300);
    expect(e.stats().impressions).toMatchObject({ delivered: 0, failed: 3 });
    expect(e.stats().events).toMatchObject({ delivered: 0, failed: 1 });
    expect(
      logs.lines.some((l) => l.level === 'error' && l.text.includes('3 impressions and 1 events were not delivered')),
    ).toBe(true);
    expect(e.addImpression(impression(9))).toBe(false);
    engine = undefined;
  });

  it('shutdown() with a request unanswered at the deadline: reported as unanswered, settled once, nothing after', async () => {
    standIn.addFault({ lateAnswerMs: 3000 });
    const settles: string[] = [];
    const e = makeEngine();
    for (let i = 0; i < 3; i++)
      e.addImpression(impression(i), (outcome, tag) => settles.push(`${tag}:${outcome.delivered}`), `i${i}`);
    await standIn.waitFor(() => standIn.impressions().length === 3); // stored, answer pending
    const started = Date.now();
    await e.shutdown(100);
    const took = Date.now() - started;
    expect(e.stats().impressions).toMatchObject({ delivered: 0, failed: 3, unanswered: 3 });
    expect(logs.lines.filter((l) => l.level === 'error').map((l) => l.text)).toEqual([
      expect.stringContaining(
        'shutdown deadline (100 ms) passed: 3 impressions and 0 events were not delivered to FlagSync (3 of them were sent and not answered yet: FlagSync may have stored them)',
      ),
    ]);
    // The abandoned request ends after shutdown: nothing settles twice, nothing is counted again.
    await new Promise((r) => setTimeout(r, 300));
    expect(settles).toEqual(['i0:false', 'i1:false', 'i2:false']);
    expect(e.stats().impressions).toMatchObject({ delivered: 0, failed: 3, unanswered: 3, requests: 1 });
    // shutdown() did not wait for FlagSync's answer (3 s away): a check of behaviour with a 30x margin, not of speed.
    expect(took).toBeLessThan(3000);
    engine = undefined;
  });
});
