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
 * Exponential backoff with "equal jitter": half the delay fixed, half random, so many senders
 * that failed together do not retry together. `attempt` counts from 0.
 */
export function backoffMillis(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxBackoffMillis, options.initialBackoffMillis * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** `Retry-After` as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | undefined, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
