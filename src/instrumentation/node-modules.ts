/**
 * Finds the copies of a package an app loads, and loads each the way the app does. Node keeps a
 * package's CommonJS and ES module builds as separate module instances (the dual-package case of
 * OpenTelemetry JS 3.x, axios), so a prototype patched in one is not patched in the other: both
 * entry files, as Node's `require` and `import` conditions pick them, are loaded and returned.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Where the app's own dependencies resolve from: its working directory and this package. */
function defaultBases(): string[] {
  // tsup's shims make import.meta.url available in the CommonJS build too.
  return [join(process.cwd(), 'index.js'), fileURLToPath(import.meta.url)];
}

/**
 * The directories of `name` that the app can load: resolved from the bases, and from each of
 * `via` (packages that depend on it, such as the FlagSync SDKs for axios) where those resolve.
 */
export function packageCopies(name: string, via: readonly string[] = [], bases = defaultBases()): Set<string> {
  const dirs = new Set<string>();
  const from = [...bases];
  for (const base of bases)
    for (const parent of via) {
      try {
        from.push(createRequire(base).resolve(parent));
      } catch {
        // not installed: nothing of it to find
      }
    }
  for (const base of from) {
    try {
      dirs.add(packageDir(createRequire(base).resolve(name), name));
    } catch {
      // not resolvable from there
    }
  }
  return dirs;
}

/** A package's entry files as `require` and `import` would load them (one when both pick the same). */
export function entryFiles(dir: string): { file: string; format: 'cjs' | 'esm' }[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    type?: string;
    main?: string;
    exports?: unknown;
  };
  const root =
    typeof pkg.exports === 'string' || (pkg.exports && !hasDotKeys(pkg.exports))
      ? pkg.exports
      : (pkg.exports as Record<string, unknown> | undefined)?.['.'];
  const entries = new Map<string, 'cjs' | 'esm'>();
  for (const conditions of [
    ['node', 'require', 'default'],
    ['node', 'import', 'default'],
  ]) {
    const target = root === undefined ? (pkg.main ?? 'index.js') : pick(root, conditions);
    if (typeof target !== 'string') continue;
    const file = join(dir, target);
    if (!existsSync(file) || entries.has(file)) continue;
    const format = file.endsWith('.mjs') || (!file.endsWith('.cjs') && pkg.type === 'module') ? 'esm' : 'cjs';
    entries.set(file, format);
  }
  return [...entries].map(([file, format]) => ({ file, format }));
}

/** Load an entry file into the app's module instance of it (the require cache, or the ESM loader's). */
export async function loadEntry(entry: { file: string; format: 'cjs' | 'esm' }): Promise<unknown> {
  const mod =
    entry.format === 'cjs' ? createRequire(entry.file)(entry.file) : await import(pathToFileURL(entry.file).href);
  return (mod as { default?: unknown }).default ?? mod;
}

/** Node's conditional exports: the first key, in object order, whose condition applies. */
function pick(target: unknown, conditions: readonly string[]): unknown {
  if (typeof target === 'string' || target === null) return target;
  if (Array.isArray(target)) {
    for (const t of target) {
      const found = pick(t, conditions);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof target !== 'object') return undefined;
  for (const [key, value] of Object.entries(target as Record<string, unknown>)) {
    if (!conditions.includes(key)) continue;
    const found = pick(value, conditions);
    if (found !== undefined) return found;
  }
  return undefined;
}

function hasDotKeys(exports: unknown): boolean {
  return typeof exports === 'object' && exports !== null && Object.keys(exports).some((k) => k.startsWith('.'));
}

function packageDir(file: string, name: string): string {
  let dir = dirname(file);
  while (!isPackage(join(dir, 'package.json'), name)) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no ${name} package.json above ${file}`);
    dir = parent;
  }
  return dir;
}

function isPackage(file: string, name: string): boolean {
  try {
    return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === name;
  } catch {
    return false;
  }
}
