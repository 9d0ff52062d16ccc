/**
 * The service process killed with SIGKILL in the middle of a request: part of the request's data
 * has reached FlagSync, the rest is on its way, and nothing has been acknowledged. The sender (a
 * collector) sends the whole request again, to a restarted process or to another instance.
 * With FLAGSYNC_SERVICE_DEDUPE_DIR nothing arrives twice; without it, the delivered part does.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { contextKeys, flagSpansRequest, userKeys } from '../utils/otlp-request.js';
import { freePort, startServiceProcess, waitUntil, type ServiceProcess } from '../utils/processes.js';

let standIn: StandIn;
const running: ServiceProcess[] = [];

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop('SIGKILL');
  standIn.reset();
});

async function service(dedupeDir?: string): Promise<ServiceProcess> {
  const p = await startServiceProcess({
    FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
    FLAGSYNC_EVENTS_URL: standIn.url,
    FLAGSYNC_SERVICE_PORT: String(await freePort()),
    FLAGSYNC_EXPORT_SCHEDULE_DELAY: '20',
    OTEL_LOG_LEVEL: 'error',
    ...(dedupeDir ? { FLAGSYNC_SERVICE_DEDUPE_DIR: dedupeDir } : {}),
  });
  running.push(p);
  return p;
}

const USERS = 20;
/** How long FlagSync holds the first events batch before it would store it. */
const HOLD_UP = 1500;
const REQUEST = flagSpansRequest(USERS);
const ALL_USERS = userKeys(USERS);

function post(p: ServiceProcess) {
  return fetch(`${p.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: REQUEST,
  });
}

/** Send the request, let the impressions reach FlagSync while the events are held up, then SIGKILL. */
async function killMidRequest(victim: ServiceProcess) {
  standIn.addFault({ route: 'events', delayMs: HOLD_UP });
  const answer = post(victim).then(
    (res) => res.status,
    () => 'connection lost',
  );
  await standIn.waitFor(() => standIn.impressions().length === USERS, 10_000);
  // ...and the service has FlagSync's answer (killed before that, it cannot know FlagSync has them).
  await waitUntil(
    async () =>
      (await (await fetch(`${victim.url}/metrics`)).text()).includes(
        `flagsync_otel_delivered_total{kind="impression"} ${USERS}`,
      ),
    10_000,
    'the service to see the impressions delivered',
  );
  expect(standIn.events()).toHaveLength(0);
  await victim.stop('SIGKILL');
  // Never acknowledged: the sender must send it again.
  expect(await answer).toBe('connection lost');
}

describe('SIGKILL in the middle of a request', () => {
  it('with a dedupe directory, the restarted process delivers only what had not arrived', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagsync-dedupe-'));
    await killMidRequest(await service(dir));
    const restarted = await service(dir);
    const res = await post(restarted);
    expect(res.status).toBe(200);
    // Past the hold-up: the batch the killed process had sent was not stored late either.
    await new Promise((r) => setTimeout(r, HOLD_UP + 200));
    expect(contextKeys(standIn.impressions())).toEqual(ALL_USERS);
    expect(contextKeys(standIn.events())).toEqual(ALL_USERS);
    // The held-up events batch died with the process: FlagSync never stored it.
    expect(standIn.batches.filter((b) => b.route === 'events')).toHaveLength(1);
    const metrics = await (await fetch(`${restarted.url}/metrics`)).text();
    expect(metrics).toContain(`flagsync_otel_duplicates_total ${USERS}`);
  }, 30_000);

  it('without a directory (memory only), the restarted process delivers the first part again', async () => {
    await killMidRequest(await service());
    expect((await post(await service())).status).toBe(200);
    expect(standIn.impressions()).toHaveLength(2 * USERS);
    expect(contextKeys(standIn.events())).toEqual(ALL_USERS);
  }, 30_000);
});
