/**
 * Wraps a FlagSync client (either SDK's shape) so each `flag()` records a `feature_flag.evaluation`
 * event and each `track()` a `flagsync.track` event. Return values and exceptions of the SDK are
 * passed through untouched; our own failures never reach the app.
 */
import { diag } from '@opentelemetry/api';
import {
  ERROR_FLAG_NOT_FOUND,
  ERROR_PROVIDER_NOT_READY,
  EVENT_FEATURE_FLAG_EVALUATION,
  EVENT_FLAGSYNC_TRACK,
  REASON_CACHED,
  REASON_ERROR,
  REASON_UNKNOWN,
} from '../conventions.js';
import type { EventSignal, FlagSyncInstrumentationOptions, FlagSyncUserContext } from '../types.js';
import { flagEvaluationAttributes, trackAttributes, type FlagEvaluation } from './attributes.js';
import { resolveContextPrivacy, type ContextPrivacy } from './privacy.js';
import { EventRecorder, type RecordTarget, type RecorderStats } from './recorder.js';
import { isSdkDeliveryGuardInstalled, ownContext } from './sdk-delivery-guard.js';

/** Returned by the SDK as the default when a flag is missing; only used while the guard is on. */
const MISSING = Object.freeze({ 'flagsync-otel': 'missing-flag' });
const CONTROL = 'control';
const WRAPPED = Symbol.for('flagsync-otel.wrapped-client');

type AnyFn = (...args: unknown[]) => unknown;
type ServerClient = { flag: AnyFn; track: AnyFn; waitForReadyCanThrow?: () => Promise<void> };
type BrowserClient = ServerClient & { core: FlagSyncUserContext; flags?: AnyFn };

export interface ClientInstrumenter {
  /** Counts of the current options' recorder (reset when the options object changes). */
  readonly stats: RecorderStats;
  wrap<C extends object>(client: C): C;
}

/**
 * Wrap one client. For Node apps prefer `FlagSyncInstrumentation` (registerInstrumentations), which
 * also installs the SDK delivery guard; with this manual wrapper call `installSdkDeliveryGuard()`
 * (Node) or `guardAxios(axios)` (browser) once, or FlagSync receives SDK impressions twice.
 */
export function instrumentFlagSyncClient<C extends object>(client: C, options: FlagSyncInstrumentationOptions = {}): C {
  return createClientInstrumenter(options, () => true).wrap(client);
}

/**
 * `options` may be a getter: it is read on every call, so `setConfig()` on the instrumentation
 * applies to clients wrapped earlier. Settings are re-resolved only when the object changes.
 */
export function createClientInstrumenter(
  options: FlagSyncInstrumentationOptions | (() => FlagSyncInstrumentationOptions),
  isEnabled: () => boolean,
): ClientInstrumenter {
  const getOptions = typeof options === 'function' ? options : () => options;
  let resolvedFrom: FlagSyncInstrumentationOptions | undefined;
  let current: WrapSettings | undefined;
  const settings = (): WrapSettings => {
    const opts = getOptions();
    if (!current || opts !== resolvedFrom) {
      resolvedFrom = opts;
      current = resolveSettings(opts, isEnabled);
    }
    return current;
  };
  return {
    get stats() {
      return settings().recorder.stats;
    },
    wrap: (client) => wrapClient(client, settings),
  };
}

function resolveSettings(options: FlagSyncInstrumentationOptions, isEnabled: () => boolean): WrapSettings {
  return {
    recorder: new EventRecorder(options),
    privacy: resolveContextPrivacy(options),
    isEnabled,
    omitValues: options.omitFlagValues ?? false,
    flagSignal: options.flagSignal ?? 'span',
    trackSignal: options.trackSignal ?? 'span',
    warnedBadTrack: false,
  };
}

interface WrapSettings {
  recorder: EventRecorder;
  privacy: ContextPrivacy;
  isEnabled: () => boolean;
  omitValues: boolean;
  flagSignal: EventSignal;
  trackSignal: EventSignal;
  /** Invalid track() calls are reported once per instrumenter, then only counted. */
  warnedBadTrack: boolean;
}

const logger = diag.createComponentLogger({ namespace: 'flagsync-otel/instrumentation' });
let warnedNoGuard = false;

function wrapClient<C extends object>(client: C, settings: () => WrapSettings): C {
  const candidate = client as unknown as Partial<BrowserClient> & { [WRAPPED]?: boolean };
  if (candidate[WRAPPED] || typeof candidate.flag !== 'function' || typeof candidate.track !== 'function') return client;
  const browser = typeof candidate.core === 'object' && candidate.core !== null;
  const readiness = watchReadiness(candidate as ServerClient);
  const wrapped = browser
    ? wrapBrowserClient(candidate as BrowserClient, settings, readiness)
    : wrapServerClient(candidate as ServerClient, settings, readiness);
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  return wrapped as C;
}

function wrapServerClient(client: ServerClient, settings: () => WrapSettings, ready: () => boolean): ServerClient {
  const flag = client.flag;
  const track = client.track;
  return {
    ...client,
    flag(context: unknown, flagKey: unknown, defaultValue?: unknown) {
      const s = settings();
      if (!s.isEnabled() || typeof flagKey !== 'string' || !flagKey || !isContext(context)) {
        return flag(context, flagKey, defaultValue);
      }
      const target = safeTarget(s, EVENT_FEATURE_FLAG_EVALUATION, s.flagSignal);
      const guarded = guardActive();
      // With the guard on, the SDK gets a registered copy of the context, so the guard holds back
      // exactly this call's SDK impression; and a private default tells "missing" from "default".
      const probe = guarded && target !== undefined;
      const raw = flag(guarded ? ownContext(context) : context, flagKey, probe ? MISSING : defaultValue);
      if (target === undefined) return raw; // dropped by choice, counted in stats
      const missing = probe && raw === MISSING;
      const value = missing ? (defaultValue ?? CONTROL) : raw;
      // node-sdk records no impression for a missing flag; the event is still written for tracing.
      const errorType = missing ? (ready() ? ERROR_FLAG_NOT_FOUND : ERROR_PROVIDER_NOT_READY) : undefined;
      emitFlag(s, target, { flagKey, value, context, impression: !missing, reason: missing ? REASON_ERROR : REASON_UNKNOWN, errorType });
      return value;
    },
    track(context: unknown, eventKey: unknown, value?: unknown, properties?: unknown) {
      const s = settings();
      if (!s.isEnabled()) return track(context, eventKey, value, properties);
      // This package delivers the event; calling the SDK's track() would deliver it twice.
      recordTrack(s, context, eventKey, value, properties);
      return undefined;
    },
  };
}

function wrapBrowserClient(client: BrowserClient, settings: () => WrapSettings, ready: () => boolean): BrowserClient {
  const flag = client.flag;
  const track = client.track;
  const flags = client.flags;
  const wrapped: BrowserClient = {
    ...client,
    flag(flagKey: unknown, defaultValue?: unknown) {
      const s = settings();
      if (!s.isEnabled() || typeof flagKey !== 'string' || !flagKey) return flag(flagKey, defaultValue);
      const target = safeTarget(s, EVENT_FEATURE_FLAG_EVALUATION, s.flagSignal);
      const probe = guardActive() && target !== undefined;
      const raw = flag(flagKey, probe ? MISSING : defaultValue);
      if (target === undefined) return raw;
      const missing = probe && raw === MISSING;
      const value = missing ? (defaultValue ?? CONTROL) : raw;
      // js-sdk records an impression for every call, missing flags included.
      const errorType = missing ? (ready() ? ERROR_FLAG_NOT_FOUND : ERROR_PROVIDER_NOT_READY) : undefined;
      emitFlag(s, target, { flagKey, value, context: browserContext(client), impression: true, reason: missing ? REASON_ERROR : probe ? REASON_CACHED : REASON_UNKNOWN, errorType });
      return value;
    },
    track(eventKey: unknown, value?: unknown, properties?: unknown) {
      const s = settings();
      if (!s.isEnabled()) return track(eventKey, value, properties);
      recordTrack(s, browserContext(client), eventKey, value, properties);
      return undefined;
    },
  };
  if (typeof flags === 'function') {
    wrapped.flags = (defaultValues?: unknown) => {
      const result = flags(defaultValues);
      const s = settings();
      if (s.isEnabled() && result && typeof result === 'object') {
        for (const flagKey of Object.keys(result)) {
          const target = safeTarget(s, EVENT_FEATURE_FLAG_EVALUATION, s.flagSignal);
          if (target) emitFlag(s, target, { flagKey, value: (result as Record<string, unknown>)[flagKey], context: browserContext(client), impression: true, reason: REASON_CACHED });
        }
      }
      return result;
    };
  }
  return wrapped;
}

/** Our failures never reach the app: a failed lookup means "record nowhere". */
function safeTarget(s: WrapSettings, name: string, signal: EventSignal): RecordTarget | undefined {
  try {
    return s.recorder.target(name, signal);
  } catch (error) {
    logger.debug('recording failed', error);
    return undefined;
  }
}

function emitFlag(s: WrapSettings, target: RecordTarget, call: FlagEvaluation): void {
  try {
    s.recorder.emit(target, EVENT_FEATURE_FLAG_EVALUATION, flagEvaluationAttributes(call, s.privacy, s.omitValues), Date.now());
  } catch (error) {
    logger.debug('recording failed', error);
  }
}

function recordTrack(s: WrapSettings, context: unknown, eventKey: unknown, value: unknown, properties: unknown): void {
  if (!isContext(context) || typeof eventKey !== 'string' || !eventKey) {
    s.recorder.stats.dropped++;
    if (!s.warnedBadTrack) {
      s.warnedBadTrack = true;
      logger.warn('track() not recorded: it needs a context with a string key and a non-empty eventKey. Further ones are counted in stats.dropped without logging.');
    }
    return;
  }
  const target = safeTarget(s, EVENT_FLAGSYNC_TRACK, s.trackSignal);
  if (!target) return;
  try {
    s.recorder.emit(target, EVENT_FLAGSYNC_TRACK, trackAttributes({ context, eventKey, value, properties }, s.privacy), Date.now());
  } catch (error) {
    logger.debug('recording failed', error);
  }
}

/**
 * The guard holds back the SDK's copy of what we record. Without it the SDK delivers impressions
 * too, and the private default would reach FlagSync in them, so neither trick is used then.
 */
function guardActive(): boolean {
  if (isSdkDeliveryGuardInstalled()) return true;
  if (!warnedNoGuard) {
    warnedNoGuard = true;
    logger.warn('the FlagSync SDK delivery guard is not installed: FlagSync will also receive the SDK\'s own impressions. Call installSdkDeliveryGuard() or use FlagSyncInstrumentation.');
  }
  return false;
}

function watchReadiness(client: ServerClient): () => boolean {
  let ready = false;
  try {
    // waitForReadyCanThrow has no side effects; its rejection is already handled by the SDK.
    client.waitForReadyCanThrow?.().then(() => (ready = true), () => undefined);
  } catch {
    // not an SDK with readiness: treat as ready-unknown
  }
  return () => ready;
}

function browserContext(client: BrowserClient): FlagSyncUserContext {
  // js-sdk sends { key, attributes: core.attributes ?? {} } with every batch.
  return { key: client.core.key, attributes: client.core.attributes ?? {} };
}

function isContext(value: unknown): value is FlagSyncUserContext {
  return typeof value === 'object' && value !== null && typeof (value as FlagSyncUserContext).key === 'string';
}
