/**
 * Wraps a FlagSync client (either SDK's shape) so each `flag()` records a `feature_flag.evaluation`
 * event and each `track()` a `flagsync.track` event.
 *
 * Exactly once: a call is taken away from the SDK's own delivery only when it was recorded on a
 * signal that will be exported. Anything else (no such signal, a value FlagSync would refuse,
 * attribute limits, an uncovered SDK, any internal error) goes through the SDK unchanged. Return
 * values and exceptions of the SDK pass through untouched; our own failures never reach the app.
 */
import { diag } from '@opentelemetry/api';
import {
  ERROR_FLAG_NOT_FOUND,
  ERROR_PROVIDER_NOT_READY,
  EVENT_FEATURE_FLAG_EVALUATION,
  EVENT_FLAGSYNC_TRACK,
  REASON_CACHED,
  REASON_DEFAULT,
  REASON_ERROR,
  REASON_UNKNOWN,
} from '../conventions.js';
import type { EventSignal, FlagSyncInstrumentationOptions } from '../types.js';
import {
  flagEvaluationAttributes,
  prepareBrowserContext,
  prepareServerContext,
  trackAttributes,
  type PreparedContext,
} from './attributes.js';
import { claimClientImpression, isGuarded, ownContext, type Claim } from './claims.js';
import { Fallback, resolveFallback } from './fallback.js';
import { resolveContextPrivacy, type ContextPrivacy } from './privacy.js';
import { EventRecorder, type RecorderStats, type RecordTarget, type SdkDeliveryReason } from './recorder.js';

const CONTROL = 'control';
const WRAPPED = Symbol.for('flagsync-otel.wrapped-client');

type AnyFn = (...args: unknown[]) => unknown;
type ServerClient = { flag: AnyFn; track: AnyFn; waitForReadyCanThrow?: () => Promise<void> };
type BrowserClient = ServerClient & { core: { key?: unknown; attributes?: unknown }; flags?: AnyFn };

export interface ClientInstrumenter {
  /** Counts of the current options' recorder (reset when the options object changes). */
  readonly stats: RecorderStats;
  wrap<C extends object>(client: C): C;
}

/**
 * Wrap one client. For Node apps prefer `FlagSyncInstrumentation` (registerInstrumentations), which
 * also installs the SDK delivery guard. With this manual wrapper, impressions go through
 * OpenTelemetry only once the guard covers the SDK (`installSdkDeliveryGuard()` in Node,
 * `installBrowserSdkDeliveryGuard({ axios })` in browsers); until then the SDK delivers them.
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

interface WrapSettings {
  recorder: EventRecorder;
  privacy: ContextPrivacy;
  isEnabled: () => boolean;
  omitValues: boolean;
  flagSignal: EventSignal;
  trackSignal: EventSignal;
}

function resolveSettings(options: FlagSyncInstrumentationOptions, isEnabled: () => boolean): WrapSettings {
  return {
    recorder: new EventRecorder(options),
    privacy: resolveContextPrivacy(options),
    isEnabled,
    omitValues: options.omitFlagValues ?? false,
    flagSignal: options.flagSignal ?? 'span',
    trackSignal: options.trackSignal ?? 'span',
  };
}

const logger = diag.createComponentLogger({ namespace: 'flagsync-otel/instrumentation' });

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
      if (!s.isEnabled() || typeof flagKey !== 'string' || !flagKey) return flag(context, flagKey, defaultValue);
      const call = beginServerFlag(s, context);
      const fallback = new Fallback(defaultValue ?? CONTROL);
      const result = flag(call?.owned ?? context, flagKey, fallback);
      const value = resolveFallback(result, fallback);
      if (call) {
        // node-sdk queues no impression for a missing flag, and one with the default for a flag
        // that served null; it stringifies a queued value at once. Either way its copy is right.
        const fellBack = result === fallback;
        const reason = fellBack ? (fallback.serialised > 0 ? REASON_DEFAULT : REASON_ERROR) : REASON_UNKNOWN;
        const errorType = fellBack && fallback.serialised === 0 ? (ready() ? ERROR_FLAG_NOT_FOUND : ERROR_PROVIDER_NOT_READY) : undefined;
        finishFlag(s, call, { flagKey, value, reason, errorType, deliverable: !fellBack, fellBack });
      }
      return value;
    },
    track(context: unknown, eventKey: unknown, value?: unknown, properties?: unknown) {
      const s = settings();
      if (!s.isEnabled()) return track(context, eventKey, value, properties);
      const native = () => track(context, eventKey, value, properties);
      if (recordTrack(s, () => prepareServerContext(context, s.privacy), eventKey, value, properties, native)) return undefined;
      return native();
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
      const call = beginBrowserFlag(s, client, flagKey, Date.now());
      const fallback = new Fallback(defaultValue ?? CONTROL);
      const result = flag(flagKey, fallback);
      const value = resolveFallback(result, fallback);
      if (call) {
        // js-sdk queues an impression for every call, missing flags included, with the value it served.
        const fellBack = result === fallback;
        const errorType = fellBack ? (ready() ? ERROR_FLAG_NOT_FOUND : ERROR_PROVIDER_NOT_READY) : undefined;
        finishFlag(s, call, { flagKey, value, reason: fellBack ? REASON_ERROR : REASON_CACHED, errorType, deliverable: true, fellBack: false });
      }
      return value;
    },
    track(eventKey: unknown, value?: unknown, properties?: unknown) {
      const s = settings();
      if (!s.isEnabled()) return track(eventKey, value, properties);
      const native = () => track(eventKey, value, properties);
      if (recordTrack(s, () => prepareBrowserContext(client.core, s.privacy), eventKey, value, properties, native)) return undefined;
      return native();
    },
  };
  if (typeof flags === 'function') {
    wrapped.flags = (defaultValues?: unknown) => {
      const s = settings();
      if (!s.isEnabled()) return flags(defaultValues);
      const startedAt = Date.now();
      const result = flags(defaultValues);
      if (result && typeof result === 'object') {
        for (const flagKey of Object.keys(result)) {
          const call = beginBrowserFlag(s, client, flagKey, startedAt);
          if (call) finishFlag(s, call, { flagKey, value: (result as Record<string, unknown>)[flagKey], reason: REASON_CACHED, deliverable: true, fellBack: false });
        }
      }
      return result;
    };
  }
  return wrapped;
}

/** A flag() call being recorded: where, for whom, and how its SDK impression is claimed. */
interface FlagCall {
  target: RecordTarget | undefined;
  context: PreparedContext;
  /** node-sdk: the context copy the SDK gets, so its impression can be claimed. */
  owned?: object;
  /** Creates the claim on the SDK's impression (once the SDK call is done), or undefined if uncovered. */
  claim: () => (Claim & { ours: boolean }) | undefined;
  startedAt: number;
}

interface FlagOutcome {
  flagKey: string;
  value: unknown;
  reason: string;
  errorType?: string | undefined;
  /** The SDK queued an impression this package may deliver in its place. */
  deliverable: boolean;
  fellBack: boolean;
}

/** Decide, before the SDK call, whether and where a server flag() call can be recorded. */
function beginServerFlag(s: WrapSettings, context: unknown): FlagCall | undefined {
  return safely(s, () => {
    const prepared = prepareServerContext(context, s.privacy);
    if (!prepared) return void s.recorder.leftToSdk('not-recordable');
    const target = s.recorder.target(s.flagSignal, EVENT_FEATURE_FLAG_EVALUATION);
    if (!target) return void s.recorder.leftToSdk('no-exported-signal');
    if (!isGuarded('server')) return { target, context: prepared, claim: () => undefined, startedAt: Date.now() };
    const { owned, claim } = ownContext(context as object);
    return { target, context: prepared, owned, claim: () => claim, startedAt: Date.now() };
  });
}

/** `startedAt` is taken before the SDK call: the claim covers the SDK's timestamp for it. */
function beginBrowserFlag(s: WrapSettings, client: BrowserClient, flagKey: string, startedAt: number): FlagCall | undefined {
  return safely(s, () => {
    const prepared = prepareBrowserContext(client.core, s.privacy);
    if (!prepared) return void s.recorder.leftToSdk('not-recordable');
    const target = s.recorder.target(s.flagSignal, EVENT_FEATURE_FLAG_EVALUATION);
    if (!target) return void s.recorder.leftToSdk('no-exported-signal');
    const coreKey = String(client.core.key);
    const claim = isGuarded('client') ? () => claimClientImpression(coreKey, flagKey, startedAt, Date.now()) : () => undefined;
    return { target, context: prepared, claim, startedAt };
  });
}

/**
 * Record the evaluation and, if it was recorded and the SDK's copy can be held back, claim it.
 * Otherwise the SDK delivers its own impression (the event, if written, says so).
 */
function finishFlag(s: WrapSettings, call: FlagCall, outcome: FlagOutcome): void {
  safely(s, () => {
    const claim = outcome.deliverable ? call.claim() : undefined;
    const attributes = flagEvaluationAttributes(
      { flagKey: outcome.flagKey, value: outcome.value, context: call.context, impression: claim !== undefined, reason: outcome.reason, errorType: outcome.errorType },
      s.omitValues,
    );
    if (!attributes) return void s.recorder.leftToSdk('not-recordable');
    const problem = s.recorder.record(call.target!, EVENT_FEATURE_FLAG_EVALUATION, attributes, call.startedAt, claim);
    if (problem) return void s.recorder.leftToSdk(problem);
    if (claim) claim.ours = true;
    else s.recorder.leftToSdk(outcome.fellBack ? 'sdk-fallback' : 'not-guarded');
  });
}

/** True when the call was recorded (the SDK's track() must not run); false leaves it to the SDK. */
function recordTrack(
  s: WrapSettings,
  prepare: () => PreparedContext | undefined,
  eventKey: unknown,
  value: unknown,
  properties: unknown,
  native: () => unknown,
): boolean {
  return (
    safely(s, () => {
      const context = prepare();
      const attributes = context && trackAttributes(context, eventKey, value, properties);
      if (!attributes) return void s.recorder.leftToSdk('not-recordable');
      const target = s.recorder.target(s.trackSignal, EVENT_FLAGSYNC_TRACK);
      if (!target) return void s.recorder.leftToSdk('no-exported-signal');
      // If a span later evicts this event, the SDK sends the event after all (its timestamp is then the later time).
      const claim: Claim = { ours: true, release: () => void safelyCall(native) };
      const problem = s.recorder.record(target, EVENT_FLAGSYNC_TRACK, attributes, Date.now(), claim);
      if (problem) return void s.recorder.leftToSdk(problem);
      return true;
    }) === true
  );
}

/** Our failures never reach the app: they count as internal errors and leave the call to the SDK. */
function safely<T>(s: WrapSettings, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    logger.debug('recording failed', error);
    s.recorder.leftToSdk('internal-error' satisfies SdkDeliveryReason);
    return undefined;
  }
}

function safelyCall(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    logger.debug('handing a call back to the SDK failed', error);
  }
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
