/**
 * `flagsync-otel doctor`: run in the app's folder, it says what this package will do there and what stands in the
 * way. Each line is ✓ (fine), ✗ (will not work, with the fix) or · (worth knowing); any ✗ makes the exit code 1.
 * It reads the app's installed packages and environment, sends FlagSync one harmless request (an empty events batch)
 * and the OTLP endpoint an empty export, and with --collector-config checks a collector configuration's FlagSync
 * pipelines. It never prints the SDK key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { optionsOf } from '../../config/options.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../../version.js';
import type { Command } from '../command.js';

const HELP = `Usage: flagsync-otel doctor [--json] [--collector-config FILE] [--timeout-ms 5000]

Run in your app's folder, with the app's environment. Checks the OpenTelemetry JS line and the
packages found, the FlagSync SDK and whether FlagSyncInstrumentation can patch it, the delivery
setting (FLAGSYNC_DELIVERY) and where calls will go, that FlagSync is reachable and accepts
FLAGSYNC_SDK_KEY (an empty events batch to FLAGSYNC_EVENTS_URL), that the OTLP endpoint
(OTEL_EXPORTER_OTLP_ENDPOINT, _TRACES_ENDPOINT, _LOGS_ENDPOINT) answers, and with
--collector-config that a collector configuration routes traces and logs to an exporter of type
flagsync with a persistent queue. Each line is ✓, ✗ (with the fix) or ·; exit code 1 on any ✗.
--json prints the same as one JSON object.`;

type Status = 'ok' | 'fail' | 'info';

interface DoctorCheck {
  /** What the line is about: node, opentelemetry, flagsync-sdk, delivery, flagsync, otlp, collector. */
  topic: string;
  status: Status;
  text: string;
  /** For a failure: what to do. */
  fix?: string;
}

const MARK: Record<Status, string> = { ok: '✓', fail: '✗', info: '·' };

export const doctorCommand: Command = {
  name: 'doctor',
  summary: "check this folder's app setup: packages, delivery setting, FlagSync key, OTLP endpoint, collector config",
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        json: { type: 'boolean' },
        'collector-config': { type: 'string' },
        'timeout-ms': { type: 'string', default: '5000' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const timeoutMs = Number(values['timeout-ms']);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      throw new Error(`--timeout-ms must be a positive integer, got "${values['timeout-ms']}"`);
    const checks = await runDoctor({
      dir: process.cwd(),
      env: process.env,
      collectorConfig: values['collector-config'],
      timeoutMs,
    });
    const ok = checks.every((c) => c.status !== 'fail');
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ ok, dir: process.cwd(), version: PACKAGE_VERSION, checks }, null, 2)}\n`,
      );
    } else {
      const lines = [`${PACKAGE_NAME} doctor ${PACKAGE_VERSION} in ${process.cwd()}`];
      for (const check of checks) {
        lines.push(`${MARK[check.status]} ${check.text}`);
        if (check.fix) lines.push(`  fix: ${check.fix}`);
      }
      lines.push(ok ? 'No problems found.' : `${checks.filter((c) => c.status === 'fail').length} problem(s) found.`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return ok ? 0 : 1;
  },
};

interface DoctorInput {
  dir: string;
  env: NodeJS.ProcessEnv;
  collectorConfig?: string;
  timeoutMs: number;
}

async function runDoctor(input: DoctorInput): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (topic: string, status: Status, text: string, fix?: string) =>
    void checks.push(fix ? { topic, status, text, fix } : { topic, status, text });
  add('node', 'ok', `Node.js ${process.versions.node}`);
  const line = checkOpenTelemetry(input.dir, add);
  checkFlagSyncSdk(input.dir, line, add);
  const delivery = checkDelivery(input.env, add);
  await checkFlagSync(input.env, delivery, input.timeoutMs, add);
  await checkOtlp(input.env, delivery, input.timeoutMs, add);
  if (input.collectorConfig !== undefined)
    checkCollectorConfig(resolve(input.dir, input.collectorConfig), input.collectorConfig, delivery, add);
  return checks;
}

type Add = (topic: string, status: Status, text: string, fix?: string) => void;

// ---- Packages --------------------------------------------------------------------------------------------------

/** The version of `name` that Node finds from `dir` (node_modules of it and its parents), whatever its exports say. */
function installedVersion(dir: string, name: string): string | undefined {
  for (let at = resolve(dir); ; at = dirname(at)) {
    const file = join(at, 'node_modules', name, 'package.json');
    if (existsSync(file)) {
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
      } catch {
        return undefined;
      }
    }
    if (dirname(at) === at) return undefined;
  }
}

function parts(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map(Number);
  return [major, minor, patch];
}

/** Which OpenTelemetry JS line a package version belongs to (1, 2 or 3). */
function lineOf(name: string, version: string): number {
  const [major, minor] = parts(version);
  if (name === 'api') return minor >= 10 ? 3 : 2;
  if (major >= 1) return major;
  // 0.x packages: sdk-node, sdk-logs and api-logs on 2.x (0.2xx), instrumentation and the exporters (0.3xx on 3.x).
  return minor >= 300 ? 3 : minor >= 200 ? 2 : 1;
}

/** As the versions line names them: the API in full, the others after @opentelemetry/. */
const shortName = (name: string) => (name === 'api' ? '@opentelemetry/api' : name);

const OTEL_PACKAGES = ['api', 'sdk-node', 'sdk-trace-base', 'sdk-trace', 'sdk-logs', 'api-logs', 'instrumentation'];

/** The OpenTelemetry JS line found (2 or 3), or undefined. */
function checkOpenTelemetry(dir: string, add: Add): number | undefined {
  const found = OTEL_PACKAGES.map((name) => ({ name, version: installedVersion(dir, `@opentelemetry/${name}`) }))
    .filter((p): p is { name: string; version: string } => p.version !== undefined)
    .map((p) => ({ ...p, line: lineOf(p.name, p.version) }));
  const listed = found.map((p) => `${shortName(p.name)} ${p.version}`).join(', ');
  const api = found.find((p) => p.name === 'api');
  if (!api) {
    add(
      'opentelemetry',
      'fail',
      `@opentelemetry/api is not installed here${listed ? ` (found ${listed})` : ''}`,
      'run doctor in the folder of your app; install @opentelemetry/api and an OpenTelemetry JS SDK ' +
        '(2.x: npm install @opentelemetry/api@1.9 @opentelemetry/sdk-node@0.2; ' +
        '3.x: npm install @opentelemetry/api@1.10 @opentelemetry/sdk-node@0.3)',
    );
    return undefined;
  }
  if (parts(api.version)[0] !== 1 || parts(api.version)[1] < 3) {
    add(
      'opentelemetry',
      'fail',
      `@opentelemetry/api ${api.version} is not supported`,
      'use @opentelemetry/api 1.9 or 1.10',
    );
    return undefined;
  }
  const old = found.filter((p) => p.line < 2);
  if (old.length > 0) {
    add(
      'opentelemetry',
      'fail',
      `OpenTelemetry JS 1.x packages found: ${old.map((p) => `${p.name} ${p.version}`).join(', ')}`,
      'upgrade to OpenTelemetry JS 2.x or 3.x; the README lists the supported versions',
    );
    return undefined;
  }
  // api-logs belongs to 2.x only (3.x has the Logs API in @opentelemetry/api): a copy beside 3.x is unused.
  const sdks = found.filter((p) => p.name !== 'api' && p.name !== 'api-logs');
  const lines = [...new Set(sdks.map((p) => p.line))].sort();
  if (lines.length > 1) {
    const byLine = lines.map(
      (l) =>
        `${l}.x: ${sdks
          .filter((p) => p.line === l)
          .map((p) => `${p.name} ${p.version}`)
          .join(', ')}`,
    );
    add(
      'opentelemetry',
      'fail',
      `OpenTelemetry JS packages of two lines: ${byLine.join('; ')}`,
      'install every @opentelemetry package from one line (2.x or 3.x)',
    );
    return undefined;
  }
  const line = lines[0] ?? api.line;
  if (api.line !== line) {
    add(
      'opentelemetry',
      'fail',
      `@opentelemetry/api ${api.version} is for OpenTelemetry JS ${api.line}.x, the SDK packages are ${line}.x ` +
        `(${sdks.map((p) => `${p.name} ${p.version}`).join(', ')})`,
      `install the API of the SDK's line: npm install @opentelemetry/api@${line === 3 ? '1.10' : '1.9'}`,
    );
    return line;
  }
  const apiLogs = found.find((p) => p.name === 'api-logs');
  const strayLogsApi = apiLogs !== undefined && apiLogs.line !== line;
  if (strayLogsApi) {
    add(
      'opentelemetry',
      line === 3 ? 'info' : 'fail',
      `@opentelemetry/api-logs ${apiLogs.version} is of OpenTelemetry JS ${apiLogs.line}.x, the other packages of ` +
        `${line}.x${line === 3 ? ': on 3.x the Logs API is the one of @opentelemetry/api, api-logs goes unused' : ''}`,
      line === 3 ? undefined : 'install @opentelemetry/api-logs of the 2.x line (0.2xx)',
    );
    if (line !== 3) return line;
  }
  if (!sdks.some((p) => ['sdk-node', 'sdk-trace-base', 'sdk-trace'].includes(p.name))) {
    add(
      'opentelemetry',
      'fail',
      `no OpenTelemetry JS SDK here (found ${listed}): nothing records spans or log records`,
      `install one: npm install @opentelemetry/sdk-node@${line === 3 ? '0.3' : '0.2'}`,
    );
    return line;
  }
  const ofLine = found.filter((p) => !(strayLogsApi && p.name === 'api-logs'));
  add(
    'opentelemetry',
    'ok',
    `OpenTelemetry JS ${line}.x: ${ofLine.map((p) => `${shortName(p.name)} ${p.version}`).join(', ')}`,
  );
  return line;
}

const FLAGSYNC_SDKS = ['@flagsync/node-sdk', '@flagsync/js-sdk'];

function checkFlagSyncSdk(dir: string, line: number | undefined, add: Add): void {
  const sdks = FLAGSYNC_SDKS.map((name) => ({ name, version: installedVersion(dir, name) })).filter(
    (s): s is { name: string; version: string } => s.version !== undefined,
  );
  if (sdks.length === 0) {
    add(
      'flagsync-sdk',
      'fail',
      'no FlagSync SDK here (@flagsync/node-sdk or @flagsync/js-sdk): nothing to instrument',
      'npm install @flagsync/node-sdk (servers) or @flagsync/js-sdk (browsers)',
    );
    return;
  }
  const instrumentation = installedVersion(dir, '@opentelemetry/instrumentation');
  const supported = instrumentation !== undefined && lineOf('instrumentation', instrumentation) >= 2;
  for (const sdk of sdks) {
    const [major, minor] = parts(sdk.version);
    if (major !== 0 || minor < 1) {
      add(
        'flagsync-sdk',
        'fail',
        `${sdk.name} ${sdk.version}: FlagSyncInstrumentation patches versions >=0.1.0 <1 only`,
        `install a supported version (${sdk.name === '@flagsync/node-sdk' ? '0.1.x' : '0.4.x'})`,
      );
    } else if (instrumentation === undefined) {
      const range = line === 3 ? '@0.3' : line === 2 ? '@0.2' : '';
      add(
        'flagsync-sdk',
        'fail',
        `${sdk.name} ${sdk.version} found, but @opentelemetry/instrumentation is not installed: ` +
          'FlagSyncInstrumentation (flagsync-otel/instrumentation) cannot load',
        `npm install @opentelemetry/instrumentation${range}`,
      );
    } else if (!supported) {
      add(
        'flagsync-sdk',
        'fail',
        `${sdk.name} ${sdk.version} found, but @opentelemetry/instrumentation ${instrumentation} is older than ` +
          'flagsync-otel supports (>=0.200.0 <0.400.0)',
        'install @opentelemetry/instrumentation of your OpenTelemetry JS line (0.2xx or 0.3xx)',
      );
    } else {
      add(
        'flagsync-sdk',
        'ok',
        `${sdk.name} ${sdk.version}: FlagSyncInstrumentation can patch it ` +
          `(@opentelemetry/instrumentation ${instrumentation})`,
      );
    }
  }
  const pkg = readJson(join(dir, 'package.json'));
  if (pkg?.type === 'module') {
    add(
      'flagsync-sdk',
      'info',
      'ES module app ("type": "module"): FlagSyncInstrumentation patches imports only with the loader hook ' +
        "registered first (node --import ./register-hook.mjs, registering '@opentelemetry/instrumentation/hook.mjs')",
    );
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

// ---- Delivery ---------------------------------------------------------------------------------------------------

type Delivery = 'auto' | 'sdk' | 'exporter' | 'collector';

function checkDelivery(env: NodeJS.ProcessEnv, add: Add): Delivery | undefined {
  const spec = optionsOf('instrumentation').find((o) => o.name === 'delivery')!;
  const valid = spec.values!;
  const raw = env.FLAGSYNC_DELIVERY;
  if (raw !== undefined && raw !== '' && !valid.includes(raw)) {
    add(
      'delivery',
      'fail',
      `FLAGSYNC_DELIVERY=${JSON.stringify(raw)} is not a delivery setting: the instrumentation throws at construction`,
      `set FLAGSYNC_DELIVERY to one of ${valid.join(', ')} (or leave it unset for auto)`,
    );
    return undefined;
  }
  const delivery = (raw || 'auto') as Delivery;
  const shown = raw ? `FLAGSYNC_DELIVERY=${raw}` : 'FLAGSYNC_DELIVERY unset (auto)';
  const where: Record<Delivery, string> = {
    auto:
      "this process's FlagSync exporters deliver calls while one runs for the call's signal, else the FlagSync SDK; " +
      'a collector is never assumed',
    sdk: 'the FlagSync SDK delivers every call; the OpenTelemetry events are telemetry only',
    exporter:
      "this process's FlagSyncSpanExporter/FlagSyncLogRecordExporter deliver calls; a call without FlagSync's 2xx " +
      'goes back to the SDK',
    collector:
      "a collector with the flagsync exporter delivers calls, receipted by this app's OTLP export; a failed export " +
      'gives them back to the SDK',
  };
  add('delivery', 'ok', `${shown}: ${where[delivery]}`);
  return delivery;
}

// ---- FlagSync ---------------------------------------------------------------------------------------------------

const DEFAULT_EVENTS_URL = 'https://sdk.flagsync.com';

function describeError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((error as { name?: string }).name === 'TimeoutError') return 'timed out';
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

async function checkFlagSync(
  env: NodeJS.ProcessEnv,
  delivery: Delivery | undefined,
  timeoutMs: number,
  add: Add,
): Promise<void> {
  const key = env.FLAGSYNC_SDK_KEY;
  const rawUrl = env.FLAGSYNC_EVENTS_URL || DEFAULT_EVENTS_URL;
  let base: URL;
  try {
    base = new URL(rawUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    add(
      'flagsync',
      'fail',
      `FLAGSYNC_EVENTS_URL=${JSON.stringify(rawUrl)} is not an http(s) URL`,
      `set it to FlagSync's base URL (default ${DEFAULT_EVENTS_URL}) or unset it`,
    );
    return;
  }
  const url = base.href.replace(/\/+$/, '');
  if (!key) {
    if (delivery === 'exporter') {
      add(
        'flagsync',
        'fail',
        "FLAGSYNC_SDK_KEY is not set: this process's FlagSync exporters need it (FLAGSYNC_DELIVERY=exporter)",
        'set FLAGSYNC_SDK_KEY to your FlagSync server SDK key (or pass { sdkKey } to the exporters)',
      );
    } else {
      add('flagsync', 'info', 'FLAGSYNC_SDK_KEY is not set here: FlagSync and the key not checked');
    }
    return;
  }
  const redact = (text: string) => text.split(key).join('[REDACTED]');
  let status: number;
  try {
    const response = await fetch(`${url}/track/events/server`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ridgeline-key': key },
      body: JSON.stringify({ events: [], sdkContext: { sdkName: PACKAGE_NAME, sdkVersion: PACKAGE_VERSION } }),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    await response.body?.cancel();
  } catch (error) {
    add(
      'flagsync',
      'fail',
      `FlagSync at ${url} is unreachable (${redact(describeError(error))})`,
      `check FLAGSYNC_EVENTS_URL (default ${DEFAULT_EVENTS_URL}), DNS, proxies and firewalls from this machine`,
    );
    return;
  }
  const asked = 'POST /track/events/server with no events';
  if (status >= 200 && status < 300) {
    add('flagsync', 'ok', `FlagSync at ${url} accepted the SDK key (${asked}: ${status})`);
  } else if (status === 401 || status === 403) {
    add(
      'flagsync',
      'fail',
      `FlagSync at ${url} refused the SDK key (${asked}: ${status})`,
      "set FLAGSYNC_SDK_KEY to the server SDK key of this app's FlagSync environment",
    );
  } else if (status === 404 || status === 405 || (status >= 300 && status < 400)) {
    add(
      'flagsync',
      'fail',
      `FlagSync at ${url} answered ${status} (${asked}): not FlagSync's track API`,
      `set FLAGSYNC_EVENTS_URL to FlagSync's base URL, without a path (default ${DEFAULT_EVENTS_URL})`,
    );
  } else {
    add(
      'flagsync',
      'fail',
      `FlagSync at ${url} answered ${status} (${asked})`,
      status >= 500 || status === 429
        ? 'FlagSync is failing or throttling: try again later; the exporters retry meanwhile'
        : 'check FLAGSYNC_EVENTS_URL and any proxy in between',
    );
  }
}

// ---- OTLP -------------------------------------------------------------------------------------------------------

interface OtlpTarget {
  signal: 'traces' | 'logs';
  url: string;
  protocol: string;
  /** The variable the URL came from; undefined for the OTLP exporters' default. */
  source: string | undefined;
}

function otlpTargets(env: NodeJS.ProcessEnv, delivery: Delivery | undefined): OtlpTarget[] {
  const targets: OtlpTarget[] = [];
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  for (const signal of ['traces', 'logs'] as const) {
    const upper = signal.toUpperCase();
    const protocol = env[`OTEL_EXPORTER_OTLP_${upper}_PROTOCOL`] || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
    const own = env[`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`];
    if (own) targets.push({ signal, url: own, protocol, source: `OTEL_EXPORTER_OTLP_${upper}_ENDPOINT` });
    else if (base) {
      const url = protocol === 'grpc' ? base : `${base.replace(/\/+$/, '')}/v1/${signal}`;
      targets.push({ signal, url, protocol, source: 'OTEL_EXPORTER_OTLP_ENDPOINT' });
    } else if (delivery === 'collector') {
      const url = protocol === 'grpc' ? 'http://localhost:4317' : `http://localhost:4318/v1/${signal}`;
      targets.push({ signal, url, protocol, source: undefined });
    }
  }
  return targets;
}

async function checkOtlp(
  env: NodeJS.ProcessEnv,
  delivery: Delivery | undefined,
  timeoutMs: number,
  add: Add,
): Promise<void> {
  const targets = otlpTargets(env, delivery);
  if (targets.length === 0) {
    add('otlp', 'info', 'no OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT): not checked');
    return;
  }
  // The same URL for both signals (grpc) is checked once.
  const seen = new Map<string, OtlpTarget[]>();
  for (const t of targets) seen.set(`${t.protocol} ${t.url}`, [...(seen.get(`${t.protocol} ${t.url}`) ?? []), t]);
  for (const group of seen.values()) {
    const { url, protocol, source } = group[0]!;
    const from = source ?? "the OTLP exporters' default; OTEL_EXPORTER_OTLP_ENDPOINT is not set";
    const what = `OTLP endpoint ${url} (${group.map((t) => t.signal).join(', ')}, ${protocol}, from ${from})`;
    const variable = source ?? 'OTEL_EXPORTER_OTLP_ENDPOINT';
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      add('otlp', 'fail', `${what} is not a URL`, `set ${variable} to the collector's URL, e.g. http://localhost:4318`);
      continue;
    }
    const problem =
      protocol === 'grpc' ? await tcpProblem(target, timeoutMs) : await httpProblem(target, protocol, timeoutMs);
    if (problem === undefined) {
      add('otlp', 'ok', `${what} answers`);
    } else if (problem.kind === 'unreachable') {
      add(
        'otlp',
        'fail',
        `${what} is unreachable (${problem.detail})`,
        `start the collector, or set ${variable} to where it listens` +
          (delivery === 'collector' ? '; until then every call goes back to the FlagSync SDK' : ''),
      );
    } else {
      add(
        'otlp',
        'fail',
        `${what} answered ${problem.detail}`,
        `set ${variable} to the collector's OTLP/HTTP base URL (e.g. http://localhost:4318; ` +
          'the signal endpoints take the full path, /v1/traces, /v1/logs)',
      );
    }
  }
}

type Problem = { kind: 'unreachable' | 'answer'; detail: string } | undefined;

/** An empty export request: valid OTLP that carries nothing. */
async function httpProblem(url: URL, protocol: string, timeoutMs: number): Promise<Problem> {
  const json = protocol === 'http/json';
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': json ? 'application/json' : 'application/x-protobuf' },
      body: json ? '{}' : new Uint8Array(0),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return undefined;
    return { kind: 'answer', detail: `HTTP ${response.status} to an empty export` };
  } catch (error) {
    return { kind: 'unreachable', detail: describeError(error) };
  }
}

async function tcpProblem(url: URL, timeoutMs: number): Promise<Problem> {
  const { connect } = await import('node:net');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((done) => {
    const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      done(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      done({ kind: 'unreachable', detail: 'timed out' });
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done({ kind: 'unreachable', detail: error.code ?? 'error' }),
    );
  });
}

// ---- Collector configuration --------------------------------------------------------------------------------------

type Yaml = Record<string, unknown>;

const isMap = (value: unknown): value is Yaml => typeof value === 'object' && value !== null && !Array.isArray(value);
const typeOf = (id: string) => id.split('/')[0]!;
const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

function checkCollectorConfig(file: string, name: string, delivery: Delivery | undefined, add: Add): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    add(
      'collector',
      'fail',
      `${name}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      'give the path (from this folder) of the configuration file the collector runs with',
    );
    return;
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0] ? `line ${first.linePos[0].line}: ` : '';
    add(
      'collector',
      'fail',
      `${name}: not valid YAML (${where}${first.message.split('\n')[0]})`,
      'fix the YAML; the collector refuses it too',
    );
    return;
  }
  const config = doc.toJS() as unknown;
  const root = isMap(config) ? config : {};
  const exporters = isMap(root.exporters) ? root.exporters : {};
  const service = isMap(root.service) ? root.service : {};
  const pipelines = isMap(service.pipelines) ? service.pipelines : {};
  const flagsyncExporters = Object.keys(exporters).filter((id) => typeOf(id) === 'flagsync');
  const example = 'collector-config.yaml in the flagsync-otel package';
  if (flagsyncExporters.length === 0) {
    add(
      'collector',
      'fail',
      `${name}: no exporter of type flagsync: this collector delivers nothing to FlagSync`,
      `add the flagsync exporter and the traces/flagsync and logs/flagsync pipelines of ${example} ` +
        '(a collector built with collector/manifest.yaml); on a stock image forward to the FlagSync gateway ' +
        '(collector-config.stock-to-gateway.yaml)',
    );
    if (delivery === 'collector') {
      add(
        'collector',
        'fail',
        'FLAGSYNC_DELIVERY=collector, but this collector does not deliver to FlagSync: its receipts would lose calls',
        'unset FLAGSYNC_DELIVERY until the collector has the FlagSync pipelines',
      );
    }
    return;
  }
  // Pipelines per signal that end at a flagsync exporter.
  const routed: Record<'traces' | 'logs', string[]> = { traces: [], logs: [] };
  const batched: string[] = [];
  for (const [id, value] of Object.entries(pipelines)) {
    const pipeline = isMap(value) ? value : {};
    const signal = typeOf(id);
    if (signal !== 'traces' && signal !== 'logs') continue;
    if (!list(pipeline.exporters).some((e) => flagsyncExporters.includes(e))) continue;
    routed[signal].push(id);
    if (list(pipeline.processors).some((p) => typeOf(p) === 'batch')) batched.push(id);
  }
  const exportersText = flagsyncExporters.join(', ');
  if (routed.traces.length > 0 && routed.logs.length > 0) {
    add(
      'collector',
      'ok',
      `${name}: pipelines ${[...routed.traces, ...routed.logs].join(', ')} export to ${exportersText}`,
    );
  } else {
    const missing = (['traces', 'logs'] as const).filter((s) => routed[s].length === 0);
    const why =
      missing.length === 2
        ? 'no pipeline exports to it'
        : missing[0] === 'logs'
          ? 'no logs pipeline exports to it: calls recorded as log events (outside sampled spans) would not ' +
            'be delivered'
          : 'no traces pipeline exports to it: calls recorded as span events would not be delivered';
    add(
      'collector',
      'fail',
      `${name}: exporter ${exportersText} is defined, but ${why}`,
      `add ${missing.map((s) => `a ${s}/flagsync pipeline`).join(' and ')} with exporters: [${flagsyncExporters[0]}] ` +
        `(see ${example})`,
    );
  }
  const extensions = isMap(root.extensions) ? root.extensions : {};
  const enabled = list(service.extensions);
  for (const id of flagsyncExporters) {
    const exporter = isMap(exporters[id]) ? exporters[id] : {};
    const queue = isMap(exporter.sending_queue) ? exporter.sending_queue : undefined;
    const storage = queue && typeof queue.storage === 'string' ? queue.storage : undefined;
    const fix =
      'add a file_storage extension (on a volume), list it in service.extensions, and set ' +
      `exporters.${id}.sending_queue.storage to it (see ${example})`;
    if (queue?.enabled === false) {
      add('collector', 'fail', `${name}: exporter ${id} has its sending_queue disabled: no queue, no persistence`, fix);
    } else if (!storage) {
      add(
        'collector',
        'fail',
        `${name}: exporter ${id} has no persistent queue (sending_queue.storage): ` +
          'what FlagSync has not accepted is lost when the collector restarts',
        fix,
      );
    } else if (!(storage in extensions) || !enabled.includes(storage)) {
      add(
        'collector',
        'fail',
        `${name}: exporter ${id} queues in storage ${storage}, which is not ` +
          `${storage in extensions ? 'listed in service.extensions' : 'defined under extensions'}`,
        fix,
      );
    } else {
      add('collector', 'ok', `${name}: exporter ${id} has a persistent queue (sending_queue.storage: ${storage})`);
    }
  }
  if (batched.length > 0) {
    add(
      'collector',
      'info',
      `${name}: a batch processor runs in front of the flagsync exporter in ${batched.join(', ')}: the collector ` +
        'answers the app before the persistent queue has the data, so a collector crash loses what batch holds; ' +
        'leave batch out of the FlagSync pipelines if that matters',
    );
  }
  if (delivery !== 'collector' && delivery !== undefined) {
    add(
      'collector',
      'info',
      `this collector delivers to FlagSync, but the app's delivery setting is ${delivery}: the flagsync exporter ` +
        'skips events marked sdk or exporter; set FLAGSYNC_DELIVERY=collector in the app to have the collector deliver',
    );
  }
}
