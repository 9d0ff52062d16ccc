/**
 * An instrumented app (its own Node process, the built package, the real node-sdk and OTel SDK)
 * stopped with SIGTERM while the exporters' FlagSync is unreachable, half down, or slower than the
 * deadline: what the exporters could not deliver is reported with its count and goes back to the
 * SDK, whose destroy() sends it; no promise rejection escapes into the app.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type Fault, type StandIn } from '../../src/standin/server.js';
import { contextKeys, userKeys } from '../utils/otlp-request.js';
import { freePort } from '../utils/processes.js';

const fixture = fileURLToPath(new URL('../fixtures/app-shutdown.cjs', import.meta.url));
const USERS = 30;
const DEADLINE = 500;
let standIn: StandIn;

beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());
afterEach(() => standIn.reset());

interface Outcome {
  code: number | null;
  stderr: string;
  result: {
    shutdownMillis: number;
    unhandled: number;
    handover: { handedOver: number; receipted: number; pending: number; returned: Record<string, number> };
    stats: Record<
      'impressions' | 'events',
      { accepted: number; delivered: number; failed: number; dropped: number; unanswered: number }
    >;
  };
}

async function runApp(eventsUrl: string): Promise<Outcome> {
  const child = spawn(process.execPath, [fixture], {
    env: {
      ...process.env,
      FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
      FLAGSYNC_SDK_URL: standIn.url,
      FLAGSYNC_EVENTS_URL: eventsUrl,
      FLAGSYNC_EXPORT_SHUTDOWN_TIMEOUT: String(DEADLINE),
      USERS: String(USERS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (/^ready$/m.test(stdout) && !signalled) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`the app printed no result (exit ${code}): ${stderr}`);
  return { code, stderr, result: JSON.parse(line) as Outcome['result'] };
}

const ALL = userKeys(USERS);

describe('the app shuts down while FlagSync misbehaves', () => {
  it('exporters cannot reach FlagSync: every item reported, every call delivered once by the SDK, exit 0', async () => {
    const closedPort = await freePort();
    const { code, stderr, result } = await runApp(`http://127.0.0.1:${closedPort}`);
    expect(code).toBe(0);
    expect(result.unhandled).toBe(0);
    expect(stderr).not.toContain('unhandled rejection');
    expect(result.stats.impressions).toMatchObject({ accepted: USERS, delivered: 0, failed: USERS, dropped: 0 });
    expect(result.stats.events).toMatchObject({ accepted: USERS, delivered: 0, failed: USERS, dropped: 0 });
    expect(stderr).toContain(
      `shutdown deadline (${DEADLINE} ms) passed: ${USERS} impressions and ${USERS} events were not delivered to FlagSync`,
    );
    // No receipt: every call went back to the SDK, whose destroy() delivered it (its URL is the stand-in's).
    expect(result.handover).toMatchObject({ handedOver: 2 * USERS, receipted: 0, pending: 0 });
    expect(result.handover.returned.shutdown).toBe(2 * USERS);
    expect(contextKeys(standIn.impressions())).toEqual(ALL);
    expect(contextKeys(standIn.events())).toEqual(ALL);
    expect(standIn.batches.every((b) => b.sdkContext.sdkName === '@flagsync/node-sdk')).toBe(true);
    console.log(`shutdown took ${result.shutdownMillis} ms with a ${DEADLINE} ms deadline (FlagSync unreachable)`);
  }, 30_000);

  it('FlagSync answering 503 on the events route: impressions delivered once; events reported, and the SDK fails too', async () => {
    standIn.addFault({ route: 'events', status: 503, times: Infinity });
    const { code, stderr, result } = await runApp(standIn.url);
    expect(code).toBe(0);
    expect(result.unhandled).toBe(0);
    expect(contextKeys(standIn.impressions())).toEqual(ALL);
    expect(standIn.events()).toHaveLength(0);
    expect(result.stats.impressions).toMatchObject({ accepted: USERS, delivered: USERS, failed: 0 });
    expect(result.stats.events).toMatchObject({ accepted: USERS, delivered: 0, failed: USERS, unanswered: 0 });
    expect(stderr).toContain(
      `shutdown deadline (${DEADLINE} ms) passed: 0 impressions and ${USERS} events were not delivered to FlagSync\n`,
    );
    // The events went back to the SDK, which FlagSync refused as well: no worse than the SDK alone.
    expect(result.handover).toMatchObject({ handedOver: 2 * USERS, receipted: USERS, pending: 0 });
    expect(result.handover.returned.shutdown).toBe(USERS);
    console.log(`shutdown took ${result.shutdownMillis} ms with a ${DEADLINE} ms deadline (events answered 503)`);
  }, 30_000);

  // FlagSync slower than the deadline: the events request is unanswered at shutdown, and the events
  // go back to the SDK (no receipt), whose destroy() sends them again. Whether FlagSync kept the
  // first request depends on FlagSync; the report says how many were sent and not answered, which is
  // how many may arrive twice (FlagSync's API has no idempotency key).
  it.each<[string, Fault, number]>([
    ['had not stored the batch yet', { route: 'events', delayMs: 5000, times: Infinity }, USERS],
    [
      'had stored the batch and was slow to answer',
      { route: 'events', lateAnswerMs: 5000, times: Infinity },
      2 * USERS,
    ],
  ])(
    'FlagSync slower than the deadline (%s): the events are reported as sent and unanswered',
    async (name, fault, arriving) => {
      standIn.addFault(fault);
      const { code, stderr, result } = await runApp(standIn.url);
      expect(code).toBe(0);
      expect(result.unhandled).toBe(0);
      expect(contextKeys(standIn.impressions())).toEqual(ALL);
      // Past FlagSync's delay: what it does with the abandoned request is settled.
      await new Promise((r) => setTimeout(r, 5300));
      expect(standIn.events()).toHaveLength(arriving);
      expect(result.handover.returned.shutdown).toBe(USERS);
      expect(result.stats.impressions).toMatchObject({ accepted: USERS, delivered: USERS, failed: 0, unanswered: 0 });
      expect(result.stats.events).toMatchObject({ accepted: USERS, delivered: 0, failed: USERS, unanswered: USERS });
      expect(stderr).toContain(
        `shutdown deadline (${DEADLINE} ms) passed: 0 impressions and ${USERS} events were not delivered to FlagSync (${USERS} of them were sent and not answered yet: FlagSync may have stored them)`,
      );
      console.log(`shutdown took ${result.shutdownMillis} ms with a ${DEADLINE} ms deadline (FlagSync ${name})`);
    },
    30_000,
  );
});
