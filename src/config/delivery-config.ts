/**
 * Delivery options: user options, then environment, then defaults, resolved through the one
 * option schema (options.ts). Construction throws with a message naming the option; nothing
 * throws later. Each option's documentation is in the schema.
 */
import { diag } from '@opentelemetry/api';
import { checkOptionNames, FlagSyncConfigError, optionsOf, resolveOptions } from './options.js';

/**
 * Delivery to FlagSync. Each option's environment variable, default and bounds are in the README's
 * Options table, generated from the schema (src/config/options.ts).
 */
export interface FlagSyncDeliveryOptions {
  /** Required (or env FLAGSYNC_SDK_KEY). */
  sdkKey?: string;
  eventsUrl?: string;
  maxBatchSize?: number;
  maxBatchBytes?: number;
  flushIntervalMillis?: number;
  maxQueueSize?: number;
  maxQueueBytes?: number;
  timeoutMillis?: number;
  initialBackoffMillis?: number;
  maxBackoffMillis?: number;
  maxRetryAfterMillis?: number;
  configErrorRetryDelayMillis?: number;
  shutdownTimeoutMillis?: number;
}

export interface ResolvedDeliveryConfig extends Required<Omit<FlagSyncDeliveryOptions, 'sdkKey'>> {
  sdkKey: string;
}

export { FlagSyncConfigError };

/** What FlagSyncSpanExporter and FlagSyncLogRecordExporter take (FlagSyncExporterOptions). */
const EXPORTER_OPTION_NAMES = [
  ...optionsOf('delivery').map((o) => o.name),
  ...optionsOf('derived').map((o) => o.name),
  'derivedEvents',
  'providerNames',
  'meterProvider',
  'transport',
];
/** Options, else the environment, else defaults, each checked against the schema (options.ts). */
export function resolveDeliveryConfig(
  options: FlagSyncDeliveryOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedDeliveryConfig {
  checkOptionNames(options as Record<string, unknown>, EXPORTER_OPTION_NAMES, 'FlagSync exporter option');
  const values = resolveOptions(optionsOf('delivery'), options as Record<string, unknown>, env);
  const config = values as unknown as ResolvedDeliveryConfig;
  if (config.maxBackoffMillis < config.initialBackoffMillis) {
    diag.warn(
      `maxBackoffMillis (${config.maxBackoffMillis}) < initialBackoffMillis; using ${config.initialBackoffMillis}`,
    );
    config.maxBackoffMillis = config.initialBackoffMillis;
  }
  return config;
}

/** Replace every occurrence of the secrets in a message (they must never reach logs or errors). */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const present = secrets.filter((s) => s.length >= 4);
  return (text) => present.reduce((acc, secret) => acc.split(secret).join('[REDACTED]'), text);
}
