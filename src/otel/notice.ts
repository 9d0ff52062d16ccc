/**
 * Problems that cost a delivery path are heard without any setup: through the app's diag logger
 * when it registered one, else one line on stderr. `FLAGSYNC_QUIET=true` silences the fallback.
 */

import { diag } from '@opentelemetry/api';

/** api 1.x keeps its registered globals (`diag` among them, once a logger is set) under this symbol. */
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/** True when the app registered a diag logger (diag.setLogger): it hears our component loggers. */
function diagRegistered(): boolean {
  const api = (globalThis as Record<symbol, { diag?: unknown } | undefined>)[API_GLOBAL];
  return api?.diag !== undefined;
}

function quiet(): boolean {
  return typeof process !== 'undefined' && process.env?.FLAGSYNC_QUIET === 'true';
}

/** The line on stderr, when nobody listens through diag. */
export function noticeWithoutDiag(level: 'error' | 'warn', message: string): void {
  if (diagRegistered() || quiet()) return;
  (level === 'error' ? console.error : console.warn)(`flagsync-otel: ${message}`);
}

const warned = new Set<string>();

/** A problem said once per process per cause: through diag, and on stderr when nobody listens there. */
export function warnOnce(cause: string, message: string): void {
  if (warned.has(cause)) return;
  warned.add(cause);
  diag.warn(`flagsync-otel: ${message}`);
  noticeWithoutDiag('warn', message);
}
