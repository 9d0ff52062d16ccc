/**
 * The package as a user's project gets it: the packed tarball installed into the fixture app of
 * each OpenTelemetry JS line (api 1.9 / 1.10). The CLI runs there (help, version, demo, and what
 * demo says when its packages are missing), TypeScript's node10 resolution finds every entry
 * point, the tarball holds the configs and examples the README names, and an unsupported Node gets
 * one line at exporter construction.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture } from '../utils/fixture-apps.js';
import { ROOT } from '../utils/processes.js';

const run = promisify(execFile);

const LINES = [
  { name: 'otel-2x', line: 2, api: '1.9.0' },
  { name: 'otel-3x', line: 3, api: '1.10.0' },
] as const;
const dirs: Partial<Record<(typeof LINES)[number]['name'], string>> = {};

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
};
/** The Node this package needs, as its engines say (">=22.19.0"). */
const NEEDED_NODE = pkg.engines.node.replace(/^>=\s*/, '');
const PRETEND_NODE_20 = join(ROOT, 'test/fixtures/pretend-node-20.cjs');

/** This test's Node first on PATH: the bin's `#!/usr/bin/env node` must not find an older one. */
const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '' };

type Outcome = { code: number; stdout: string; stderr: string };

/** Runs to the end, failing or not: exit code and both outputs. */
function outcome(file: string, args: string[], cwd: string, timeout = 60_000): Promise<Outcome> {
  return run(file, args, { cwd, env, timeout }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: unknown; stdout?: string; stderr?: string; message: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? error.message,
    }),
  );
}

const HELP_LINES = [
  'Usage: flagsync-otel <command> [options]\n',
  '  demo       run an instrumented example app against the built-in FlagSync stand-in and show what arrived\n',
  '  standin    run a local FlagSync stand-in (for trials and tests, no network needed)\n',
  '  help       show this help (also --help, -h)\n',
  '  --version, -v  print the version of flagsync-otel\n',
];

/** Each entry point with its real types, compiled as CommonJS with `moduleResolution: node10`. */
const NODE10_FILE = `// Every entry point, resolved as moduleResolution node10 does (main, types, typesVersions).
import { getInstrumentationStats, instrumentFlagSyncClient } from 'flagsync-otel';
import { FlagSyncInstrumentation, installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import {
  FlagSyncConfigError,
  FlagSyncLogRecordExporter,
  FlagSyncSpanExporter,
  type FlagSyncExporterOptions,
} from 'flagsync-otel/exporters';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from 'flagsync-otel/testing';

const options: FlagSyncExporterOptions = { sdkKey: STANDIN_DEFAULT_SDK_KEY };
export const exporters = [new FlagSyncSpanExporter(options), new FlagSyncLogRecordExporter(options)];
export const instrumentation = new FlagSyncInstrumentation();
export const functions = [getInstrumentationStats, instrumentFlagSyncClient, installSdkDeliveryGuard];
export const standIn: () => Promise<StandIn> = () => startStandIn();
export const isError: FlagSyncConfigError extends Error ? true : false = true;
// Real types, not \`any\`: a wrong use is an error.
// @ts-expect-error a string is not a number
export const notANumber: number = STANDIN_DEFAULT_SDK_KEY;
`;
const NODE10_CONFIG = {
  compilerOptions: {
    module: 'commonjs',
    moduleResolution: 'node10',
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    types: ['node'],
  },
  files: ['entry-points.node10.ts'],
};

/** Constructs an exporter the way an app does and prints what it threw (or "constructed"). */
const CONSTRUCT_CJS = `const { FlagSyncSpanExporter } = require('flagsync-otel/exporters');
try {
  new FlagSyncSpanExporter({ sdkKey: 'k', eventsUrl: 'http://127.0.0.1:9' }).shutdown();
  console.log('constructed');
} catch (error) {
  console.log(error.message);
}
`;
const CONSTRUCT_ESM = `import { FlagSyncSpanExporter } from 'flagsync-otel/exporters';
try {
  await new FlagSyncSpanExporter({ sdkKey: 'k', eventsUrl: 'http://127.0.0.1:9' }).shutdown();
  console.log('constructed');
} catch (error) {
  console.log(error.message);
}
`;

/** An installed Node older than the one needed, if the machine has one (else only a pretended one is used). */
const olderNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
  if (!existsSync(path)) return false;
  const [major, minor] = execFileSync(path, ['-p', 'process.versions.node']).toString().trim().split('.').map(Number);
  const [needMajor, needMinor] = NEEDED_NODE.split('.').map(Number);
  return major! < needMajor! || (major === needMajor && minor! < needMinor!);
});

const scratchDirs: string[] = [];

beforeAll(async () => {
  await Promise.all(LINES.map(async ({ name }) => (dirs[name] = await installFixture(name))));
}, 900_000);

afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(LINES)('packed tarball in the $name app', ({ name, line, api }) => {
  const dir = () => dirs[name]!;

  it('is the line it claims to be', () => {
    const installed = JSON.parse(readFileSync(join(dir(), 'node_modules/@opentelemetry/api/package.json'), 'utf8'));
    expect(installed.version).toBe(api);
  });

  it('npx flagsync-otel --help: rc 0 and every command with its description; -h and help say the same', async () => {
    const help = await outcome('npx', ['--no-install', 'flagsync-otel', '--help'], dir());
    expect(help).toMatchObject({ code: 0, stderr: '' });
    for (const text of HELP_LINES) expect(help.stdout).toContain(text);
    for (const arg of ['-h', 'help'])
      expect(await outcome('npx', ['--no-install', 'flagsync-otel', arg], dir())).toEqual(help);
  });

  it('npx flagsync-otel --version (and -v) prints the version of package.json', async () => {
    const installed = JSON.parse(readFileSync(join(dir(), 'node_modules/flagsync-otel/package.json'), 'utf8'));
    expect(installed.version).toBe(pkg.version);
    for (const arg of ['--version', '-v'])
      expect(await outcome('npx', ['--no-install', 'flagsync-otel', arg], dir())).toEqual({
        code: 0,
        stdout: `${pkg.version}\n`,
        stderr: '',
      });
  });

  it('an unknown command: one line, then the help, rc 2', async () => {
    const help = await outcome('npx', ['--no-install', 'flagsync-otel', '--help'], dir());
    expect(await outcome('npx', ['--no-install', 'flagsync-otel', 'helpp'], dir())).toEqual({
      code: 2,
      stdout: '',
      stderr: `flagsync-otel: unknown command "helpp"\n\n${help.stdout}`,
    });
  });

  it("demo runs with the app's own OpenTelemetry packages", async () => {
    const demo = await outcome('npx', ['--no-install', 'flagsync-otel', 'demo', '--users', '12'], dir(), 120_000);
    expect(demo.stdout).toContain('flag() calls: 12 -> impressions received: 12\n');
    expect(demo.stdout).toContain('OK: every call reached FlagSync exactly once.\n');
    expect(demo.code).toBe(0);
  }, 150_000);

  it('demo where its packages are missing names them and the install command in one line', async () => {
    // The app without the packages the demo needs (and, on 2.x, without api-logs): its other packages
    // linked, this package copied so that it resolves from the scratch app.
    const missing =
      line === 2
        ? ['@flagsync/node-sdk', '@opentelemetry/api-logs', '@opentelemetry/sdk-trace']
        : ['@flagsync/node-sdk', '@opentelemetry/sdk-trace'];
    const scratch = mkdtempSync(join(tmpdir(), `flagsync-otel-demo-${name}-`));
    scratchDirs.push(scratch);
    writeFileSync(join(scratch, 'package.json'), '{"private":true}\n');
    const from = join(dir(), 'node_modules');
    for (const entry of readdirSync(from)) {
      if (entry.startsWith('.') || entry === 'flagsync-otel') continue;
      const scoped = entry.startsWith('@');
      for (const sub of scoped ? readdirSync(join(from, entry)) : ['']) {
        const pkgName = scoped ? `${entry}/${sub}` : entry;
        if (missing.includes(pkgName)) continue;
        mkdirSync(join(scratch, 'node_modules', scoped ? entry : ''), { recursive: true });
        symlinkSync(join(from, pkgName), join(scratch, 'node_modules', pkgName));
      }
    }
    cpSync(join(from, 'flagsync-otel'), join(scratch, 'node_modules/flagsync-otel'), { recursive: true });
    const demo = await outcome(
      process.execPath,
      [join(scratch, 'node_modules/flagsync-otel/bin/flagsync-otel.cjs'), 'demo'],
      scratch,
    );
    const install =
      line === 2
        ? "@flagsync/node-sdk @opentelemetry/api-logs@'<0.300' @opentelemetry/sdk-trace@2"
        : '@flagsync/node-sdk @opentelemetry/sdk-trace@3';
    expect(demo).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `flagsync-otel: the demo needs ${missing.join(', ')} (this project is on OpenTelemetry JS ${line}.x); ` +
        `install with: npm install --save-dev ${install}\n`,
    });
  });

  it('tsc with moduleResolution node10 (module commonjs) resolves every entry point, with its types', async () => {
    writeFileSync(join(dir(), 'entry-points.node10.ts'), NODE10_FILE);
    writeFileSync(join(dir(), 'tsconfig.node10.json'), `${JSON.stringify(NODE10_CONFIG, null, 2)}\n`);
    const tsc = await outcome(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.node10.json'],
      dir(),
    );
    expect(tsc.stdout).toBe('');
    expect(tsc.code).toBe(0);
  }, 120_000);

  it('on a Node older than the one needed, constructing an exporter throws one line naming both versions', async () => {
    writeFileSync(join(dir(), 'construct-exporter.cjs'), CONSTRUCT_CJS);
    writeFileSync(join(dir(), 'construct-exporter.mjs'), CONSTRUCT_ESM);
    const refusal = (version: string) =>
      `flagsync-otel: delivery to FlagSync needs Node.js >= ${NEEDED_NODE} (this is v${version}): ` +
      'upgrade Node.js, or leave delivery to an OpenTelemetry Collector\n';
    for (const script of ['construct-exporter.cjs', 'construct-exporter.mjs']) {
      // This Node, made to look like 20.11.0.
      expect(await outcome(process.execPath, ['--require', PRETEND_NODE_20, script], dir()), script).toEqual({
        code: 0,
        stdout: refusal('20.11.0'),
        stderr: '',
      });
      // The machine's own older Node, where there is one: importing works, undici is never loaded.
      if (olderNode) {
        const version = execFileSync(olderNode, ['-p', 'process.versions.node']).toString().trim();
        expect(await outcome(olderNode, [script], dir()), `${olderNode} ${script}`).toEqual({
          code: 0,
          stdout: refusal(version),
          stderr: '',
        });
      }
      // Either side of the boundary: the last Node refused, the first accepted.
      for (const [version, expected] of [
        ['22.18.1', refusal('22.18.1')],
        [NEEDED_NODE, 'constructed\n'],
      ] as const) {
        const preload = join(dir(), `pretend-node-${version}.cjs`);
        writeFileSync(
          preload,
          `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '${version}' } });\n` +
            `Object.defineProperty(process, 'version', { value: 'v${version}' });\n`,
        );
        expect(await outcome(process.execPath, ['--require', preload, script], dir()), version).toMatchObject({
          code: 0,
          stdout: expected,
        });
      }
      // And on this Node, the same script constructs the exporter.
      expect(await outcome(process.execPath, [script], dir()), script).toMatchObject({
        code: 0,
        stdout: 'constructed\n',
      });
    }
  });

  it('the tarball holds every collector config and example the README and docs name', () => {
    const installed = join(dir(), 'node_modules/flagsync-otel');
    const named = new Set<string>();
    for (const doc of ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)]) {
      if (!doc.endsWith('.md')) continue;
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const match of text.matchAll(
        /`((?:collector-config[\w.-]*\.yaml)|(?:collector\/manifest\.yaml)|(?:examples\/[\w./-]*))`/g,
      ))
        named.add(match[1]!);
    }
    expect([...named]).toEqual(
      expect.arrayContaining([
        'collector-config.yaml',
        'collector-config.gateway.yaml',
        'collector-config.stock-to-gateway.yaml',
      ]),
    );
    expect([...named].some((path) => path.startsWith('examples/'))).toBe(true);
    const absent = [...named].filter((path) => !existsSync(join(installed, path)));
    expect(absent).toEqual([]);
  });
});

// The tarball is the one this build packs: its file list, once, independent of any install.
describe('npm pack', () => {
  it('lists the configs, examples and entry points', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const files = new Set((JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    for (const path of [
      'collector-config.yaml',
      'collector-config.gateway.yaml',
      'collector-config.stock-to-gateway.yaml',
      'collector/manifest.yaml',
      'examples/README.md',
      'examples/auto-instrumentation/app.mjs',
      'examples/auto-instrumentation/otel-setup.mjs',
      'examples/in-process/app.mjs',
      'bin/flagsync-otel.cjs',
      'dist/cli/main.js',
      'dist/index.cjs',
      'dist/index.d.cts',
      ...['instrumentation', 'exporters', 'testing'].map((entry) => `dist/${entry}.d.cts`),
    ])
      expect(files, path).toContain(path);
  });
});
