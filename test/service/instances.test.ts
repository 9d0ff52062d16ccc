/**
 * Two service instances during a FlagSync outage: a request one instance could not deliver within
 * its ack timeout is answered 503 and handed back, so the collector's retry, wherever it lands,
 * is the only copy that reaches FlagSync.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFlagSyncService, type FlagSyncService } from '../../src/service/flagsync-service.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { contextKeys, flagSpansRequest, userKeys } from '../utils/otlp-request.js';

const USERS = 10;
const REQUEST = flagSpansRequest(USERS);
let standIn: StandIn;
const services: FlagSyncService[] = [];

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());
afterEach(async () => {
  for (const s of services.splice(0)) await s.close(1000);
  standIn.reset();
});

/** The first attempt fails at once; the next is 2 s away, so at the 500 ms ack timeout nothing is in flight. */
async function instance(dedupeDir?: string): Promise<FlagSyncService> {
  const s = await startFlagSyncService({ port: 0, sdkKey: STANDIN_DEFAULT_SDK_KEY, eventsUrl: standIn.url, flushIntervalMillis: 20, initialBackoffMillis: 2000, maxBackoffMillis: 2000, ackTimeoutMillis: 500, ...(dedupeDir ? { dedupeDir } : {}) });
  services.push(s);
  return s;
}

const post = (s: FlagSyncService) => fetch(`${s.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: REQUEST });
const withdrawn = (s: FlagSyncService) => s.deliveryStats().impressions.withdrawn + s.deliveryStats().events.withdrawn;

describe('a request answered 503 after the ack timeout', () => {
  it('is handed back: retried on another instance after FlagSync recovers, it arrives once', async () => {
    const [a, b] = [await instance(), await instance()];
    standIn.addFault({ status: 503, times: Infinity });
    const first = await post(a);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(withdrawn(a)).toBe(2 * USERS);
    standIn.clearFaults();
    expect((await post(b)).status).toBe(200);
    // Past the moment `a` would have retried its copy.
    await new Promise((r) => setTimeout(r, 2500));
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(USERS));
    expect(contextKeys(standIn.events())).toEqual(userKeys(USERS));
    expect(a.deliveryStats().impressions).toMatchObject({ accepted: USERS, delivered: 0, withdrawn: USERS, failed: 0 });
  });

  it('FlagSync slower than the ack timeout, memory only, retried elsewhere at once: what arrives twice is what the first instance reported', async () => {
    const [a, b] = [await instance(), await instance()];
    standIn.addFault({ delayMs: 1500, times: 2 }); // both of a's batches: stored after 1.5 s
    expect((await post(a)).status).toBe(503);
    expect((await post(b)).status).toBe(200);
    await standIn.waitFor(() => standIn.batches.length === 4, 5000);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    const reported = Number(/^flagsync_otel_in_flight_at_ack_timeout_total (\d+)$/m.exec(metrics)![1]);
    const received = [...contextKeys(standIn.impressions()), ...contextKeys(standIn.events())];
    expect(new Set(received).size).toBe(USERS);
    expect(received.length - 2 * USERS).toBe(2 * USERS);
    expect(reported).toBe(2 * USERS);
    expect(withdrawn(a)).toBe(0);
  });

  it('FlagSync slower than the ack timeout, shared dedupe directory: the other instance waits for the first, then skips what it delivered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagsync-dedupe-'));
    const [a, b] = [await instance(dir), await instance(dir)];
    standIn.addFault({ delayMs: 1500, times: 2 }); // both of a's batches: stored after 1.5 s
    expect((await post(a)).status).toBe(503);
    // a still waits for FlagSync's answer: b refuses rather than send the same items.
    const early = await post(b);
    expect(early.status).toBe(503);
    expect(await early.text()).toContain(`${2 * USERS} items of this request are in another instance's request to FlagSync`);
    await standIn.waitFor(() => standIn.batches.length === 2, 5000);
    await new Promise((r) => setTimeout(r, 100)); // a has FlagSync's answer and has written it down
    expect((await post(b)).status).toBe(200);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(USERS));
    expect(contextKeys(standIn.events())).toEqual(userKeys(USERS));
    expect(b.counters.duplicates).toBe(2 * USERS);
  });

  it('FlagSync fails the request the first instance was waiting on: it hands the items back and the other instance delivers them once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagsync-dedupe-'));
    const [a, b] = [await instance(dir), await instance(dir)];
    standIn.addFault({ delayMs: 1500, status: 503, times: 2 }); // a's batches: slow, then refused
    expect((await post(a)).status).toBe(503);
    expect((await post(b)).status).toBe(503);
    await standIn.waitFor(() => standIn.rejections.length === 2, 5000);
    await new Promise((r) => setTimeout(r, 100));
    expect((await post(b)).status).toBe(200);
    // Past a's next attempt: it holds nothing, so nothing arrives twice.
    await new Promise((r) => setTimeout(r, 2500));
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(USERS));
    expect(contextKeys(standIn.events())).toEqual(userKeys(USERS));
    expect(withdrawn(a)).toBe(2 * USERS);
    expect(a.deliveryStats().impressions).toMatchObject({ delivered: 0, failed: 0 });
  });

  it('retried on the same instance, it is taken again and arrives once', async () => {
    const a = await instance();
    standIn.addFault({ status: 503, times: Infinity });
    expect((await post(a)).status).toBe(503);
    standIn.clearFaults();
    // Still backing off from the failures: refused early, nothing queued.
    const early = await post(a);
    expect(early.status).toBe(503);
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await post(a)).status).toBe(200);
    expect(contextKeys(standIn.impressions())).toEqual(userKeys(USERS));
    expect(contextKeys(standIn.events())).toEqual(userKeys(USERS));
  });
});
