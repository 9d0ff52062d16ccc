/**
 * Node side of the SDK delivery guard: finds the axios copies the FlagSync SDKs actually load
 * (CommonJS and ESM builds are separate module instances) and guards each of them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diag } from '@opentelemetry/api';
import { guardAxios, guardFetch } from './sdk-delivery-guard.js';

const SDK_PACKAGES = ['@flagsync/node-sdk', '@flagsync/js-sdk'];

export interface InstallGuardResult {
  /** What is now guarded: `globalThis.fetch` and axios module files. */
  guarded: string[];
}

/**
 * Guard the axios copies used by every installed FlagSync SDK. Resolves from the app's working
 * directory and from this package. Safe to call more than once.
 */
export async function installSdkDeliveryGuard(options: { from?: string[] } = {}): Promise<InstallGuardResult> {
  const guarded: string[] = [];
  if (guardFetch()) guarded.push('globalThis.fetch');
  for (const axiosDir of findSdkAxiosDirs(options.from)) {
    for (const entry of axiosEntries(axiosDir)) {
      try {
        const mod = entry.format === 'cjs' ? createRequire(entry.file)(entry.file) : await import(pathToFileURL(entry.file).href);
        if (guardAxios(mod.default ?? mod)) guarded.push(entry.file);
      } catch (error) {
        diag.debug(`flagsync-otel: could not load ${entry.file} to guard SDK delivery: ${String(error)}`);
      }
    }
  }
  if (guarded.length === 1) {
    diag.warn('flagsync-otel: no FlagSync SDK axios found to guard; the SDK may deliver impressions itself as well');
  }
  return { guarded };
}

function findSdkAxiosDirs(from: string[] | undefined): Set<string> {
  const bases = from ?? [join(process.cwd(), 'index.js'), moduleFile()];
  const dirs = new Set<string>();
  for (const base of bases) {
    const requireFromBase = createRequire(base);
    for (const sdk of SDK_PACKAGES) {
      let sdkEntry: string;
      try {
        sdkEntry = requireFromBase.resolve(sdk);
      } catch {
        continue;
      }
      try {
        dirs.add(packageDir(createRequire(sdkEntry).resolve('axios')));
      } catch {
        // SDK without axios: nothing to guard
      }
    }
  }
  return dirs;
}

function axiosEntries(dir: string): { file: string; format: 'cjs' | 'esm' }[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: Record<string, unknown>; main?: string };
  const root = pkg.exports?.['.'] as { default?: { require?: string; default?: string } } | undefined;
  const cjs = root?.default?.require ?? pkg.main;
  const esm = root?.default?.default;
  const entries: { file: string; format: 'cjs' | 'esm' }[] = [];
  if (cjs && existsSync(join(dir, cjs))) entries.push({ file: join(dir, cjs), format: 'cjs' });
  if (esm && existsSync(join(dir, esm))) entries.push({ file: join(dir, esm), format: 'esm' });
  return entries;
}

function packageDir(file: string): string {
  let dir = dirname(file);
  while (!existsSync(join(dir, 'package.json')) || !isAxiosPackage(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no axios package.json above ${file}`);
    dir = parent;
  }
  return dir;
}

function isAxiosPackage(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'axios';
  } catch {
    return false;
  }
}

function moduleFile(): string {
  // tsup's shims make import.meta.url available in the CommonJS build too.
  return new URL(import.meta.url).pathname;
}
