/**
 * The compatibility matrix: this package, packed and installed into a small app per OpenTelemetry
 * JS line (its own lockfile), running the real @flagsync/node-sdk against the stand-in. In every
 * cell, each flag() becomes one impression and each track() one event at FlagSync, field for field
 * what the SDK sends on its own (the reference run of the same app without OpenTelemetry),
 * whichever path carried it: this package's exporters, or the SDK's own delivery; and the
 * exporters' self-metrics, read through the line's own sdk-metrics, count what they delivered.
 *
 * Not the full product of the dimensions: on each line every value of every dimension at least
 * once, plus the pairs that interact (traces only × unsampled, RECORD-only × log form, limits ×
 * each signal, SDK disabled × each setup).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';
import { canonical } from '../utils/scenario.js';

const run = promisify(execFile);

interface Cell {
  module: 'cjs' | 'esm';
  setup: 'nodesdk' | 'plain';
  signals: 'both' | 'traces' | 'logs';
  sampler: 'on' | 'off' | 'record' | 'parent-unsampled';
  limit?: 'small';
  /** OTEL_SDK_DISABLED=true. */
  disabled?: boolean;
}

const CELLS: Cell[] = [
  // Each setup and module system, everything exported.
  { module: 'cjs', setup: 'nodesdk', signals: 'both', sampler: 'on' },
  { module: 'esm', setup: 'nodesdk', signals: 'both', sampler: 'on' },
  { module: 'cjs', setup: 'plain', signals: 'both', sampler: 'on' },
  { module: 'esm', setup: 'plain', signals: 'both', sampler: 'on' },
  // Traces only × spans that are not exported: nowhere to record, the SDK delivers.
  { module: 'cjs', setup: 'nodesdk', signals: 'traces', sampler: 'off' },
  { module: 'esm', setup: 'plain', signals: 'traces', sampler: 'parent-unsampled' },
  { module: 'cjs', setup: 'plain', signals: 'traces', sampler: 'record' },
  // Spans that record without being sampled × the log form.
  { module: 'esm', setup: 'nodesdk', signals: 'both', sampler: 'record' },
  { module: 'cjs', setup: 'plain', signals: 'both', sampler: 'parent-unsampled' },
  // Logs only.
  { module: 'esm', setup: 'nodesdk', signals: 'logs', sampler: 'on' },
  { module: 'cjs', setup: 'plain', signals: 'logs', sampler: 'off' },
  // An attribute value length limit × each signal (NodeSDK: from the environment; plain: in code).
  { module: 'cjs', setup: 'nodesdk', signals: 'traces', sampler: 'on', limit: 'small' },
  { module: 'esm', setup: 'plain', signals: 'logs', sampler: 'on', limit: 'small' },
  { module: 'cjs', setup: 'plain', signals: 'both', sampler: 'on', limit: 'small' },
  // OTEL_SDK_DISABLED × each setup (plain providers do not read it).
  { module: 'cjs', setup: 'nodesdk', signals: 'both', sampler: 'on', disabled: true },
  { module: 'esm', setup: 'nodesdk', signals: 'traces', sampler: 'parent-unsampled', disabled: true },
  { module: 'cjs', setup: 'plain', signals: 'both', sampler: 'on', disabled: true },
];

/**
 * The scenario's calls that are always the SDK's to deliver: the impressions node-sdk falls back
 * for (null-config, stale-variant) of users 1-4, and everything of the user with an empty key and
 * the empty event keys.
 */
const SDK_ONLY = { impressions: 4 * 2 + 11, events: 5 + 8 };

const LINES = ['otel-2x', 'otel-3x'] as const;
const dirs: Partial<Record<(typeof LINES)[number], string>> = {};

beforeAll(async () => {
  await Promise.all(LINES.map(async (line) => (dirs[line] = await installFixture(line))));
}, 900_000);

function label(cell: Cell): string {
  return [
    cell.module,
    cell.setup,
    cell.signals,
    cell.sampler,
    cell.limit ? 'limit 32' : '',
    cell.disabled ? 'OTEL_SDK_DISABLED' : '',
  ]
    .filter(Boolean)
    .join(' × ');
}

function cellEnv(cell: Cell | { reference: true }, standIn: StandIn): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    CELL: JSON.stringify(cell),
    FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
    FLAGSYNC_EVENTS_URL: standIn.url,
    OTEL_METRICS_EXPORTER: 'none',
  };
  if ('reference' in cell) return env;
  if (cell.setup === 'nodesdk') {
    // A tracing-only (or logs-only) app configures NodeSDK so; else NodeSDK adds an OTLP exporter.
    if (cell.signals === 'traces') env.OTEL_LOGS_EXPORTER = 'none';
    if (cell.signals === 'logs') env.OTEL_TRACES_EXPORTER = 'none';
    if (cell.limit) env.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT = '32';
  }
  if (cell.disabled) env.OTEL_SDK_DISABLED = 'true';
  return env;
}

async function runCell(dir: string, cell: Cell | { reference: true }, standIn: StandIn) {
  const esm = !('reference' in cell) && cell.module === 'esm';
  const args = esm ? ['--import', './register-hook.mjs', '--require', './setup.cjs', 'cell.mjs'] : ['cell.cjs'];
  const { stdout } = await run(process.execPath, args, { cwd: dir, env: cellEnv(cell, standIn), timeout: 60_000 });
  const line = stdout
    .split('\n')
    .filter((l) => l.startsWith('{"stats"'))
    .pop();
  if (!line) throw new Error(`the cell printed no result:\n${stdout}`);
  const { stats, metrics } = JSON.parse(line) as {
    stats: { sdkDelivered: Record<string, number> } | null;
    metrics?: Record<string, number>;
  };
  const sent = (route: 'impressions' | 'events', sender: string) =>
    standIn.batches
      .filter((b) => b.route === route && b.sdkContext.sdkName === sender)
      .reduce((n, b) => n + b.items.length, 0);
  return {
    stats,
    metrics,
    impressions: canonical(standIn.impressions()),
    events: canonical(standIn.events()),
    rejections: standIn.rejections,
    viaOtel: { impressions: sent('impressions', 'flagsync-otel'), events: sent('events', 'flagsync-otel') },
    viaSdk: { impressions: sent('impressions', '@flagsync/node-sdk'), events: sent('events', '@flagsync/node-sdk') },
  };
}

/** Whether this package can record anything in the cell (a signal that will be exported). */
function exported(cell: Cell): boolean {
  if (cell.disabled && cell.setup === 'nodesdk') return false;
  return cell.signals !== 'traces' || cell.sampler === 'on';
}

describe.each(LINES)('OpenTelemetry JS line: %s', (line) => {
  let reference: Awaited<ReturnType<typeof runCell>>;

  beforeAll(async () => {
    const standIn = await startStandIn();
    try {
      reference = await runCell(dirs[line]!, { reference: true }, standIn);
    } finally {
      await standIn.close();
    }
    expect(reference.rejections).toEqual([]);
    expect(reference.viaSdk).toEqual({ impressions: 55, events: 45 });
  }, 120_000);

  it.concurrent.each(CELLS.map((cell) => [label(cell), cell] as const))(
    '%s: every call arrives once, as the SDK sends it',
    async (_label, cell) => {
      const standIn = await startStandIn();
      try {
        const result = await runCell(dirs[line]!, cell, standIn);
        expect(result.rejections).toEqual([]);
        expect(result.impressions).toEqual(reference.impressions);
        expect(result.events).toEqual(reference.events);
        // Self-metrics through the line's own sdk-metrics count exactly what this package delivered.
        expect({
          impressions: result.metrics?.['flagsync_otel.delivered{kind=impression}'] ?? 0,
          events: result.metrics?.['flagsync_otel.delivered{kind=event}'] ?? 0,
        }).toEqual(result.viaOtel);
        if (!exported(cell)) {
          expect(result.viaOtel).toEqual({ impressions: 0, events: 0 });
          return;
        }
        expect(result.viaOtel.impressions).toBeGreaterThan(0);
        expect(result.viaOtel.events).toBeGreaterThan(0);
        if (cell.limit && cell.signals === 'traces') {
          // Span events cut by the limit: those calls went to the SDK instead.
          expect(result.viaSdk.impressions).toBeGreaterThan(SDK_ONLY.impressions);
          if (result.stats) expect(result.stats.sdkDelivered['attribute-limits']).toBeGreaterThan(0);
        } else if (cell.signals !== 'traces' && !cell.limit) {
          // Every call has a signal: only the SDK's fallbacks are the SDK's.
          expect(result.viaSdk).toEqual(SDK_ONLY);
        }
      } finally {
        await standIn.close();
      }
    },
  );

  it("type-checks against the line's exporter and instrumentation interfaces, ESM and CommonJS, nodenext and bundler resolution", async () => {
    for (const project of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
      const failure = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], {
        cwd: dirs[line]!,
      }).then(
        () => '',
        (error: { stdout?: string; message: string }) => error.stdout || error.message,
      );
      expect(failure, project).toBe('');
    }
  }, 120_000);
});
