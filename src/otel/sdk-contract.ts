/**
 * The two things this package needs from `@opentelemetry/core`, written against the stable
 * contract they implement, so one build works with OTel JS 2.x and 3.x without depending on
 * either line's core: export result codes, and the context key that suppresses tracing (api's
 * `createContextKey` is `Symbol.for`, so every copy of core reads the same key).
 */
import { createContextKey, type Context } from '@opentelemetry/api';

/** `ExportResultCode` of `@opentelemetry/core` (both lines). */
export const EXPORT_SUCCESS = 0;
export const EXPORT_FAILED = 1;

/** Structurally the `ExportResult` of `@opentelemetry/core`. */
export interface ExportResult {
  code: typeof EXPORT_SUCCESS | typeof EXPORT_FAILED;
  error?: Error;
}

const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/** As core's `suppressTracing`: instrumentations do not trace work done in this context. */
export function suppressTracing(context: Context): Context {
  return context.setValue(SUPPRESS_TRACING_KEY, true);
}
