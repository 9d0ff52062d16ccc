/** Service options: user options, then environment, then defaults, validated in one place. */
import {
  FlagSyncConfigError,
  resolveDeliveryConfig,
  type FlagSyncDeliveryOptions,
  type ResolvedDeliveryConfig,
} from '../config/delivery-config.js';
import { readFileSync } from 'node:fs';
import type { ConverterOptions } from '../convert/converter.js';
import type { DerivedEventsConfig } from '../convert/derived-events.js';
import { compileRules, type DerivedEventRule } from '../convert/derived-rules.js';

/**
 * Derived-event rules (`derivedEvents`) come from options, or from env `FLAGSYNC_DERIVED_EVENTS`
 * (their JSON) or `FLAGSYNC_DERIVED_EVENTS_FILE` (a file of it); the trace memory's bounds from
 * `FLAGSYNC_DERIVED_EVENTS_WINDOW` (ms) and `FLAGSYNC_DERIVED_EVENTS_MAX_TRACES`.
 */
export interface FlagSyncServiceOptions extends FlagSyncDeliveryOptions, ConverterOptions, DerivedEventsConfig {
  /** Bind address. Env `FLAGSYNC_SERVICE_HOST`. Default `127.0.0.1` (loopback only). */
  host?: string;
  /** Env `FLAGSYNC_SERVICE_PORT`. Default 4318; 0 picks a free port. */
  port?: number;
  /** Require `Authorization: Bearer <token>`. Env `FLAGSYNC_SERVICE_BEARER_TOKEN`. Default: none. */
  bearerToken?: string;
  /**
   * Largest request body after decompression (bytes); 413 above. Env `FLAGSYNC_SERVICE_MAX_BODY_BYTES`. Default 16 MiB.
   */
  maxBodyBytes?: number;
  /**
   * How long a request waits for its data to reach FlagSync before answering 503 (ms). Env
   * `FLAGSYNC_SERVICE_ACK_TIMEOUT`. Default 10000.
   */
  ackTimeoutMillis?: number;
  /**
   * How long delivered identities are remembered to drop collector retries (ms). Env `FLAGSYNC_SERVICE_DEDUPE_WINDOW`.
   * Default 600000.
   */
  dedupeWindowMillis?: number;
  /**
   * Most identities remembered (about 210 bytes of memory each: 1,000,000 is about 210 MB). Env
   * `FLAGSYNC_SERVICE_DEDUPE_MAX_ENTRIES`. Default 1000000.
   */
  dedupeMaxEntries?: number;
  /**
   * Keep delivered identities in this directory too (a local volume), so duplicates are still
   * removed after a crash or restart. One service per directory. Env `FLAGSYNC_SERVICE_DEDUPE_DIR`.
   * Default: memory only.
   */
  dedupeDir?: string;
  /** Requests handled at once; more get 503. Env `FLAGSYNC_SERVICE_MAX_CONCURRENT_REQUESTS`. Default 256. */
  maxConcurrentRequests?: number;
  /**
   * Longest time a client may take to send a whole request (ms); slower ones get 408 and are closed. Env
   * `FLAGSYNC_SERVICE_REQUEST_TIMEOUT`. Default 60000.
   */
  requestTimeoutMillis?: number;
  /** Serve HTTPS with this PEM certificate (chain) file. Env `FLAGSYNC_SERVICE_TLS_CERT_FILE`; needs the key too. */
  tlsCertFile?: string;
  /** PEM private key file for `tlsCertFile`. Env `FLAGSYNC_SERVICE_TLS_KEY_FILE`. */
  tlsKeyFile?: string;
}

/** The service's default for FLAGSYNC_EXPORT_SCHEDULE_DELAY (the exporters' is 2000 ms). */
const SERVICE_FLUSH_INTERVAL = 200;

export interface ResolvedServiceConfig {
  host: string;
  port: number;
  bearerToken: string | undefined;
  maxBodyBytes: number;
  ackTimeoutMillis: number;
  dedupeWindowMillis: number;
  dedupeMaxEntries: number;
  dedupeDir: string | undefined;
  maxConcurrentRequests: number;
  requestTimeoutMillis: number;
  tls: { certFile: string; keyFile: string } | undefined;
  delivery: ResolvedDeliveryConfig;
  converter: ConverterOptions;
  derived: DerivedEventsConfig;
}

const NUMBERS = [
  ['port', 'FLAGSYNC_SERVICE_PORT', 4318, 0, 65535],
  ['maxBodyBytes', 'FLAGSYNC_SERVICE_MAX_BODY_BYTES', 16 * 1024 * 1024, 1024, 1024 ** 3],
  ['ackTimeoutMillis', 'FLAGSYNC_SERVICE_ACK_TIMEOUT', 10_000, 1, 3_600_000],
  ['dedupeWindowMillis', 'FLAGSYNC_SERVICE_DEDUPE_WINDOW', 600_000, 0, 7 * 24 * 3_600_000],
  ['dedupeMaxEntries', 'FLAGSYNC_SERVICE_DEDUPE_MAX_ENTRIES', 1_000_000, 0, 100_000_000],
  ['maxConcurrentRequests', 'FLAGSYNC_SERVICE_MAX_CONCURRENT_REQUESTS', 256, 1, 100_000],
  ['requestTimeoutMillis', 'FLAGSYNC_SERVICE_REQUEST_TIMEOUT', 60_000, 100, 3_600_000],
  ['derivedEventsWindowMillis', 'FLAGSYNC_DERIVED_EVENTS_WINDOW', 300_000, 1000, 24 * 3_600_000],
  ['derivedEventsMaxTraces', 'FLAGSYNC_DERIVED_EVENTS_MAX_TRACES', 100_000, 1, 10_000_000],
] as const;

export function resolveServiceConfig(
  options: FlagSyncServiceOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedServiceConfig {
  const numbers: Record<string, number> = {};
  for (const [option, envName, fallback, min, max] of NUMBERS) {
    const fromOption = options[option];
    const raw = fromOption ?? (env[envName] ? Number(env[envName]) : undefined);
    if (raw === undefined) {
      numbers[option] = fallback;
      continue;
    }
    if (!Number.isInteger(raw) || raw < min || raw > max) {
      const source = fromOption !== undefined ? `option ${option}` : `env ${envName}`;
      throw new FlagSyncConfigError(
        `${source} must be an integer from ${min} to ${max}, got ${JSON.stringify(fromOption ?? env[envName])}`,
      );
    }
    numbers[option] = raw;
  }
  const bearerToken = options.bearerToken ?? (env.FLAGSYNC_SERVICE_BEARER_TOKEN || undefined);
  if (bearerToken !== undefined && (bearerToken.length < 16 || /\s/.test(bearerToken))) {
    throw new FlagSyncConfigError(
      'the bearer token (FLAGSYNC_SERVICE_BEARER_TOKEN) must be at least 16 characters without white space',
    );
  }
  const certFile = options.tlsCertFile ?? (env.FLAGSYNC_SERVICE_TLS_CERT_FILE || undefined);
  const keyFile = options.tlsKeyFile ?? (env.FLAGSYNC_SERVICE_TLS_KEY_FILE || undefined);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new FlagSyncConfigError(
      'TLS needs both a certificate and a key (FLAGSYNC_SERVICE_TLS_CERT_FILE and FLAGSYNC_SERVICE_TLS_KEY_FILE)',
    );
  }
  return {
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
    host: options.host ?? env.FLAGSYNC_SERVICE_HOST ?? '127.0.0.1',
    port: numbers.port!,
    bearerToken,
    maxBodyBytes: numbers.maxBodyBytes!,
    ackTimeoutMillis: numbers.ackTimeoutMillis!,
    dedupeWindowMillis: numbers.dedupeWindowMillis!,
    dedupeMaxEntries: numbers.dedupeMaxEntries!,
    dedupeDir: options.dedupeDir ?? (env.FLAGSYNC_SERVICE_DEDUPE_DIR || undefined),
    maxConcurrentRequests: numbers.maxConcurrentRequests!,
    requestTimeoutMillis: numbers.requestTimeoutMillis!,
    // Requests wait for their data to be delivered, so a partial batch should not wait 2 s for a timer.
    delivery: resolveDeliveryConfig(
      { flushIntervalMillis: env.FLAGSYNC_EXPORT_SCHEDULE_DELAY ? undefined : SERVICE_FLUSH_INTERVAL, ...options },
      env,
    ),
    converter: options.providerNames ? { providerNames: options.providerNames } : {},
    derived: {
      derivedEvents:
        validRules(options.derivedEvents, 'derivedEvents') ??
        validRules(
          derivedEventsFromEnv(env),
          env.FLAGSYNC_DERIVED_EVENTS_FILE ? 'FLAGSYNC_DERIVED_EVENTS_FILE' : 'FLAGSYNC_DERIVED_EVENTS',
        ),
      derivedEventsWindowMillis: numbers.derivedEventsWindowMillis!,
      derivedEventsMaxTraces: numbers.derivedEventsMaxTraces!,
    },
  };
}

/** Rules checked here, so a wrong one stops the service at startup, named by where it came from. */
function validRules(
  rules: DerivedEventRule[] | readonly DerivedEventRule[] | undefined,
  source: string,
): readonly DerivedEventRule[] | undefined {
  if (rules !== undefined) compileRules(rules, source);
  return rules;
}

function derivedEventsFromEnv(env: NodeJS.ProcessEnv): DerivedEventRule[] | undefined {
  const file = env.FLAGSYNC_DERIVED_EVENTS_FILE;
  let text = env.FLAGSYNC_DERIVED_EVENTS;
  let source = 'FLAGSYNC_DERIVED_EVENTS';
  if (file) {
    source = `FLAGSYNC_DERIVED_EVENTS_FILE (${file})`;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new FlagSyncConfigError(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  if (!text) return undefined;
  try {
    return JSON.parse(text) as DerivedEventRule[];
  } catch (error) {
    throw new FlagSyncConfigError(
      `${source} must be the JSON of a list of derived-event rules: ${(error as Error).message}`,
    );
  }
}
