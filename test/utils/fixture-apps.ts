/**
 * Fixture apps installed the way a user's project gets this package: the fixture's own
 * package.json and lockfile (`npm ci`), then the packed tarball of this build (`npm install`).
 * Installs are cached under .cache/fixtures/, keyed by the fixture's manifest and lockfile; the
 * tarball is reinstalled whenever the build changes.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './processes.js';

const run = promisify(execFile);
const FIXTURES = join(ROOT, 'test/compat');
const CACHE = join(ROOT, '.cache/fixtures');
const PACK = join(ROOT, '.cache/pack');

let packing: Promise<string> | undefined;

/** The tarball `npm pack` makes of the current build (dist/ must be built). Packed once per build. */
function packedTarball(): Promise<string> {
  packing ??= pack();
  return packing;
}

async function pack(): Promise<string> {
  const stamp = hashFiles(join(ROOT, 'dist'), join(ROOT, 'package.json'), join(ROOT, 'bin'));
  const tarball = join(PACK, `flagsync-otel-${stamp}.tgz`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(PACK, { recursive: true });
  // Earlier builds' tarballs are of no further use.
  for (const old of readdirSync(PACK)) if (old.endsWith('.tgz')) rmSync(join(PACK, old), { force: true });
  const work = join(PACK, `work-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const { filename } = (JSON.parse(stdout) as { filename: string }[])[0]!;
  // Rename into place: a concurrent test file packing the same build gets the same bytes.
  cpSync(join(work, filename), `${tarball}.${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  try {
    writeFileSync(tarball, readFileSync(`${tarball}.${process.pid}`), { flag: 'wx' });
  } catch {
    // another test file won the race
  }
  rmSync(`${tarball}.${process.pid}`, { force: true });
  return tarball;
}

/**
 * Install fixture `name` (a directory of test/compat with package.json and package-lock.json),
 * copy the shared app files next to it, and install this package's tarball (unless `tarball: false`, for a fixture
 * that only brings a tool, such as Node 24). Returns its directory.
 */
export async function installFixture(
  name: string,
  options: { sharedFiles?: string; tarball?: boolean } = { sharedFiles: 'app' },
): Promise<string> {
  const source = join(FIXTURES, name);
  const dir = join(CACHE, name);
  const lockStamp = hashFiles(join(source, 'package.json'), join(source, 'package-lock.json'), join(source, '.npmrc'));
  const stampFile = join(dir, '.installed');
  const installed = existsSync(stampFile)
    ? (JSON.parse(readFileSync(stampFile, 'utf8')) as { lock?: string; tarball?: string })
    : {};
  if (installed.lock !== lockStamp) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    cpSync(join(source, 'package.json'), join(dir, 'package.json'));
    cpSync(join(source, 'package-lock.json'), join(dir, 'package-lock.json'));
    if (existsSync(join(source, '.npmrc'))) cpSync(join(source, '.npmrc'), join(dir, '.npmrc'));
    await npm(dir, ['ci']);
    installed.lock = lockStamp;
    installed.tarball = undefined;
    writeFileSync(stampFile, JSON.stringify(installed));
  }
  // App files: the fixture's own, and the shared ones (refreshed every run; they are not installed).
  for (const from of [options.sharedFiles ? join(FIXTURES, options.sharedFiles) : undefined, source]) {
    if (!from) continue;
    for (const file of readdirSync(from))
      if (!file.startsWith('package') && file !== '.npmrc')
        cpSync(join(from, file), join(dir, file), { recursive: true });
  }
  if (options.tarball === false) return dir;
  const tarball = await packedTarball();
  if (installed.tarball !== tarball) {
    // As a user would: `npm install flagsync-otel` into the existing project (here without saving,
    // so the fixture's lockfile stays the one in the repository).
    await npm(dir, ['install', '--no-save', tarball]);
    installed.tarball = tarball;
    writeFileSync(stampFile, JSON.stringify(installed));
  }
  return dir;
}

async function npm(cwd: string, args: string[]): Promise<void> {
  try {
    await run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 600_000,
    });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`npm ${args.join(' ')} in ${cwd} failed:\n${stderr ?? ''}${stdout ?? ''}`);
  }
}

function hashFiles(...paths: string[]): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    if (!existsSync(path)) return;
    const entries = readdirSafe(path);
    if (entries === undefined) {
      hash.update(path.slice(ROOT.length)).update(readFileSync(path));
      return;
    }
    for (const entry of entries.sort()) walk(join(path, entry));
  };
  for (const path of paths) walk(path);
  return hash.digest('hex').slice(0, 16);
}

function readdirSafe(path: string): string[] | undefined {
  try {
    return readdirSync(path);
  } catch {
    return undefined;
  }
}
