/**
 * The app's LoggerProvider, wherever it registered it: `@opentelemetry/api` 1.10's `logs` (OTel JS
 * 3.x) or `@opentelemetry/api-logs` (OTel JS 2.x, OpenFeature's EventHook). Read from the globals
 * both APIs use, at call time, so this package needs neither and sees a provider registered later.
 */
import type { Context } from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from '../conventions.js';
import { PACKAGE_VERSION } from '../version.js';

/** What both Logs APIs' loggers have in common, as far as this package uses them. */
export interface LoggerLike {
  emit(record: {
    eventName: string;
    timestamp: number;
    context: Context;
    attributes: Record<string, unknown>;
    body: Record<string, unknown>;
  }): void;
  enabled?(options: { context?: Context; eventName?: string }): boolean;
}

interface LoggerProviderLike {
  getLogger(name: string, version?: string): LoggerLike;
}

/** api 1.x keeps its globals (1.10: `logs` among them) under this symbol. */
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');
/** api-logs keeps a getter under this symbol: `getter(1)` returns the provider. */
const API_LOGS_GLOBAL = Symbol.for('io.opentelemetry.js.api.logs');
const API_LOGS_COMPATIBILITY_VERSION = 1;

const loggers = new WeakMap<object, LoggerLike>();

/** Our logger from the registered provider, or undefined when no provider is registered. */
export function currentLogger(): LoggerLike | undefined {
  const provider = registeredProvider();
  if (!provider) return undefined;
  let logger = loggers.get(provider);
  if (!logger) {
    logger = provider.getLogger(INSTRUMENTATION_SCOPE, PACKAGE_VERSION);
    loggers.set(provider, logger);
  }
  return logger;
}

/** The app's registered LoggerProvider (the SDK's, with `forceFlush`), if any. */
export function currentLoggerProvider(): unknown {
  return registeredProvider();
}

function registeredProvider(): LoggerProviderLike | undefined {
  const g = globalThis as Record<symbol, unknown>;
  const api = g[API_GLOBAL] as { logs?: unknown } | undefined;
  if (isProvider(api?.logs)) return api.logs;
  const getter = g[API_LOGS_GLOBAL];
  if (typeof getter === 'function') {
    const provider: unknown = getter(API_LOGS_COMPATIBILITY_VERSION);
    if (isProvider(provider)) return provider;
  }
  return undefined;
}

function isProvider(value: unknown): value is LoggerProviderLike {
  return typeof value === 'object' && value !== null && typeof (value as LoggerProviderLike).getLogger === 'function';
}
