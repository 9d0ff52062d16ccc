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

/** undici's module; throws an Error with the one-line message on an unsupported Node. */
export function loadUndici(): typeof Undici {
  if (undici) return undici;
  const problem = unsupportedNodeMessage(process.versions.node);
  if (problem) throw new Error(problem);
  // tsup's shims make import.meta.url available in the CommonJS build too.
  undici = createRequire(import.meta.url)('undici') as typeof Undici;
  return undici;
}
