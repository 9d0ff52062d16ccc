/**
 * `flagsync-otel doctor` in a user's app on each OpenTelemetry JS line (the fixture apps, with the packed tarball):
 * a correct setup gives only ✓ lines and rc 0; a wrong key, an OTLP endpoint nobody listens on, a collector
 * configuration without the flagsync exporter or without a persistent queue give the exact ✗ lines and rc 1;
 * --json says the same as JSON. FlagSync is the stand-in; the OTLP endpoint a sink answering 200.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import { freePort } from '../utils/processes.js';

const LINES = [
  {
    name: 'otel-2x',
    packages:
      'OpenTelemetry JS 2.x: @opentelemetry/api 1.9.0, sdk-node 0.223.0, sdk-trace-base 2.12.0, sdk-trace 2.12.0, ' +
      'sdk-logs 0.223.0, api-logs 0.223.0, instrumentation 0.223.0',
    instrumentation: '0.223.0',
  },
  {
    name: 'otel-3x',
    packages:
      'OpenTelemetry JS 3.x: @opentelemetry/api 1.10.0, sdk-node 0.301.0, sdk-trace 3.1.0, sdk-logs 3.1.0, ' +
      'instrumentation 0.301.0',
    instrumentation: '0.301.0',
  },
] as const;

const GOOD_CONFIG = `
extensions:
  file_storage/flagsync:
    directory: /var/lib/otelcol/flagsync-queue
receivers:
  otlp:
    protocols:
      http:
exporters:
  otlp_http/backend:
    endpoint: http://backend:4318
  flagsync:
    sdk_key: \${env:FLAGSYNC_SDK_KEY}
    sending_queue:
      storage: file_storage/flagsync
service:
  extensions: [file_storage/flagsync]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_http/backend]
    traces/flagsync:
      receivers: [otlp]
      exporters: [flagsync]
    logs/flagsync:
      receivers: [otlp]
      exporters: [flagsync]
`;
const NO_FLAGSYNC_CONFIG = `
receivers:
  otlp:
    protocols:
      http:
exporters:
  otlp_http/backend:
    endpoint: http://backend:4318
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_http/backend]
`;
const NO_QUEUE_CONFIG = `
receivers:
  otlp:
    protocols:
      http:
exporters:
  flagsync:
    sdk_key: \${env:FLAGSYNC_SDK_KEY}
processors:
  batch: {}
service:
  pipelines:
    traces/flagsync:
      receivers: [otlp]
      processors: [batch]
      exporters: [flagsync]
    logs/flagsync:
      receivers: [otlp]
      processors: [batch]
      exporters: [flagsync]
`;

const WRONG_KEY = 'wrong-key-0123456789';
const dirs: Record<string, string> = {};
let standIn: StandIn;
let sink: OtlpSink;
let closedPort: number;
let scratch: string;

beforeAll(async () => {
  [standIn, sink, closedPort] = await Promise.all([startStandIn(), startOtlpSink(), freePort()]);
  scratch = mkdtempSync(join(tmpdir(), 'flagsync-doctor-'));
  writeFileSync(join(scratch, 'good.yaml'), GOOD_CONFIG);
  writeFileSync(join(scratch, 'no-flagsync.yaml'), NO_FLAGSYNC_CONFIG);
  writeFileSync(join(scratch, 'no-queue.yaml'), NO_QUEUE_CONFIG);
  // Each app in a scratch folder of its own (its package.json, its node_modules), so that nothing above it (the
  // repository's node_modules, which Node would also search) is found: what a user's project sees.
  await Promise.all(
    LINES.map(async ({ name }) => {
      const fixture = await installFixture(name);
      const app = join(scratch, name);
      mkdirSync(app);
      cpSync(join(fixture, 'package.json'), join(app, 'package.json'));
      symlinkSync(join(fixture, 'node_modules'), join(app, 'node_modules'));
      dirs[name] = app;
    }),
  );
}, 900_000);

afterAll(async () => {
  await Promise.all([standIn?.close(), sink?.close()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

type Outcome = { code: number; stdout: string; stderr: string };

/** The app's own `flagsync-otel` bin, in its folder, with only the given environment (and this Node on PATH). */
function doctor(dir: string, args: string[], vars: Record<string, string>): Promise<Outcome> {
  const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '', ...vars };
  const bin = join(dir, 'node_modules/.bin/flagsync-otel');
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'doctor', ...args], { cwd: dir, env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe.each(LINES)('flagsync-otel doctor in the $name app', ({ name, packages, instrumentation }) => {
  const dir = () => dirs[name]!;
  const head = () => [`flagsync-otel doctor 0.1.0 in ${dir()}`, `✓ Node.js ${process.versions.node}`, `✓ ${packages}`];
  const sdkLine = `✓ @flagsync/node-sdk 0.1.1: FlagSyncInstrumentation can patch it (@opentelemetry/instrumentation ${instrumentation})`;
  const exporterLine =
    "✓ FLAGSYNC_DELIVERY=exporter: this process's FlagSyncSpanExporter/FlagSyncLogRecordExporter deliver calls; a " +
    "call without FlagSync's 2xx goes back to the SDK";
  const collectorLine =
    "✓ FLAGSYNC_DELIVERY=collector: a collector with the flagsync exporter delivers calls, receipted by this app's " +
    'OTLP export; a failed export gives them back to the SDK';
  const otlpOk = () => [
    `✓ OTLP endpoint ${sink.url}/v1/traces (traces, http/protobuf, from OTEL_EXPORTER_OTLP_ENDPOINT) answers`,
    `✓ OTLP endpoint ${sink.url}/v1/logs (logs, http/protobuf, from OTEL_EXPORTER_OTLP_ENDPOINT) answers`,
  ];
  const keyOk = () =>
    `✓ FlagSync at ${standIn.url} accepted the SDK key (POST /track/events/server with no events: 201)`;

  it('is listed by --help, and doctor --help says what it checks (rc 0)', async () => {
    const bin = join(dir(), 'node_modules/.bin/flagsync-otel');
    const help = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [bin, '--help'], { cwd: dir() }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    expect(help).toContain(
      "  doctor     check this folder's app setup: packages, delivery setting, FlagSync key, OTLP endpoint, collector " +
        'config\n',
    );
    const own = await doctor(dir(), ['--help'], {});
    expect(own).toMatchObject({ code: 0, stderr: '' });
    expect(own.stdout).toMatch(
      /^Usage: flagsync-otel doctor \[--json\] \[--collector-config FILE\] \[--timeout-ms 5000\]\n/,
    );
  });

  it('a correct in-process setup: every line ✓, rc 0', async () => {
    const result = await doctor(dir(), [], {
      FLAGSYNC_DELIVERY: 'exporter',
      FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
      FLAGSYNC_EVENTS_URL: standIn.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    });
    expect(result).toEqual({
      code: 0,
      stdout: [...head(), sdkLine, exporterLine, keyOk(), ...otlpOk(), 'No problems found.', ''].join('\n'),
      stderr: '',
    });
  });

  it('a correct collector setup (--collector-config): every line ✓, rc 0', async () => {
    const result = await doctor(dir(), ['--collector-config', join(scratch, 'good.yaml')], {
      FLAGSYNC_DELIVERY: 'collector',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    });
    const config = join(scratch, 'good.yaml');
    expect(result).toEqual({
      code: 0,
      stdout: [
        ...head(),
        sdkLine,
        collectorLine,
        '· FLAGSYNC_SDK_KEY is not set here: FlagSync and the key not checked',
        ...otlpOk(),
        `✓ ${config}: pipelines traces/flagsync, logs/flagsync export to flagsync`,
        `✓ ${config}: exporter flagsync has a persistent queue (sending_queue.storage: file_storage/flagsync)`,
        'No problems found.',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('a wrong key and an OTLP endpoint nobody listens on: the ✗ lines with their fixes, rc 1, no key shown', async () => {
    const otlp = `http://127.0.0.1:${closedPort}`;
    const result = await doctor(dir(), [], {
      FLAGSYNC_DELIVERY: 'exporter',
      FLAGSYNC_SDK_KEY: WRONG_KEY,
      FLAGSYNC_EVENTS_URL: standIn.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    });
    const unreachable = (signal: string) => [
      `✗ OTLP endpoint ${otlp}/v1/${signal} (${signal}, http/protobuf, from OTEL_EXPORTER_OTLP_ENDPOINT) is ` +
        'unreachable (ECONNREFUSED)',
      '  fix: start the collector, or set OTEL_EXPORTER_OTLP_ENDPOINT to where it listens',
    ];
    expect(result).toEqual({
      code: 1,
      stdout: [
        ...head(),
        sdkLine,
        exporterLine,
        `✗ FlagSync at ${standIn.url} refused the SDK key (POST /track/events/server with no events: 401)`,
        "  fix: set FLAGSYNC_SDK_KEY to the server SDK key of this app's FlagSync environment",
        ...unreachable('traces'),
        ...unreachable('logs'),
        '3 problem(s) found.',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(result.stdout).not.toContain(WRONG_KEY);
  });

  it('a collector configuration without the flagsync exporter, then one without a persistent queue: ✗, rc 1', async () => {
    const vars = { FLAGSYNC_DELIVERY: 'collector', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url };
    const noFlagSync = await doctor(dir(), ['--collector-config', 'no-flagsync.yaml'], vars);
    // Relative to the app's folder, as given: not found there.
    expect(noFlagSync.code).toBe(1);
    expect(noFlagSync.stdout).toContain(
      '✗ no-flagsync.yaml: cannot read it (ENOENT)\n' +
        '  fix: give the path (from this folder) of the configuration file the collector runs with\n',
    );

    const config = join(scratch, 'no-flagsync.yaml');
    const missing = await doctor(dir(), ['--collector-config', config], vars);
    expect(missing.code).toBe(1);
    expect(missing.stdout.split('\n').slice(-6)).toEqual([
      `✗ ${config}: no exporter of type flagsync: this collector delivers nothing to FlagSync`,
      '  fix: add the flagsync exporter and the traces/flagsync and logs/flagsync pipelines of collector-config.yaml ' +
        'in the flagsync-otel package (a collector built with collector/manifest.yaml); on a stock image forward ' +
        'to the FlagSync gateway (collector-config.stock-to-gateway.yaml)',
      '✗ FLAGSYNC_DELIVERY=collector, but this collector does not deliver to FlagSync: its receipts would lose calls',
      '  fix: unset FLAGSYNC_DELIVERY until the collector has the FlagSync pipelines',
      '2 problem(s) found.',
      '',
    ]);

    const noQueueConfig = join(scratch, 'no-queue.yaml');
    const noQueue = await doctor(dir(), ['--collector-config', noQueueConfig], vars);
    expect(noQueue.code).toBe(1);
    expect(noQueue.stdout.split('\n').slice(-6)).toEqual([
      `✓ ${noQueueConfig}: pipelines traces/flagsync, logs/flagsync export to flagsync`,
      `✗ ${noQueueConfig}: exporter flagsync has no persistent queue (sending_queue.storage): what FlagSync has ` +
        'not accepted is lost when the collector restarts',
      '  fix: add a file_storage extension (on a volume), list it in service.extensions, and set ' +
        'exporters.flagsync.sending_queue.storage to it (see collector-config.yaml in the flagsync-otel package)',
      `· ${noQueueConfig}: a batch processor runs in front of the flagsync exporter in traces/flagsync, ` +
        'logs/flagsync: the collector answers the app before the persistent queue has the data, so a collector ' +
        'crash loses what batch holds; leave batch out of the FlagSync pipelines if that matters',
      '1 problem(s) found.',
      '',
    ]);
  });

  it('--json: the same checks as one JSON object', async () => {
    const result = await doctor(dir(), ['--json'], {
      FLAGSYNC_DELIVERY: 'exporter',
      FLAGSYNC_SDK_KEY: WRONG_KEY,
      FLAGSYNC_EVENTS_URL: standIn.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: { topic: string; status: string }[] };
    expect(report).toMatchObject({ ok: false, dir: dir(), version: '0.1.0' });
    expect(report.checks.map((c) => `${c.topic} ${c.status}`)).toEqual([
      'node ok',
      'opentelemetry ok',
      'flagsync-sdk ok',
      'delivery ok',
      'flagsync fail',
      'otlp ok',
      'otlp ok',
    ]);
    expect(report.checks[4]).toEqual({
      topic: 'flagsync',
      status: 'fail',
      text: `FlagSync at ${standIn.url} refused the SDK key (POST /track/events/server with no events: 401)`,
      fix: "set FLAGSYNC_SDK_KEY to the server SDK key of this app's FlagSync environment",
    });
  });
});

/** A folder whose node_modules holds only these packages, each a link to a fixture app's installed copy. */
function appWith(name: string, packages: [line: 'otel-2x' | 'otel-3x', pkg: string][]): string {
  const app = join(scratch, name);
  for (const [line, pkg] of packages) {
    const target = join(dirs[line]!, 'node_modules', pkg);
    mkdirSync(dirname(join(app, 'node_modules', pkg)), { recursive: true });
    symlinkSync(target, join(app, 'node_modules', pkg));
  }
  return app;
}

/** The 3.x app's flagsync-otel, run in another folder. */
function doctorIn(app: string, vars: Record<string, string>): Promise<Outcome> {
  const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '', ...vars };
  const bin = join(dirs['otel-3x']!, 'node_modules/.bin/flagsync-otel');
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'doctor'], { cwd: app, env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('flagsync-otel doctor: packages that cannot work together', () => {
  const tail = [
    "✓ FLAGSYNC_DELIVERY unset (auto): this process's FlagSync exporters deliver calls while one runs for the call's " +
      'signal, else the FlagSync SDK; a collector is never assumed',
    '· FLAGSYNC_SDK_KEY is not set here: FlagSync and the key not checked',
    '· no OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT): not checked',
    '1 problem(s) found.',
    '',
  ];

  it('the FlagSync SDK without @opentelemetry/instrumentation: ✗ with the install command of the line', async () => {
    const app = appWith('no-instrumentation', [
      ['otel-3x', '@opentelemetry/api'],
      ['otel-3x', '@opentelemetry/sdk-node'],
      ['otel-3x', '@opentelemetry/sdk-trace'],
      ['otel-3x', '@flagsync/node-sdk'],
    ]);
    expect(await doctorIn(app, {})).toEqual({
      code: 1,
      stdout: [
        `flagsync-otel doctor 0.1.0 in ${app}`,
        `✓ Node.js ${process.versions.node}`,
        '✓ OpenTelemetry JS 3.x: @opentelemetry/api 1.10.0, sdk-node 0.301.0, sdk-trace 3.1.0',
        '✗ @flagsync/node-sdk 0.1.1 found, but @opentelemetry/instrumentation is not installed: ' +
          'FlagSyncInstrumentation (flagsync-otel/instrumentation) cannot load',
        '  fix: npm install @opentelemetry/instrumentation@0.3',
        ...tail,
      ].join('\n'),
      stderr: '',
    });
  });

  it('api 1.10 (3.x) under 2.x SDK packages: ✗ naming both lines; a wrong FLAGSYNC_DELIVERY: ✗', async () => {
    const app = appWith('mixed-lines', [
      ['otel-3x', '@opentelemetry/api'],
      ['otel-2x', '@opentelemetry/sdk-node'],
      ['otel-2x', '@opentelemetry/sdk-trace-base'],
      ['otel-2x', '@opentelemetry/instrumentation'],
      ['otel-2x', '@flagsync/node-sdk'],
    ]);
    const result = await doctorIn(app, { FLAGSYNC_DELIVERY: 'pipeline' });
    expect(result).toMatchObject({ code: 1, stderr: '' });
    expect(result.stdout.split('\n').slice(2, 9)).toEqual([
      '✗ @opentelemetry/api 1.10.0 is for OpenTelemetry JS 3.x, the SDK packages are 2.x (sdk-node 0.223.0, ' +
        'sdk-trace-base 2.12.0, instrumentation 0.223.0)',
      "  fix: install the API of the SDK's line: npm install @opentelemetry/api@1.9",
      '✓ @flagsync/node-sdk 0.1.1: FlagSyncInstrumentation can patch it (@opentelemetry/instrumentation 0.223.0)',
      '✗ FLAGSYNC_DELIVERY="pipeline" is not a delivery setting: the instrumentation throws at construction',
      '  fix: set FLAGSYNC_DELIVERY to one of auto, sdk, exporter, collector (or leave it unset for auto)',
      '· FLAGSYNC_SDK_KEY is not set here: FlagSync and the key not checked',
      '· no OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT): not checked',
    ]);
  });
});
