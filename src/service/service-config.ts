/** Service options: user options, then environment, then defaults, through the one option schema. */
import { readFileSync } from 'node:fs';
import {
  resolveDeliveryConfig,
  type FlagSyncDeliveryOptions,
  type ResolvedDeliveryConfig,
} from '../config/delivery-config.js';
import { FlagSyncConfigError, optionsOf, resolveOptions } from '../config/options.js';
import type { ConverterOptions } from '../convert/converter.js';
import type { DerivedEventsConfig } from '../convert/derived-events.js';
import type { DerivedEventsSetting } from '../convert/derived-presets.js';
import { compileRules } from '../convert/derived-rules.js';

/**
 * The service's options; environment variables, defaults and bounds are in docs/collector.md,
 * generated from the schema (src/config/options.ts). Derived-event rules come from
 * `derivedEvents`, or env FLAGSYNC_DERIVED_EVENTS (their JSON) or FLAGSYNC_DERIVED_EVENTS_FILE.
 */
export interface FlagSyncServiceOptions extends FlagSyncDeliveryOptions, ConverterOptions, DerivedEventsConfig {
  host?: string;
  port?: number;
  bearerToken?: string;
  maxBodyBytes?: number;
  ackTimeoutMillis?: number;
  dedupeWindowMillis?: number;
  dedupeMaxEntries?: number;
  dedupeDir?: string;
  maxConcurrentRequests?: number;
  requestTimeoutMillis?: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

/** The service's default flush interval: requests wait for delivery (the exporters' is 2000 ms). */
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

export function resolveServiceConfig(
  options: FlagSyncServiceOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedServiceConfig {
  const given = options as Record<string, unknown>;
  type ServiceValues = Omit<ResolvedServiceConfig, 'tls' | 'delivery' | 'converter' | 'derived'> & {
    tlsCertFile: string | undefined;
    tlsKeyFile: string | undefined;
  };
  const v = resolveOptions(optionsOf('service'), given, env) as unknown as ServiceValues;
  const derived = resolveOptions(optionsOf('derived'), given, env) as unknown as Required<
    Omit<DerivedEventsConfig, 'derivedEvents'>
  >;
  const bearerToken = v.bearerToken;
  if (bearerToken !== undefined && bearerToken.length < 16) {
    throw new FlagSyncConfigError(
      'the bearer token (FLAGSYNC_SERVICE_BEARER_TOKEN) must be at least 16 characters without white space',
    );
  }
  const certFile = v.tlsCertFile;
  const keyFile = v.tlsKeyFile;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new FlagSyncConfigError(
      'TLS needs both a certificate and a key (FLAGSYNC_SERVICE_TLS_CERT_FILE and FLAGSYNC_SERVICE_TLS_KEY_FILE)',
    );
  }
  const rulesSource =
    options.derivedEvents !== undefined
      ? 'derivedEvents'
      : env.FLAGSYNC_DERIVED_EVENTS_FILE
        ? 'FLAGSYNC_DERIVED_EVENTS_FILE'
        : 'FLAGSYNC_DERIVED_EVENTS';
  return {
    host: v.host,
    port: v.port,
    bearerToken,
    maxBodyBytes: v.maxBodyBytes,
    ackTimeoutMillis: v.ackTimeoutMillis,
    dedupeWindowMillis: v.dedupeWindowMillis,
    dedupeMaxEntries: v.dedupeMaxEntries,
    dedupeDir: v.dedupeDir,
    maxConcurrentRequests: v.maxConcurrentRequests,
    requestTimeoutMillis: v.requestTimeoutMillis,
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
    delivery: resolveDeliveryConfig(options, env, { flushIntervalMillis: SERVICE_FLUSH_INTERVAL }),
    converter: options.providerNames ? { providerNames: options.providerNames } : {},
    derived: {
      derivedEvents: validRules(options.derivedEvents ?? derivedEventsFromEnv(env), rulesSource),
      derivedEventsWindowMillis: derived.derivedEventsWindowMillis,
      derivedEventsMaxTraces: derived.derivedEventsMaxTraces,
    },
  };
}

/** Rules checked here, so a wrong one stops the service at startup, named by where it came from. */
function validRules(rules: DerivedEventsSetting | undefined, source: string): DerivedEventsSetting | undefined {
  if (rules !== undefined) compileRules(rules, source);
  return rules;
}

function derivedEventsFromEnv(env: NodeJS.ProcessEnv): DerivedEventsSetting | undefined {
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
    return JSON.parse(text) as DerivedEventsSetting;
  } catch (error) {
    throw new FlagSyncConfigError(
      `${source} must be the JSON of a list of derived-event rules: ${(error as Error).message}`,
    );
  }
}
