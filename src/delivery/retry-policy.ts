/** When and how soon to try a FlagSync request again. Pure functions. */

export interface BackoffOptions {
  initialBackoffMillis: number;
  maxBackoffMillis: number;
}

/** 429 and 5xx are worth retrying (FlagSync overloaded or down); other 4xx will fail again. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599);
}

/**
 * Answers that mean a setting is wrong (the SDK key, the events URL), not the data: a refused
 * key, a route that is not there, a redirect (never followed with the key). The data is kept and
 * retried after a pause, so fixing the setting loses nothing.
 */
export function isConfigProblemStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 404 || status === 405 || (status >= 300 && status <= 399);
}

/**
 * Exponential backoff with "equal jitter": half the delay fixed, half random, so many senders
 * that failed together do not retry together. `attempt` counts from 0.
 */
export function backoffMillis(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxBackoffMillis, options.initialBackoffMillis * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * `Retry-After` as delay-seconds or an HTTP date, at most `maxMillis` (a proxy's "a day" must not
 * stop delivery for a day); undefined when absent or unreadable.
 */
export function parseRetryAfter(
  header: string | undefined,
  maxMillis: number,
  now: number = Date.now(),
): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  // An HTTP date names its month; Date.parse alone would take "-5" for a year.
  const millis = /^\d+$/.test(trimmed)
    ? Number(trimmed) * 1000
    : /[a-z]/i.test(trimmed)
      ? Date.parse(trimmed) - now
      : NaN;
  if (Number.isNaN(millis)) return undefined;
  return Math.min(Math.max(0, millis), maxMillis);
}
