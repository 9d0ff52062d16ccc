/**
 * The README tested as written: every code block marked runnable runs in a scratch app of each OpenTelemetry JS line
 * it names, with this package from its packed tarball (the fixture apps' installs).
 *
 * Marking: an HTML comment on the line before the block's fence, naming the lines it is for:
 *
 *     <!-- runnable: otel-2x otel-3x -->
 *     ```js
 *
 * A block with `import` statements runs as an ES module (snippet.mjs), else as CommonJS (snippet.cjs). The block's text
 * runs unchanged; only the placeholders it uses and does not define get a prelude line before it (PRELUDE below):
 * `yourUsualSpanExporter` (an exporter that accepts and drops) and `sdkKey` (FLAGSYNC_SDK_KEY, the stand-in's key).
 *
 * How each block runs:
 * - A NodeSDK setup (it exports `sdk`) is the app's telemetry file: `node --require ./telemetry.cjs app.cjs`, where
 *   app.cjs (APP below) makes a FlagSync client against the stand-in, calls flag() twice (in a span, outside any) and
 *   track() once, ends as the README says (`await client.destroy(); await sdk.shutdown();`). FlagSync (the stand-in)
 *   must get exactly those 2 impressions and 1 event.
 * - Any other block runs on its own and must end with rc 0 and nothing on stderr; a block that makes a `client` is
 *   then asked for its instrumentation stats (it must be wrapped), and the process exits.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';
import { ROOT } from '../utils/processes.js';

type Line = 'otel-2x' | 'otel-3x';

interface Block {
  /** 1-based line of the fence in README.md. */
  at: number;
  lines: Line[];
  code: string;
}

/** Every runnable block of the README, in order. */
function runnableBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const mark = /^<!-- runnable: ([\w\s-]+) -->$/.exec(lines[i]!);
    if (!mark) continue;
    const fence = lines[i + 1] ?? '';
    if (!/^```(js|javascript)$/.test(fence))
      throw new Error(`README.md:${i + 1}: a runnable mark must precede a js fence`);
    const end = lines.indexOf('```', i + 2);
    blocks.push({
      at: i + 2,
      lines: mark[1]!.trim().split(/\s+/) as Line[],
      code: lines.slice(i + 2, end).join('\n'),
    });
  }
  return blocks;
}

/** Placeholder substitutions: prepended when the block uses the name without defining it. */
const PRELUDE: Record<string, string> = {
  yourUsualSpanExporter:
    '// yourUsualSpanExporter: your own exporter; here one that accepts and drops.\n' +
    'const yourUsualSpanExporter = { export: (spans, done) => done({ code: 0 }), shutdown: async () => {}, ' +
    'forceFlush: async () => {} };',
  sdkKey: 'const sdkKey = process.env.FLAGSYNC_SDK_KEY;',
};

function prelude(code: string): string {
  const used = Object.keys(PRELUDE).filter(
    (name) => new RegExp(`\\b${name}\\b`).test(code) && !new RegExp(`(const|let|var)\\s+${name}\\b`).test(code),
  );
  return used.map((name) => PRELUDE[name]).join('\n');
}

/** The app behind a NodeSDK block: 2 flag() calls (one in a span, one outside any) and 1 track(). */
const APP = `'use strict';
const { trace } = require('@opentelemetry/api');
const { FlagSyncFactory } = require('@flagsync/node-sdk');
const { sdk } = require('./telemetry.cjs');
async function main() {
  const client = FlagSyncFactory({
    sdkKey: process.env.FLAGSYNC_SDK_KEY,
    urls: { sdk: process.env.FLAGSYNC_EVENTS_URL },
    sync: { type: 'off' },
  }).client();
  await client.waitForReady();
  const user = { key: 'user-1', attributes: { plan: 'pro' } };
  trace.getTracer('app').startActiveSpan('GET /register', (span) => {
    client.flag(user, 'register-button-copy', 'Register');
    client.track(user, 'purchase_event', 42.5, { sku: 'A-1' });
    span.end();
  });
  client.flag(user, 'new-checkout', false);
  await client.destroy();
  await sdk.shutdown();
  // node-sdk 0.1.1 leaves a 60 s timer behind after destroy(): exit explicitly.
  process.exit(0);
}
main();
`;

/** After a block that makes a client: it must be wrapped (the stats exist only for wrapped clients). */
const CLIENT_CHECK = {
  cjs: `\n;(() => { const { getInstrumentationStats } = require('flagsync-otel');
if (!getInstrumentationStats(client)) throw new Error('client not instrumented'); process.exit(0); })();\n`,
  esm: `\nconst { getInstrumentationStats } = await import('flagsync-otel');
if (!getInstrumentationStats(client)) throw new Error('client not instrumented');
process.exit(0);\n`,
};

const BLOCKS = runnableBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const CASES = BLOCKS.flatMap((block) => block.lines.map((line) => ({ ...block, line })));

const apps: Partial<Record<Line, string>> = {};
let standIn: StandIn;
let scratch: string;

beforeAll(async () => {
  standIn = await startStandIn();
  scratch = mkdtempSync(join(tmpdir(), 'flagsync-readme-'));
  await Promise.all((['otel-2x', 'otel-3x'] as const).map(async (line) => (apps[line] = await installFixture(line))));
}, 900_000);

afterAll(async () => {
  await standIn?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

type Outcome = { code: number; stdout: string; stderr: string };

function node(args: string[], cwd: string): Promise<Outcome> {
  const env = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? '',
    FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
    FLAGSYNC_EVENTS_URL: standIn.url,
  };
  return new Promise((resolve) =>
    execFile(process.execPath, args, { cwd, env, timeout: 40_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    ),
  );
}

/** A fresh folder with the line's installed node_modules (the packed tarball among them). */
function scratchApp(line: Line, at: number): string {
  const dir = join(scratch, `${line}-line-${at}`);
  mkdirSync(dir);
  symlinkSync(join(apps[line]!, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

it('the README has runnable blocks for both lines', () => {
  expect(CASES.filter((c) => c.line === 'otel-2x').length).toBeGreaterThanOrEqual(3);
  expect(CASES.filter((c) => c.line === 'otel-3x').length).toBeGreaterThanOrEqual(3);
});

// In order, one at a time (the default): the NodeSDK cases count what the one stand-in receives.
describe.each(CASES)('README.md:$at on $line', ({ at, line, code }) => {
  it('runs as written', async () => {
    const dir = scratchApp(line, at);
    const esm = /^import\s/m.test(code);
    const source = `${prelude(code)}\n${code}\n`;
    if (/module\.exports\s*=\s*\{\s*sdk\s*\}/.test(code)) {
      writeFileSync(join(dir, 'telemetry.cjs'), source);
      writeFileSync(join(dir, 'app.cjs'), APP);
      standIn.reset();
      const result = await node(['--require', './telemetry.cjs', 'app.cjs'], dir);
      // stdout has node-sdk's own "Starting sync manager".
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(
        standIn
          .impressions()
          .map((i) => i.flagKey)
          .sort(),
      ).toEqual(['new-checkout', 'register-button-copy']);
      expect(standIn.events().map((e) => e.eventKey)).toEqual(['purchase_event']);
      return;
    }
    const file = esm ? 'snippet.mjs' : 'snippet.cjs';
    const check = /\bconst client\b/.test(code) ? CLIENT_CHECK[esm ? 'esm' : 'cjs'] : '\nprocess.exit(0);\n';
    writeFileSync(join(dir, file), source + check);
    expect(await node([file], dir)).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
