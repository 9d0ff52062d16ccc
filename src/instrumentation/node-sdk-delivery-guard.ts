/**
 * Node side of the SDK delivery guard: finds the axios copies the FlagSync SDKs actually load
 * (CommonJS and ESM builds are separate module instances) and guards each of them. An SDK counts
 * as covered (so its calls may be claimed) only once every axios copy it can load is guarded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { diag } from '@opentelemetry/api';
import { state } from './claims.js';
import { guardAxios, guardFetch } from './sdk-delivery-guard.js';

const SDKS = [
  { name: '@flagsync/node-sdk', kind: 'server' },
  { name: '@flagsync/js-sdk', kind: 'client' },
] as const;

export interface InstallGuardResult {
  /** What is now guarded: `globalThis.fetch` and axios module files. */
  guarded: string[];
  /** SDKs whose impressions this package may now deliver in their place. */
  covered: ('@flagsync/node-sdk' | '@flagsync/js-sdk')[];
}

/**
 * Guard the axios copies used by every installed FlagSync SDK. Resolves from the app's working
 * directory and from this package. Safe to call more than once.
 */
export async function installSdkDeliveryGuard(options: { from?: string[] } = {}): Promise<InstallGuardResult> {
  const guarded: string[] = [];
  const covered: InstallGuardResult['covered'] = [];
  const fetchGuarded = guardFetch();
  if (fetchGuarded) guarded.push('globalThis.fetch');
  for (const sdk of SDKS) {
    const dirs = findSdkAxiosDirs(sdk.name, options.from);
    if (dirs.size === 0) continue;
    let all = true;
    for (const axiosDir of dirs) {
      for (const entry of axiosEntries(axiosDir)) {
        if (guarded.includes(entry.file)) continue;
        try {
          const mod =
            entry.format === 'cjs'
              ? createRequire(entry.file)(entry.file)
              : await import(pathToFileURL(entry.file).href);
          if (guardAxios(mod.default ?? mod)) guarded.push(entry.file);
          else all = false;
        } catch (error) {
          all = false;
          diag.debug(`could not load ${entry.file} to guard SDK delivery: ${String(error)}`);
        }
      }
    }
    // js-sdk also flushes with fetch (kill(), page hide).
    if (all && (sdk.kind === 'server' || fetchGuarded)) {
      state.guarded[sdk.kind] = true;
      covered.push(sdk.name);
    }
  }
  if (covered.length === 0) {
    diag.warn(
      'no FlagSync SDK found to guard; the SDK delivers its own impressions and this package records them as ' +
        'telemetry only',
    );
  }
  return { guarded, covered };
}

function findSdkAxiosDirs(sdk: string, from: string[] | undefined): Set<string> {
  const bases = from ?? [join(process.cwd(), 'index.js'), moduleFile()];
  const dirs = new Set<string>();
  for (const base of bases) {
    let sdkEntry: string;
    try {
      sdkEntry = createRequire(base).resolve(sdk);
    } catch {
      continue;
    }
    try {
      dirs.add(packageDir(createRequire(sdkEntry).resolve('axios')));
    } catch {
      // SDK without axios: nothing to guard
    }
  }
  return dirs;
}

function axiosEntries(dir: string): { file: string; format: 'cjs' | 'esm' }[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports?: Record<string, unknown>;
    main?: string;
  };
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
  return fileURLToPath(import.meta.url);
}
