/**
 * `flagsync-otel doctor` on Node.js 24 (issue 21: "It works on both OTel lines, on Node 22 and 24"): Node 24 from the
 * npm registry (the `node` package, installed into the fixture cache, test/compat/node-24), running each line's
 * fixture app's own bin in a scratch folder of its own. A correct in-process setup gives only ✓ lines and rc 0; a
 * wrong key and an OTLP endpoint nobody listens on give the ✗ lines with their fixes and rc 1.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import { freePort } from '../utils/processes.js';

const NODE_24 = '24.21.0';
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

let node24: string;
const dirs: Record<string, string> = {};
let standIn: StandIn;
let sink: OtlpSink;
let closedPort: number;
let scratch: string;

beforeAll(async () => {
  [standIn, sink, closedPort] = await Promise.all([startStandIn(), startOtlpSink(), freePort()]);
  scratch = mkdtempSync(join(tmpdir(), 'flagsync-doctor-24-'));
  const [nodeDir] = await Promise.all([
    installFixture('node-24', { tarball: false }),
    // Each app in a folder of its own, so that nothing above it (the repository's node_modules) is found.
    ...LINES.map(async ({ name }) => {
      const fixture = await installFixture(name);
      const app = join(scratch, name);
      mkdirSync(app);
      cpSync(join(fixture, 'package.json'), join(app, 'package.json'));
      symlinkSync(join(fixture, 'node_modules'), join(app, 'node_modules'));
      dirs[name] = app;
    }),
  ]);
  node24 = join(nodeDir!, 'node_modules/node/bin/node');
}, 900_000);

afterAll(async () => {
  await Promise.all([standIn?.close(), sink?.close()]);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

type Outcome = { code: number; stdout: string; stderr: string };

/** The app's own `flagsync-otel doctor` on Node 24, with only the given environment (and Node 24 first on PATH). */
function doctor(dir: string, vars: Record<string, string>): Promise<Outcome> {
  const env = { PATH: `${dirname(node24)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '', ...vars };
  const bin = join(dir, 'node_modules/.bin/flagsync-otel');
  return new Promise((resolve) => {
    execFile(node24, [bin, 'doctor'], { cwd: dir, env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe.each(LINES)('flagsync-otel doctor on Node 24 in the $name app', ({ name, packages, instrumentation }) => {
  const head = () => [`flagsync-otel doctor 0.1.0 in ${dirs[name]}`, `✓ Node.js ${NODE_24}`, `✓ ${packages}`];
  const sdkLine = `✓ @flagsync/node-sdk 0.1.1: FlagSyncInstrumentation can patch it (@opentelemetry/instrumentation ${instrumentation})`;
  const exporterLine =
    "✓ FLAGSYNC_DELIVERY=exporter: this process's FlagSyncSpanExporter/FlagSyncLogRecordExporter deliver calls; a " +
    "call without FlagSync's 2xx goes back to the SDK";

  it('a correct in-process setup: every line ✓, rc 0', async () => {
    const result = await doctor(dirs[name]!, {
      FLAGSYNC_DELIVERY: 'exporter',
      FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
      FLAGSYNC_EVENTS_URL: standIn.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    });
    expect(result).toEqual({
      code: 0,
      stdout: [
        ...head(),
        sdkLine,
        exporterLine,
        `✓ FlagSync at ${standIn.url} accepted the SDK key (POST /track/events/server with no events: 201)`,
        `✓ OTLP endpoint ${sink.url}/v1/traces (traces, http/protobuf, from OTEL_EXPORTER_OTLP_ENDPOINT) answers`,
        `✓ OTLP endpoint ${sink.url}/v1/logs (logs, http/protobuf, from OTEL_EXPORTER_OTLP_ENDPOINT) answers`,
        'No problems found.',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('a wrong key and an OTLP endpoint nobody listens on: the ✗ lines with their fixes, rc 1', async () => {
    const otlp = `http://127.0.0.1:${closedPort}`;
    const result = await doctor(dirs[name]!, {
      FLAGSYNC_DELIVERY: 'exporter',
      FLAGSYNC_SDK_KEY: 'wrong-key-0123456789',
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
  });
});
