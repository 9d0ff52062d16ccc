/**
 * The http preset (`derivedEvents: 'http'`) in a user's Express app on each OTel JS line, with the
 * line's @opentelemetry/instrumentation-http and -express (the fixture apps' lockfiles) and the
 * packed tarball: per request, the global and per-route latency and error events, for its user,
 * at the stand-in. Under head sampling, only sampled requests give events, each carrying
 * sampling.probability (read from the app's sampler), and the exporter's stats say how many.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';
import { waitUntil } from '../utils/processes.js';

const run = promisify(execFile);
const LINES = ['otel-2x', 'otel-3x'] as const;
const VISITORS = 6;
const dirs: Partial<Record<(typeof LINES)[number], string>> = {};
let standIn: StandIn;

beforeAll(async () => {
  standIn = await startStandIn();
  await Promise.all(LINES.map(async (line) => (dirs[line] = await installFixture(line))));
}, 900_000);
afterAll(async () => {
  await standIn.close();
});

interface Server {
  user: string;
  durationNanos: number;
  status: string;
  method: string;
  route: string;
}

async function runCell(line: (typeof LINES)[number], env: Record<string, string> = {}) {
  const { stdout } = await run(process.execPath, ['presets-cell.cjs'], {
    cwd: dirs[line]!,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
      FLAGSYNC_EVENTS_URL: standIn.url,
      VISITORS: String(VISITORS),
      ...env,
    },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as {
    servers: Server[];
    stats: { derived: number; derivedSampled: number };
  };
}

/** The http preset's four events for each server span, sorted as received() sorts. */
function expected(servers: Server[], properties?: Record<string, unknown>) {
  return sorted(
    servers.flatMap((s) => {
      const context = { key: s.user, attributes: { plan: 'pro' } };
      const latency = s.durationNanos / 1e6;
      const error = s.status === 'error' ? 1 : 0;
      const route = `;method=GET;route=/users/:id`;
      return [
        { context, eventKey: 'otel.http.latency', value: latency },
        { context, eventKey: 'otel.http.error', value: error },
        { context, eventKey: `http.latency${route}`, value: latency },
        { context, eventKey: `http.error${route}`, value: error },
      ].map((e) => (properties ? { ...e, properties } : e));
    }),
  );
}

function received() {
  return sorted(
    standIn.events().map(({ timestamp, ...rest }) => {
      if (typeof timestamp !== 'string') throw new Error('an event without a timestamp');
      return rest;
    }),
  );
}

function sorted<T extends Record<string, unknown>>(events: T[]): T[] {
  const key = (e: T) => `${(e.context as { key: string }).key} ${String(e.eventKey)}`;
  return events.sort((a, b) => key(a).localeCompare(key(b)));
}

describe.each(LINES)('the http preset on OpenTelemetry JS line %s (http + express instrumentations)', (line) => {
  it('every request: otel.http.latency/error and the per-route http.latency/error;method=GET;route=/users/:id', async () => {
    standIn.reset();
    const { servers, stats } = await runCell(line);
    expect(servers).toHaveLength(VISITORS);
    // The route comes from Express, through the http instrumentation's server span.
    expect(servers.map((s) => [s.method, s.route])).toEqual(Array(VISITORS).fill(['GET', '/users/:id']));
    expect(servers.filter((s) => s.status === 'error').map((s) => s.user)).toEqual(['u3', 'u6']);
    await waitUntil(() => standIn.events().length >= 4 * VISITORS, 30_000, 'derived events');
    // The app's default sampler (ParentBased, root AlwaysOn) keeps every trace: probability 1.
    expect(received()).toEqual(expected(servers, { 'sampling.probability': 1 }));
    expect(standIn.impressions()).toHaveLength(VISITORS);
    expect(stats).toEqual({ derived: 4 * VISITORS, derivedSampled: 0 });
  });

  it("head sampling at 50% in the app: only sampled requests give events, each with the sampler's probability", async () => {
    standIn.reset();
    const { servers, stats } = await runCell(line, { SAMPLING_RATIO: '0.5', VISITORS: '20' });
    await waitUntil(() => standIn.impressions().length >= 20, 30_000, 'impressions');
    await waitUntil(() => standIn.events().length >= 4 * servers.length, 30_000, 'derived events');
    // A sample: the impressions are all there, the derived events only for the sampled requests.
    expect(servers.length).toBeLessThan(20);
    expect(received()).toEqual(expected(servers, { 'sampling.probability': 0.5 }));
    expect(standIn.impressions()).toHaveLength(20);
    expect(stats).toEqual({ derived: 4 * servers.length, derivedSampled: 4 * servers.length });
  });
});
