/**
 * FlagSync clients FlagSyncInstrumentation cannot patch speak up, once, in one line naming the fix (issue 21: "ESM
 * app without the loader hook, zero-code --import without the hook, or node-sdk bundled by esbuild → not
 * instrumented, no word even at debug"): an ES module app run without the loader hook, the same app with its
 * OpenTelemetry setup preloaded by --import without the hook, and the app bundled by esbuild with node-sdk inside.
 * Each runs in the fixture app of each OpenTelemetry JS line (the packed tarball; NodeSDK with FlagSyncInstrumentation
 * and the FlagSync exporters, test/compat/app/otel-cell.cjs) against the stand-in: the exact line on stderr, and
 * every call of the scenario at FlagSync exactly once, all from the SDK (not instrumented, nothing lost). With the
 * hook, nothing is said and the calls go through OpenTelemetry; with the app's diag logger the line goes there;
 * FLAGSYNC_QUIET=true silences the stderr line.
 */
import { execFile } from 'node:child_process';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';
import { ROOT } from '../utils/processes.js';
import { canonical } from '../utils/scenario.js';

const LINES = ['otel-2x', 'otel-3x'] as const;
const APP_FILES = join(ROOT, 'test/compat/unpatched-app');
const NOT_INSTRUMENTED =
  'its clients are not instrumented (the SDK delivers their calls itself; OpenTelemetry records none of them)';
const HOOK = "register('@opentelemetry/instrumentation/hook.mjs', import.meta.url) from node:module";

const LINE = {
  esm:
    'flagsync-otel: @flagsync/node-sdk was imported as an ES module without the OpenTelemetry loader hook, so ' +
    `FlagSyncInstrumentation could not patch it: ${NOT_INSTRUMENTED}. Register the hook before the app's imports: ` +
    'node --import ./register-hook.mjs --require ./telemetry.cjs app.mjs, with register-hook.mjs calling ' +
    `${HOOK}\n`,
  preloaded:
    'flagsync-otel: @flagsync/node-sdk was imported as an ES module without the OpenTelemetry loader hook, so ' +
    `FlagSyncInstrumentation could not patch it: ${NOT_INSTRUMENTED}. Call ${HOOK} first in ./otel-setup.mjs, ` +
    "before anything it imports (the hook must precede the app's imports)\n",
  bundled:
    'flagsync-otel: @flagsync/node-sdk is bundled into the app, so there is no module for FlagSyncInstrumentation ' +
    `to patch: ${NOT_INSTRUMENTED}. Leave it out of the bundle and install it beside it (esbuild ` +
    '--external:@flagsync/node-sdk; webpack externals, rollup external)\n',
};

const CASES = [
  { name: 'an ES module app without the loader hook', args: ['--require', './setup.cjs', 'esm-app.mjs'], line: 'esm' },
  {
    name: 'the setup preloaded with --import, without the loader hook',
    args: ['--import', './otel-setup.mjs', 'esm-app.mjs'],
    line: 'preloaded',
  },
  { name: 'node-sdk bundled by esbuild', args: ['--require', './setup.cjs', 'bundle.cjs'], line: 'bundled' },
] as const;

const dirs: Partial<Record<(typeof LINES)[number], string>> = {};

beforeAll(async () => {
  await Promise.all(
    LINES.map(async (line) => {
      const dir = await installFixture(line);
      for (const file of readdirSync(APP_FILES)) cpSync(join(APP_FILES, file), join(dir, file));
      // The app as a bundler ships it: node-sdk and axios inside, the OpenTelemetry setup left outside.
      await build({
        entryPoints: [join(dir, 'bundle-app.cjs')],
        bundle: true,
        platform: 'node',
        external: ['./setup.cjs'],
        outfile: join(dir, 'bundle.cjs'),
        logLevel: 'silent',
      });
      dirs[line] = dir;
    }),
  );
}, 900_000);

type Run = { stdout: string; stderr: string };

function node(dir: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { cwd: dir, env, timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    ),
  );
}

/** The compatibility cell's NodeSDK setup (FlagSyncInstrumentation, FlagSync exporters), or none (the reference). */
function env(standIn: StandIn, cell: object, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    CELL: JSON.stringify(cell),
    FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
    FLAGSYNC_EVENTS_URL: standIn.url,
    OTEL_METRICS_EXPORTER: 'none',
    ...extra,
  };
}

const NODESDK = { module: 'esm', setup: 'nodesdk', signals: 'both', sampler: 'on' };

async function withStandIn<T>(fn: (standIn: StandIn) => Promise<T>): Promise<T> {
  const standIn = await startStandIn();
  try {
    return await fn(standIn);
  } finally {
    await standIn.close();
  }
}

/** What reached FlagSync, and from which sender. */
function received(standIn: StandIn) {
  const sent = (route: 'impressions' | 'events', sender: string) =>
    standIn.batches
      .filter((b) => b.route === route && b.sdkContext.sdkName === sender)
      .reduce((n, b) => n + b.items.length, 0);
  return {
    impressions: canonical(standIn.impressions()),
    events: canonical(standIn.events()),
    rejections: standIn.rejections,
    viaSdk: { impressions: sent('impressions', '@flagsync/node-sdk'), events: sent('events', '@flagsync/node-sdk') },
    viaOtel: { impressions: sent('impressions', 'flagsync-otel'), events: sent('events', 'flagsync-otel') },
  };
}

describe.each(LINES)('unpatched FlagSync clients on the %s line', (line) => {
  const dir = () => dirs[line]!;
  let reference: ReturnType<typeof received>;

  beforeAll(async () => {
    // The same app without OpenTelemetry: what the SDK sends on its own.
    reference = await withStandIn(async (standIn) => {
      await node(dir(), ['cell.cjs'], env(standIn, { reference: true }));
      return received(standIn);
    });
    expect(reference.viaSdk).toEqual({ impressions: 55, events: 45 });
  }, 120_000);

  it.concurrent.each(CASES)('$name: says so in one line; every call reaches FlagSync once, from the SDK', async (c) => {
    await withStandIn(async (standIn) => {
      const { stderr } = await node(dir(), c.args, env(standIn, NODESDK));
      expect(stderr).toBe(LINE[c.line]);
      const result = received(standIn);
      expect(result.rejections).toEqual([]);
      expect(result.impressions).toEqual(reference.impressions);
      expect(result.events).toEqual(reference.events);
      expect(result.viaOtel).toEqual({ impressions: 0, events: 0 });
      expect(result.viaSdk).toEqual(reference.viaSdk);
    });
  });

  it('with the loader hook: nothing said, the calls go through OpenTelemetry', async () => {
    await withStandIn(async (standIn) => {
      const args = ['--import', './register-hook.mjs', '--require', './setup.cjs', 'esm-app.mjs'];
      const { stderr } = await node(dir(), args, env(standIn, NODESDK));
      expect(stderr).toBe('');
      const result = received(standIn);
      expect(result.impressions).toEqual(reference.impressions);
      expect(result.events).toEqual(reference.events);
      expect(result.viaOtel.impressions).toBeGreaterThan(0);
    });
  });

  it("with the app's diag logger: the line goes there instead of stderr", async () => {
    await withStandIn(async (standIn) => {
      const args = ['--require', './diag-logger.cjs', '--require', './setup.cjs', 'bundle.cjs'];
      const { stdout, stderr } = await node(dir(), args, env(standIn, NODESDK));
      expect(stderr).toBe('');
      expect(stdout.split('\n').filter((l) => l.includes('flagsync-otel: '))).toEqual([
        `diag warn: ${LINE.bundled.trimEnd()}`,
      ]);
    });
  });

  it('FLAGSYNC_QUIET=true: nothing said', async () => {
    await withStandIn(async (standIn) => {
      const quiet = env(standIn, NODESDK, { FLAGSYNC_QUIET: 'true' });
      expect((await node(dir(), ['--require', './setup.cjs', 'bundle.cjs'], quiet)).stderr).toBe('');
    });
  });
});
