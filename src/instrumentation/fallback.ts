/**
 * The default the wrapper passes to the SDK's `flag()`, so it can tell "the SDK fell back to the
 * default" (a missing flag, or a flag that served null) from "the flag served the default's value".
 * It stands for the value the SDK would have used, `defaultValue ?? 'control'`, and serialises as
 * that value: where the SDK queues it in an impression, FlagSync receives exactly what it would
 * have without this package, guard or no guard. The app never sees it.
 */
export class Fallback {
  /** How often it was serialised; node-sdk stringifies a queued impression's value as it queues it. */
  serialised = 0;

  constructor(readonly value: unknown) {}

  toJSON(): unknown {
    this.serialised++;
    return this.value;
  }
}

/** What `flag()` would have returned without the wrapper. */
export function resolveFallback(result: unknown, fallback: Fallback): unknown {
  return result === fallback ? fallback.value : result;
}
