// Child processes for the whole-process benchmarks.
import { spawn, execFileSync } from 'node:child_process';
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
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
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
