/** The built CLI, end to end as a user runs it. */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

describe('flagsync-otel CLI', () => {
  it('demo (as npm run demo runs it): every call reaches the stand-in exactly once, the derived metric one per sampled visit, and the report shows each variant', async () => {
    // 60 visitors: node-sdk's queue fills (50) inside a flag() call, which the guard must still hold back.
    const { stdout } = await run(process.execPath, [cli, 'demo'], { timeout: 60_000 });
    expect(stdout).toContain('flag() calls: 60 -> impressions received: 60');
    expect(stdout).toMatch(
      /register_server_ms derived from server spans \(no track\(\) call\): (\d+) events, one per sampled visit \(\1\)/,
    );
    expect(stdout).toContain('avg register_server_ms (derived)');
    expect(stdout).toMatch(/track\(\) calls: (\d+) -> events received: \1\n/);
    for (const variant of ['"Register"', '"Join Now"', '"Sign Up"']) expect(stdout).toContain(variant);
    // The variant split from the evaluation counter, beside the impressions of each variant: the same counts.
    const split = [
      ...stdout.matchAll(/^ {2}register-button-copy {2}(Register|Join Now|Sign Up) +split +(\d+) +\d+% +(\d+)$/gm),
    ];
    expect(split.map((m) => m[1])).toEqual(['Join Now', 'Register', 'Sign Up']);
    expect(split.every((m) => m[2] === m[3])).toBe(true);
    expect(split.reduce((n, m) => n + Number(m[2]), 0)).toBe(60);
    expect(stdout).toMatch(/a sample: each carries sampling\.probability; weighted by 1\/p they stand for \d+ visits/);
    expect(stdout).toContain('senders seen by FlagSync: flagsync-otel@0.1.0;');
    expect(stdout).toContain('OK: every call reached FlagSync exactly once.');
  });

  it('standin: serves until SIGTERM, validates keys, and reports what it received', async () => {
    const child = spawn(process.execPath, [cli, 'standin', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.on('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const body = JSON.stringify({
      events: [{ context: { key: 'u' }, eventKey: 'e', timestamp: '2026-11-25T10:00:00.000Z' }],
      sdkContext: { sdkName: 'x', sdkVersion: '1' },
    });
    const bad = await fetch(`${url}/track/events/server`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ridgeline-key': 'nope' },
      body,
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({
      errorCode: 'INVALID_SDK_KEY',
      message: 'Invalid SDK key',
      statusCode: 401,
      path: '/track/events/server',
    });
    const good = await fetch(`${url}/track/events/server`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ridgeline-key': 'standin-sdk-key' },
      body,
    });
    expect(good.status).toBe(201);
    const received = (await (await fetch(`${url}/__standin/received`)).json()) as { events: unknown[] };
    expect(received.events).toEqual([{ context: { key: 'u' }, eventKey: 'e', timestamp: '2026-11-25T10:00:00.000Z' }]);
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(stderr).toContain('received 0 impressions and 1 events; 1 requests rejected');
  });

  it('an older Node gets one line saying which Node is needed', async () => {
    // The machine's own Node, where it is older than the one this package needs (else: a Node we pretend is older).
    const older = ['/usr/bin/node', '/usr/local/bin/node'].find(
      (path) =>
        existsSync(path) && Number(execFileSync(path, ['-p', 'process.versions.node.split(".")[0]']).toString()) < 22,
    );
    const bin = fileURLToPath(new URL('../../bin/flagsync-otel.cjs', import.meta.url));
    const args = older
      ? [bin, '--help']
      : ['--require', fileURLToPath(new URL('../fixtures/pretend-node-20.cjs', import.meta.url)), bin, '--help'];
    const failure = await run(older ?? process.execPath, args).catch(
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failure).toMatchObject({ code: 1, stdout: '' });
    expect((failure as { stderr: string }).stderr).toMatch(
      /^flagsync-otel: needs Node\.js >= 22\.19\.0 \(this is v\d+\.\d+\.\d+\)\n$/,
    );
  });

  it('unknown commands: one line, then the help, rc 2', async () => {
    const help = (await run(process.execPath, [cli, '--help'])).stdout;
    await expect(run(process.execPath, [cli, 'nope'])).rejects.toMatchObject({
      code: 2,
      stdout: '',
      stderr: `flagsync-otel: unknown command "nope"\n\n${help}`,
    });
  });

  it('help, --help and -h: rc 0, every command with its one-line description; help <command> gives its own', async () => {
    const outputs = await Promise.all(['help', '--help', '-h'].map((arg) => run(process.execPath, [cli, arg])));
    for (const { stdout, stderr } of outputs) {
      expect(stderr).toBe('');
      expect(stdout).toBe(outputs[0]!.stdout);
    }
    const help = outputs[0]!.stdout;
    expect(help).toMatch(/^Usage: flagsync-otel <command> \[options\]\n/);
    expect(help).toContain(
      '  demo       run an instrumented example app against the built-in FlagSync stand-in and show what arrived\n',
    );
    expect(help).toContain('  standin    run a local FlagSync stand-in (for trials and tests, no network needed)\n');
    expect(help).toContain('  --version, -v  print the version of flagsync-otel\n');
    const standinHelp = await run(process.execPath, [cli, 'help', 'standin']);
    expect(standinHelp.stdout).toMatch(/^Usage: flagsync-otel standin /);
  });

  it('--version and -v print the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const arg of ['--version', '-v']) {
      const { stdout, stderr } = await run(process.execPath, [cli, arg]);
      expect({ stdout, stderr }).toEqual({ stdout: `${version}\n`, stderr: '' });
    }
  });
});
