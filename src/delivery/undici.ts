/**
 * undici, loaded when the first transport is made instead of on import. undici 8 throws while it
 * loads on a Node older than it needs (`Cannot read properties of undefined (reading 'bind')`), so
 * an unsupported Node gets one line naming the Node found and the one needed, at exporter (or
 * service) construction.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/** What undici 8 needs (its `engines`), and so this package's `engines`. */
const REQUIRED_NODE = [22, 19, 0] as const;

/** The one-line refusal for `version` (`process.versions.node`), or undefined when it is supported. */
function unsupportedNodeMessage(version: string): string | undefined {
  const running = version.split('.').map(Number);
  for (let i = 0; i < REQUIRED_NODE.length; i++) {
    const have = running[i] ?? 0;
    if (have > REQUIRED_NODE[i]!) return undefined;
    if (have < REQUIRED_NODE[i]!)
      return (
        `flagsync-otel: delivery to FlagSync needs Node.js >= ${REQUIRED_NODE.join('.')} (this is v${version}): ` +
        'upgrade Node.js, or leave delivery to an OpenTelemetry Collector'
      );
  }
  return undefined;
}

let undici: typeof Undici | undefined;

/**
 * Bun provides an `undici` module of its own without the parts delivery relies on (the response
 * body's `dump()`, `Agent.destroy()`): every accepted request would look failed and be sent again.
 * The exporters refuse to take delivery there; the FlagSync SDK (or a collector) delivers instead.
 */
const BUN_MESSAGE =
  'flagsync-otel: the FlagSync exporters need Node.js (>= 22.19) and do not run on Bun, whose undici lacks what ' +
  'their delivery relies on: on Bun, let the FlagSync SDK deliver (FLAGSYNC_DELIVERY=sdk, the default without ' +
  'exporters) or a collector (FLAGSYNC_DELIVERY=collector)';

/** undici's module; throws an Error with the one-line message on an unsupported Node, or on Bun. */
export function loadUndici(): typeof Undici {
  if (undici) return undici;
  if (process.versions.bun) throw new Error(BUN_MESSAGE);
  const problem = unsupportedNodeMessage(process.versions.node);
  if (problem) throw new Error(problem);
  // tsup's shims make import.meta.url available in the CommonJS build too.
  undici = createRequire(import.meta.url)('undici') as typeof Undici;
  return undici;
}
