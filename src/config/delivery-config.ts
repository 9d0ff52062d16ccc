/**
 * Delivery options: user options, then environment, then defaults, merged and validated in one
 * place. Construction throws with a message naming the option; nothing throws later.
 */
import { diag } from '@opentelemetry/api';

export interface FlagSyncDeliveryOptions {
  /** FlagSync server SDK key. Env `FLAGSYNC_SDK_KEY`. Required. */
  sdkKey?: string;
  /** Base URL of FlagSync's track API. Env `FLAGSYNC_EVENTS_URL`. Default `https://sdk.flagsync.com`. */
  eventsUrl?: string;
  /** Items per request. Env `FLAGSYNC_EXPORT_MAX_BATCH_SIZE`. Default 500. */
  maxBatchSize?: number;
  /** Bytes per request body. Env `FLAGSYNC_EXPORT_MAX_BATCH_BYTES`. Default 1 MiB. */
  maxBatchBytes?: number;
  /** Longest wait before a partial batch is sent (ms). Env `FLAGSYNC_EXPORT_SCHEDULE_DELAY`. Default 2000. */
  flushIntervalMillis?: number;
  /**
   * Items queued per route (impressions, events) while FlagSync is slow or down; beyond it new items are dropped and
   * counted. Env `FLAGSYNC_EXPORT_MAX_QUEUE_SIZE`. Default 50000.
   */
  maxQueueSize?: number;
  /**
   * Bytes of queued JSON per route; beyond it new items are dropped and counted. Env `FLAGSYNC_EXPORT_MAX_QUEUE_BYTES`.
   * Default 64 MiB.
   */
  maxQueueBytes?: number;
  /** Per-request timeout (ms). Env `FLAGSYNC_EXPORT_TIMEOUT`. Default 10000. */
  timeoutMillis?: number;
  /** First retry delay (ms); doubles per attempt with jitter. Default 1000. */
  initialBackoffMillis?: number;
  /** Longest retry delay (ms), unless FlagSync's Retry-After asks for more. Default 30000. */
  maxBackoffMillis?: number;
  /**
   * Longest `Retry-After` honoured (ms); longer ones are cut to this. Env `FLAGSYNC_EXPORT_MAX_RETRY_AFTER`. Default
   * 300000.
   */
  maxRetryAfterMillis?: number;
  /**
   * Pause before retrying after an answer that means a setting is wrong: 401/403 (the SDK key),
   * 404/405 or a redirect (the events URL). The data is kept meanwhile. Env
   * `FLAGSYNC_EXPORT_CONFIG_ERROR_RETRY_DELAY`. Default 30000.
   */
  configErrorRetryDelayMillis?: number;
  /** Deadline for shutdown() and forceFlush() (ms). Env `FLAGSYNC_EXPORT_SHUTDOWN_TIMEOUT`. Default 10000. */
  shutdownTimeoutMillis?: number;
}

export interface ResolvedDeliveryConfig extends Required<Omit<FlagSyncDeliveryOptions, 'sdkKey'>> {
  sdkKey: string;
}

const DEFAULT_EVENTS_URL = 'https://sdk.flagsync.com';

const NUMERIC: { option: keyof FlagSyncDeliveryOptions; env: string | undefined; fallback: number; min: number }[] = [
  { option: 'maxBatchSize', env: 'FLAGSYNC_EXPORT_MAX_BATCH_SIZE', fallback: 500, min: 1 },
  { option: 'maxBatchBytes', env: 'FLAGSYNC_EXPORT_MAX_BATCH_BYTES', fallback: 1024 * 1024, min: 1024 },
  { option: 'flushIntervalMillis', env: 'FLAGSYNC_EXPORT_SCHEDULE_DELAY', fallback: 2000, min: 1 },
  { option: 'maxQueueSize', env: 'FLAGSYNC_EXPORT_MAX_QUEUE_SIZE', fallback: 50_000, min: 1 },
  { option: 'maxQueueBytes', env: 'FLAGSYNC_EXPORT_MAX_QUEUE_BYTES', fallback: 64 * 1024 * 1024, min: 1024 },
  { option: 'timeoutMillis', env: 'FLAGSYNC_EXPORT_TIMEOUT', fallback: 10_000, min: 1 },
  { option: 'initialBackoffMillis', env: undefined, fallback: 1000, min: 1 },
  { option: 'maxBackoffMillis', env: undefined, fallback: 30_000, min: 1 },
  { option: 'maxRetryAfterMillis', env: 'FLAGSYNC_EXPORT_MAX_RETRY_AFTER', fallback: 300_000, min: 0 },
  { option: 'configErrorRetryDelayMillis', env: 'FLAGSYNC_EXPORT_CONFIG_ERROR_RETRY_DELAY', fallback: 30_000, min: 1 },
  { option: 'shutdownTimeoutMillis', env: 'FLAGSYNC_EXPORT_SHUTDOWN_TIMEOUT', fallback: 10_000, min: 0 },
];

/**
 * A setting that cannot work. `message` is worded for code that passes options; `cliMessage` for
 * someone running the CLI, who sets environment variables and flags.
 */
export class FlagSyncConfigError extends Error {
  override name = 'FlagSyncConfigError';
  readonly cliMessage: string;
  constructor(message: string, cliMessage?: string) {
    super(message);
    this.cliMessage = cliMessage ?? message;
  }
}

export function resolveDeliveryConfig(
  options: FlagSyncDeliveryOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedDeliveryConfig {
  const sdkKey = options.sdkKey ?? env.FLAGSYNC_SDK_KEY;
  if (typeof sdkKey !== 'string' || sdkKey.trim() === '') {
    throw new FlagSyncConfigError(
      'an SDK key is required: pass { sdkKey } or set FLAGSYNC_SDK_KEY',
      'set FLAGSYNC_SDK_KEY to your FlagSync server SDK key',
    );
  }
  if (/\s/.test(sdkKey))
    throw new FlagSyncConfigError(
      'the SDK key must not contain white space (check FLAGSYNC_SDK_KEY)',
      'FLAGSYNC_SDK_KEY must not contain white space',
    );

  const eventsUrl = options.eventsUrl ?? env.FLAGSYNC_EVENTS_URL ?? DEFAULT_EVENTS_URL;
  let url: URL;
  try {
    url = new URL(eventsUrl);
  } catch {
    throw new FlagSyncConfigError(`eventsUrl (FLAGSYNC_EVENTS_URL) must be an http(s) URL, got "${eventsUrl}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FlagSyncConfigError(`eventsUrl (FLAGSYNC_EVENTS_URL) must use http or https, got "${url.protocol}"`);
  }

  const numbers = {} as Record<string, number>;
  for (const { option, env: envName, fallback, min } of NUMERIC) {
    const fromOption = options[option];
    const fromEnv = envName ? env[envName] : undefined;
    const source = fromOption !== undefined ? `option ${option}` : `env ${envName}`;
    const raw = fromOption ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : undefined);
    if (raw === undefined) {
      numbers[option] = fallback;
      continue;
    }
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min) {
      throw new FlagSyncConfigError(
        `${source} must be an integer >= ${min}, got ${JSON.stringify(fromOption ?? fromEnv)}`,
      );
    }
    numbers[option] = raw;
  }
  if (numbers.maxBackoffMillis! < numbers.initialBackoffMillis!) {
    diag.warn(
      `maxBackoffMillis (${numbers.maxBackoffMillis}) < initialBackoffMillis; using ${numbers.initialBackoffMillis}`,
    );
    numbers.maxBackoffMillis = numbers.initialBackoffMillis!;
  }
  return {
    sdkKey,
    eventsUrl: url.href.replace(/\/+$/, ''),
    ...(numbers as Required<Omit<FlagSyncDeliveryOptions, 'sdkKey' | 'eventsUrl'>>),
  };
}

/** Replace every occurrence of the secrets in a message (they must never reach logs or errors). */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const present = secrets.filter((s) => s.length >= 4);
  return (text) => present.reduce((acc, secret) => acc.split(secret).join('[REDACTED]'), text);
}
