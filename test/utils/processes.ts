/** Real processes for end-to-end tests: the collector built from collector/manifest.yaml. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  /** True once waiting longer cannot help (the process waited for has exited). */
  hopeless: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (hopeless()) throw new Error(`gave up waiting for ${what}: it cannot happen any more`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Path of the test collector; builds it once (cached) with scripts/build-collector.sh. */
function collectorBinary(): string {
  return execFileSync('bash', [join(ROOT, 'scripts/build-collector.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

export interface Collector {
  otlpHttp: string;
  /** host:port of the OTLP/gRPC receiver. */
  otlpGrpc: string;
  /** The collector's own metrics (Prometheus text). */
  metricsUrl: string;
  queueDir: string;
  process: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export type CollectorOptions = {
  queueDir?: string;
  /** The OTLP/HTTP port (a restarted collector keeps its address); default a free one. */
  otlpHttpPort?: number;
  /** An edit a user would make to the file (the test asserts it applied). */
  editConfig?: (yaml: string) => string;
  /** More configuration files the collector merges over it, in order (`--config` each). */
  moreConfigs?: string[];
} & (
  | {
      /** collector-config.yaml: the flagsync exporter delivers to FlagSync. */ flagsyncEndpoint: string;
      sdkKey: string;
      backendEndpoint: string;
      configErrorRetryDelay?: string;
      /** derived_events rules (snake_case), passed as FLAGSYNC_DERIVED_EVENTS. */
      derivedEvents?: unknown[];
      /** collector-config.gateway.yaml instead: FlagSync only, senders need `token`. */
      gateway?: { token: string };
    }
  | {
      /** collector-config.stock-to-gateway.yaml: otlp_http to the gateway. */ gatewayEndpoint: string;
      token: string;
      backendEndpoint: string;
    }
);

const CONFIGS = {
  component: 'collector-config.yaml',
  gateway: 'collector-config.gateway.yaml',
  stock: 'collector-config.stock-to-gateway.yaml',
};

/** The environment each configuration reads, from the options. */
function configEnv(options: CollectorOptions): [keyof typeof CONFIGS, Record<string, string>] {
  if ('gatewayEndpoint' in options)
    return [
      'stock',
      {
        OTEL_BACKEND_ENDPOINT: options.backendEndpoint,
        FLAGSYNC_GATEWAY_ENDPOINT: options.gatewayEndpoint,
        FLAGSYNC_GATEWAY_BEARER_TOKEN: options.token,
      },
    ];
  const flagsync = {
    FLAGSYNC_ENDPOINT: options.flagsyncEndpoint,
    FLAGSYNC_SDK_KEY: options.sdkKey,
    FLAGSYNC_CONFIG_ERROR_RETRY_DELAY: options.configErrorRetryDelay ?? '30s',
    ...(options.derivedEvents ? { FLAGSYNC_DERIVED_EVENTS: JSON.stringify(options.derivedEvents) } : {}),
  };
  if (options.gateway) return ['gateway', { ...flagsync, FLAGSYNC_GATEWAY_BEARER_TOKEN: options.gateway.token }];
  return ['component', { ...flagsync, OTEL_BACKEND_ENDPOINT: options.backendEndpoint }];
}

/**
 * The repo's collector-config.yaml, collector-config.gateway.yaml or
 * collector-config.stock-to-gateway.yaml, unchanged; endpoints and the queue path come from env.
 */
export async function startCollector(options: CollectorOptions): Promise<Collector> {
  // Free ports are picked before the collector binds them: another process of the run may take one
  // meanwhile. Such a start fails at once ("address already in use"); it is tried again on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCollectorOnce(options);
    } catch (error) {
      if (attempt === 3 || !String(error).includes('address already in use')) throw error;
    }
  }
}

async function startCollectorOnce(options: CollectorOptions): Promise<Collector> {
  const [http, grpc, health, metrics] = [
    options.otlpHttpPort ?? (await freePort()),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const queueDir = options.queueDir ?? mkdtempSync(join(tmpdir(), 'flagsync-queue-'));
  const [kind, env] = configEnv(options);
  let config = join(ROOT, CONFIGS[kind]);
  if (options.editConfig) {
    const original = readFileSync(config, 'utf8');
    const edited = options.editConfig(original);
    if (edited === original) throw new Error('editConfig changed nothing');
    config = join(queueDir, '..', `${basename(queueDir)}.yaml`);
    writeFileSync(config, edited);
  }
  const configs = [config, ...(options.moreConfigs ?? [])].flatMap((file) => ['--config', file]);
  const child = spawn(collectorBinary(), configs, {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
      OTELCOL_METRICS_PORT: String(metrics),
      [kind === 'stock' ? 'FLAGSYNC_FORWARD_QUEUE_DIR' : 'FLAGSYNC_QUEUE_DIR']: queueDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error('exited');
        return (await fetch(`http://127.0.0.1:${health}/`)).ok;
      },
      60_000,
      'collector health',
      () => child.exitCode !== null,
    );
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    // The output as it is now, not as it was when the wait began.
    throw new Error(`${(error as Error).message}; collector output: ${output.slice(-2000)}`);
  }
  return {
    otlpHttp: `http://127.0.0.1:${http}`,
    otlpGrpc: `127.0.0.1:${grpc}`,
    metricsUrl: `http://127.0.0.1:${metrics}/metrics`,
    queueDir,
    process: child,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** A counter or gauge from Prometheus text: the sum of its samples whose labels contain `labels`. */
export async function metricValue(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(url)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const [series, value] = line.split(/\s+/);
    if ((series === name || series!.startsWith(`${name}{`)) && series!.includes(labels)) total += Number(value);
  }
  return total;
}
