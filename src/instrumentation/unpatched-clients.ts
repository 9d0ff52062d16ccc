/**
 * Speaks up about @flagsync/node-sdk clients that FlagSyncInstrumentation never saw: node-sdk imported as an ES module
 * with no loader hook registered, or bundled into the app. Nothing records their calls (the SDK delivers them all,
 * so nothing is lost), and nothing else would say so.
 *
 * Each node-sdk client posts `/sdk/init-server` once, when it is made. Two marks ride on that request's async
 * context to Node's http diagnostics channel: the patched FlagSyncFactory's (a client we instrument), and that of
 * the node_modules copy of axios it went through, CommonJS or ES module. No factory mark and an ES module axios:
 * node-sdk was imported as an ES module without the loader hook. No mark at all: axios is not a module here,
 * node-sdk is bundled with it. A CommonJS axios without the factory mark is node-sdk loaded before the
 * instrumentation, said at enable() already. (Node 22 publishes no http channel message synchronously inside
 * `http.request`, so a stack trace cannot tell the copy; the marks do.)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { diag } from '@opentelemetry/api';
import { warnOnce } from '../otel/notice.js';
import { entryFiles, packageCopies } from './node-modules.js';

const INIT_REQUEST = /\/sdk\/init-server\/?(?:\?|$)/;
const KEY_HEADER = 'x-ridgeline-key';
const HOOK = "register('@opentelemetry/instrumentation/hook.mjs', import.meta.url) from node:module";
const MARKED = Symbol.for('flagsync-otel.unpatched-clients.marked');

const patchedFactory = new AsyncLocalStorage<true>();
const moduleAxios = new AsyncLocalStorage<'cjs' | 'esm'>();
const watchers = new Set<() => boolean>();
let watching = false;

/** Runs the patched FlagSyncFactory: the requests of the client it makes carry the mark. */
export function makePatched<T>(make: () => T): T {
  return patchedFactory.run(true, make);
}

/**
 * From the first enable() on: while `isEnabled()`, an unpatched client is said once per cause. The axios copies are
 * marked synchronously (require of an ES module), so a client the app makes right after is seen.
 */
export function watchUnpatchedClients(isEnabled: () => boolean): void {
  watchers.add(isEnabled);
  if (watching) return;
  watching = true;
  for (const dir of packageCopies('axios', ['@flagsync/node-sdk']))
    for (const entry of entryFiles(dir)) {
      try {
        markAxios(createRequire(entry.file)(entry.file), entry.format);
      } catch (error) {
        diag.debug(`flagsync-otel: could not load ${entry.file} to tell unpatched FlagSync clients: ${String(error)}`);
      }
    }
  subscribe('http.client.request.start', onRequest);
}

type RequestFn = (this: unknown, ...args: unknown[]) => unknown;
type AxiosProto = Record<PropertyKey, unknown> & { _request?: unknown };

/** `_request` is looked up per request (instances made earlier included); the SDK delivery guard wraps it too. */
function markAxios(mod: unknown, format: 'cjs' | 'esm'): void {
  const exported = mod as { default?: { Axios?: { prototype: AxiosProto } }; Axios?: { prototype: AxiosProto } };
  const proto = (exported.default ?? exported).Axios?.prototype;
  if (!proto || typeof proto._request !== 'function' || proto[MARKED]) return;
  const inner = proto._request as RequestFn;
  proto._request = function (this: unknown, ...args: unknown[]) {
    return moduleAxios.run(format, () => inner.apply(this, args));
  };
  proto[MARKED] = true;
}

interface ClientRequestLike {
  method?: string;
  path?: string;
  getHeader?: (name: string) => unknown;
}

function onRequest(message: unknown): void {
  const request = (message as { request?: ClientRequestLike }).request;
  if (request?.method !== 'POST' || !INIT_REQUEST.test(request.path ?? '')) return;
  if (request.getHeader?.(KEY_HEADER) === undefined || patchedFactory.getStore()) return;
  if (![...watchers].some((isEnabled) => isEnabled())) return;
  const axios = moduleAxios.getStore();
  if (axios === 'esm') warnOnce('esm-without-hook', esmWithoutHook());
  else if (axios === undefined) warnOnce('bundled', BUNDLED);
}

const NOT_INSTRUMENTED =
  'its clients are not instrumented (the SDK delivers their calls itself; OpenTelemetry records none of them)';

/** The fix names the file the app preloads with --import, when it does (a setup file that lacks the hook). */
function esmWithoutHook(): string {
  const head =
    '@flagsync/node-sdk was imported as an ES module without the OpenTelemetry loader hook, so ' +
    `FlagSyncInstrumentation could not patch it: ${NOT_INSTRUMENTED}. `;
  const preload = importedFile();
  if (preload) {
    return (
      `${head}Call ${HOOK} first in ${preload}, before anything it imports ` +
      "(the hook must precede the app's imports)"
    );
  }
  return (
    `${head}Register the hook before the app's imports: node --import ./register-hook.mjs --require ` +
    `./telemetry.cjs app.mjs, with register-hook.mjs calling ${HOOK}`
  );
}

const BUNDLED =
  '@flagsync/node-sdk is bundled into the app, so there is no module for FlagSyncInstrumentation to patch: ' +
  `${NOT_INSTRUMENTED}. Leave it out of the bundle and install it beside it (esbuild ` +
  '--external:@flagsync/node-sdk; webpack externals, rollup external)';

/** The file given to `node --import` (the first one), if any. */
function importedFile(): string | undefined {
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--import') return args[i + 1];
    if (args[i]?.startsWith('--import=')) return args[i]!.slice('--import='.length);
  }
  return undefined;
}
