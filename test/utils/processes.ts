/** Real processes for end-to-end tests: the built collector and the flagsync-otel service. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Path of the test collector; builds it once (cached) with scripts/build-collector.sh. */
export function collectorBinary(): string {
  return execFileSync('bash', [join(ROOT, 'scripts/build-collector.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export interface Collector {
  otlpHttp: string;
  queueDir: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** The repo's collector-config.yaml, unchanged; endpoints and the queue path come from env. */
export async function startCollector(env: { serviceEndpoint: string; backendEndpoint: string; queueDir?: string; token?: string }): Promise<Collector> {
  const [http, grpc, health, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const queueDir = env.queueDir ?? mkdtempSync(join(tmpdir(), 'flagsync-queue-'));
  const child = spawn(collectorBinary(), ['--config', join(ROOT, 'collector-config.yaml')], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
      OTELCOL_METRICS_PORT: String(metrics),
      OTEL_BACKEND_ENDPOINT: env.backendEndpoint,
      FLAGSYNC_SERVICE_ENDPOINT: env.serviceEndpoint,
      FLAGSYNC_SERVICE_BEARER_TOKEN: env.token ?? '',
      FLAGSYNC_QUEUE_DIR: queueDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${health}/`)).ok, 30_000, `collector health (output: ${output.slice(-2000)})`);
  return {
    otlpHttp: `http://127.0.0.1:${http}`,
    queueDir,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface ServiceProcess {
  url: string;
  process: ChildProcess;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `flagsync-otel serve` from the build, as an operator runs it. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (c: Buffer) => resolve(c.toString().trim()));
    child.once('exit', (code) => reject(new Error(`service exited ${code}: ${stderr}`)));
  });
  return {
    url,
    process: child,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
