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
import { CLAIMED, claimClientImpression, isGuarded, ownContext, RELEASE, state, type Claim } from './claims.js';
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

/** What the wrapper recorded for a client it wrapped, and which calls it left to the SDK (undefined if not wrapped). */
export function getInstrumentationStats(client: object): RecorderStats | undefined {
  const stats = (client as { [WRAPPED]?: () => RecorderStats })[WRAPPED];
  return typeof stats === 'function' ? stats() : undefined;
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
  const candidate = client as unknown as Partial<BrowserClient> & { [WRAPPED]?: unknown };
  if (candidate[WRAPPED] || typeof candidate.flag !== 'function' || typeof candidate.track !== 'function')
    return client;
  const browser = typeof candidate.core === 'object' && candidate.core !== null;
  const readiness = watchReadiness(candidate as ServerClient);
  const wrapped = browser
    ? wrapBrowserClient(candidate as BrowserClient, settings, readiness)
    : wrapServerClient(candidate as ServerClient, settings, readiness);
  // Marks the client as wrapped, and reads its recorder's counts (getInstrumentationStats).
  Object.defineProperty(wrapped, WRAPPED, { value: () => settings().recorder.stats });
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
      if (!call) return flag(context, flagKey, defaultValue);
      const fallback = new Fallback(defaultValue ?? CONTROL);
      // The SDK may send its queue from inside this call: the guard waits until it is decided.
      state.inCall++;
      try {
        const result = flag(call.claim ?? context, flagKey, fallback);
        const value = resolveFallback(result, fallback);
        // node-sdk queues no impression for a missing flag, and one with the default for a flag
        // that served null; it stringifies a queued value at once. Either way its copy is right.
        const fellBack = result === fallback;
        const reason = fellBack ? (fallback.serialised > 0 ? REASON_DEFAULT : REASON_ERROR) : REASON_UNKNOWN;
        const errorType =
          fellBack && fallback.serialised === 0
            ? ready()
              ? ERROR_FLAG_NOT_FOUND
              : ERROR_PROVIDER_NOT_READY
            : undefined;
        finishFlag(s, call, flagKey, value, reason, errorType, !fellBack, fellBack);
        return value;
      } finally {
        state.inCall--;
      }
    },
    track(context: unknown, eventKey: unknown, value?: unknown, properties?: unknown) {
      const s = settings();
      return trackCall(
        s,
        () => prepareServerContext(context, s.privacy),
        eventKey,
        value,
        properties,
        () => track(context, eventKey, value, properties),
      );
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
      const call = beginBrowserFlag(s, client, Date.now());
      if (!call) return flag(flagKey, defaultValue);
      const fallback = new Fallback(defaultValue ?? CONTROL);
      state.inCall++;
      try {
        const result = flag(flagKey, fallback);
        const value = resolveFallback(result, fallback);
        // js-sdk queues an impression for every call, missing flags included, with the value it served.
        const fellBack = result === fallback;
        const errorType = fellBack ? (ready() ? ERROR_FLAG_NOT_FOUND : ERROR_PROVIDER_NOT_READY) : undefined;
        finishFlag(s, call, flagKey, value, fellBack ? REASON_ERROR : REASON_CACHED, errorType, true, false);
        return value;
      } finally {
        state.inCall--;
      }
    },
    track(eventKey: unknown, value?: unknown, properties?: unknown) {
      const s = settings();
      return trackCall(
        s,
        () => prepareBrowserContext(client.core, s.privacy),
        eventKey,
        value,
        properties,
        () => track(eventKey, value, properties),
      );
    },
  };
  if (typeof flags === 'function') {
    wrapped.flags = (defaultValues?: unknown) => {
      const s = settings();
      if (!s.isEnabled()) return flags(defaultValues);
      const startedAt = Date.now();
      state.inCall++;
      try {
        const result = flags(defaultValues);
        if (result && typeof result === 'object') {
          for (const flagKey of Object.keys(result)) {
            const call = beginBrowserFlag(s, client, startedAt);
            if (call)
              finishFlag(
                s,
                call,
                flagKey,
                (result as Record<string, unknown>)[flagKey],
                REASON_CACHED,
                undefined,
                true,
                false,
              );
          }
        }
        return result;
      } finally {
        state.inCall--;
      }
    };
  }
  return wrapped;
}

/** A flag() call being recorded: where, for whom, and how its SDK impression is claimed. */
class FlagCall {
  constructor(
    readonly target: RecordTarget,
    readonly context: PreparedContext,
    /** Taken before the SDK call, so a js-sdk claim's window covers the SDK's timestamp. */
    readonly startedAt: number,
    /** node-sdk: the context copy the SDK gets, which is also the claim on its impression. */
    readonly claim: (object & Claim) | undefined,
    /** js-sdk, guard in place: the client's own context key, for a claim made after the call. */
    readonly clientKey: string | undefined,
  ) {}
}

/** Decide, before the SDK call, whether and where a server flag() call can be recorded. */
function beginServerFlag(s: WrapSettings, context: unknown): FlagCall | undefined {
  try {
    // The cheaper check first: a call with nowhere to go costs no serialisation.
    const target = s.recorder.target(s.flagSignal, EVENT_FEATURE_FLAG_EVALUATION);
    if (!target) return void s.recorder.leftToSdk('no-exported-signal');
    const prepared = prepareServerContext(context, s.privacy);
    if (!prepared) return void s.recorder.leftToSdk('not-recordable');
    return new FlagCall(
      target,
      prepared,
      Date.now(),
      isGuarded('server') ? ownContext(context as object) : undefined,
      undefined,
    );
  } catch (error) {
    return void internalError(s, error);
  }
}

function beginBrowserFlag(s: WrapSettings, client: BrowserClient, startedAt: number): FlagCall | undefined {
  try {
    const target = s.recorder.target(s.flagSignal, EVENT_FEATURE_FLAG_EVALUATION);
    if (!target) return void s.recorder.leftToSdk('no-exported-signal');
    const prepared = prepareBrowserContext(client.core, s.privacy);
    if (!prepared) return void s.recorder.leftToSdk('not-recordable');
    return new FlagCall(
      target,
      prepared,
      startedAt,
      undefined,
      isGuarded('client') ? String(client.core.key) : undefined,
    );
  } catch (error) {
    return void internalError(s, error);
  }
}

/**
 * Record the evaluation and, if it was recorded and the SDK's copy can be held back, claim it.
 * Otherwise the SDK delivers its own impression (the event, if written, says so). `deliverable`:
 * the SDK queued an impression this package may deliver in its place.
 */
function finishFlag(
  s: WrapSettings,
  call: FlagCall,
  flagKey: string,
  value: unknown,
  reason: string,
  errorType: string | undefined,
  deliverable: boolean,
  fellBack: boolean,
): void {
  try {
    let claim: Claim | undefined;
    if (deliverable)
      claim =
        call.claim ??
        (call.clientKey !== undefined
          ? claimClientImpression(call.clientKey, flagKey, call.startedAt, Date.now())
          : undefined);
    const attributes = flagEvaluationAttributes(
      flagKey,
      value,
      call.context,
      claim !== undefined,
      reason,
      errorType,
      s.omitValues,
    );
    if (!attributes) {
      s.recorder.leftToSdk('not-recordable');
      return;
    }
    const problem = s.recorder.record(call.target, EVENT_FEATURE_FLAG_EVALUATION, attributes, call.startedAt, claim);
    if (problem) {
      s.recorder.leftToSdk(problem);
      return;
    }
    if (claim) claim[CLAIMED] = true;
    else s.recorder.leftToSdk(fellBack ? 'sdk-fallback' : 'not-guarded');
  } catch (error) {
    internalError(s, error);
  }
}

/** track() of either SDK: recorded (the SDK's own track() then does not run), else the SDK's call. */
function trackCall(
  s: WrapSettings,
  prepare: () => PreparedContext | undefined,
  eventKey: unknown,
  value: unknown,
  properties: unknown,
  native: () => unknown,
): unknown {
  if (!s.isEnabled()) return native();
  return recordTrack(s, safePrepare(s, prepare), eventKey, value, properties, native) ? undefined : native();
}

/** True when the call was recorded (the SDK's track() must not run); false leaves it to the SDK. */
function recordTrack(
  s: WrapSettings,
  context: PreparedContext | undefined,
  eventKey: unknown,
  value: unknown,
  properties: unknown,
  native: () => unknown,
): boolean {
  try {
    const attributes = context && trackAttributes(context, eventKey, value, properties);
    const target = attributes ? s.recorder.target(s.trackSignal, EVENT_FLAGSYNC_TRACK) : undefined;
    const problem = !attributes
      ? 'not-recordable'
      : !target
        ? 'no-exported-signal'
        : s.recorder.record(target, EVENT_FLAGSYNC_TRACK, attributes, Date.now(), new TrackClaim(native));
    if (!problem) return true;
    s.recorder.leftToSdk(problem);
    return false;
  } catch (error) {
    internalError(s, error);
    return false;
  }
}

/** A recorded track(): if a span later evicts its event, the SDK sends the event after all (with the later time). */
class TrackClaim implements Claim {
  [CLAIMED] = true;
  constructor(private readonly _native: () => unknown) {}
  [RELEASE](): void {
    if (!this[CLAIMED]) return;
    this[CLAIMED] = false;
    try {
      this._native();
    } catch (error) {
      logger.debug('handing a call back to the SDK failed', error);
    }
  }
}

/** A context that cannot even be read (a throwing getter) is left to the SDK. */
function safePrepare(s: WrapSettings, prepare: () => PreparedContext | undefined): PreparedContext | undefined {
  try {
    return prepare();
  } catch (error) {
    internalError(s, error);
    return undefined;
  }
}

/** Our failures never reach the app: they count as internal errors and leave the call to the SDK. */
function internalError(s: WrapSettings, error: unknown): void {
  logger.debug('recording failed', error);
  s.recorder.leftToSdk('internal-error' satisfies SdkDeliveryReason);
}

function watchReadiness(client: ServerClient): () => boolean {
  let ready = false;
  try {
    // waitForReadyCanThrow has no side effects; its rejection is already handled by the SDK.
    client.waitForReadyCanThrow?.().then(
      () => (ready = true),
      () => undefined,
    );
  } catch {
    // not an SDK with readiness: treat as ready-unknown
  }
  return () => ready;
}
