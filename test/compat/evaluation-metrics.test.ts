/**
 * The opt-in `feature_flag.evaluations` counter in a user's app of each OTel JS line (the packed tarball installed
 * into the fixture apps), read through the line's own MeterProvider: counts per flag key, variant (node-sdk's
 * variant names) and reason, errors with error.type, no context id or value.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';

const run = promisify(execFile);
const LINES = ['otel-2x', 'otel-3x'] as const;
const dirs: Partial<Record<(typeof LINES)[number], string>> = {};
let standIn: StandIn;

beforeAll(async () => {
  standIn = await startStandIn();
  await Promise.all(LINES.map(async (line) => (dirs[line] = await installFixture(line))));
}, 900_000);
afterAll(async () => {
  await standIn.close();
});

type Point = Record<string, unknown> & { value: number };

describe.each(LINES)('feature_flag.evaluations on OpenTelemetry JS line %s', (line) => {
  it.each(['wrapper', 'instrumentation'])(
    'counts each flag() by key, variant, reason and error type (%s)',
    async (mode) => {
      const { stdout } = await run(process.execPath, ['metrics-cell.cjs'], {
        cwd: dirs[line]!,
        env: {
          METRICS_CELL: mode,
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
          FLAGSYNC_EVENTS_URL: standIn.url,
        },
        timeout: 60_000,
      });
      const result = stdout
        .split('\n')
        .filter((l) => l.startsWith('{"metrics"'))
        .pop();
      const points = (JSON.parse(result!) as { metrics: Point[] }).metrics;
      const split = points.filter((p) => p['feature_flag.key'] === 'register-button-copy');
      expect(split.reduce((n, p) => n + p.value, 0)).toBe(20);
      // 20 users over three variants of 34/33/33%: more than one variant shows.
      expect(split.length).toBeGreaterThan(1);
      for (const p of split) {
        expect(['Register', 'Join Now', 'Sign Up']).toContain(p['feature_flag.result.variant']);
        expect(p['feature_flag.result.reason']).toBe('split');
      }
      expect(points.filter((p) => p['feature_flag.key'] !== 'register-button-copy')).toEqual([
        {
          'feature_flag.key': 'price-multiplier',
          'feature_flag.result.variant': 'pro',
          'feature_flag.result.reason': 'targeting_match',
          value: 1,
        },
        {
          'feature_flag.key': 'no-such-flag',
          'feature_flag.result.reason': 'error',
          'error.type': 'flag_not_found',
          value: 1,
        },
      ]);
    },
    120_000,
  );
});
