// Child processes for the whole-process benchmarks.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CLI = join(ROOT, 'dist/cli/main.js');

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Start a Node child; resolves with its first stdout line once it prints one. */
export function startNode(args, env = {}) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const lines = [];
  child.stdout.on('data', (c) => {
    out += c.toString();
    const parts = out.split('\n');
    out = parts.pop();
    lines.push(...parts);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const first = new Promise((resolve, reject) => {
    const check = setInterval(() => {
      if (lines.length > 0) {
        clearInterval(check);
        resolve(lines[0]);
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(check);
      if (lines.length === 0) reject(new Error(`${args.join(' ')} exited ${code}`));
    });
  });
  return { child, first, lines, exited, last: () => lines[lines.length - 1] };
}

export function collectorBinary() {
  return execFileSync('bash', [join(ROOT, 'scripts/build-collector.sh')], { encoding: 'utf8' }).trim();
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * The built collector running one of the repo's configurations (`collector-config.yaml`,
 * `collector-config.gateway.yaml`, `collector-config.stock-to-gateway.yaml`) with endpoints from `env`; resolves once its health check
 * answers. The normal pipelines' backend is a sink of the caller's choosing. `binary`: another build.
 */
export async function startCollector(config, env, binary = collectorBinary()) {
  const [http, grpc, health, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const child = spawn(binary, ['--config', config.startsWith('/') ? config : join(ROOT, config)], {
    env: {
      PATH: process.env.PATH,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
      OTELCOL_METRICS_PORT: String(metrics),
      ...env,
    },
    stdio: 'ignore',
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${health}/`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url: `http://127.0.0.1:${http}`, metricsUrl: `http://127.0.0.1:${metrics}/metrics` };
}

/** User+system CPU seconds of a process so far, from /proc (USER_HZ 100). */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory of a process now, MiB. */
export function rssMiB(pid) {
  const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
  return (pages * 4096) / 2 ** 20;
}
