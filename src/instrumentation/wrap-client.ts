/**
 * Wraps a FlagSync client (either SDK's shape) so each `flag()` records a `feature_flag.evaluation`
 * event and each `track()` a `flagsync.track` event.
 *
 * Every call still goes to the SDK, which queues its own copy. Where the delivery setting names a
 * pipeline and the call was recorded on a signal that will be exported, the call is handed over:
 * the SDK delivery guard holds the SDK's copy until a receipt drops it, or sends it when the call
 * comes back (handover.ts). Anything else (no such signal, a value FlagSync would refuse,
 * attribute limits, an uncovered SDK, any internal error) stays the SDK's. `destroy()` (`close()`,
 * js-sdk `kill()`) flushes the OTel providers, waits for receipts within a deadline and gives the
 * rest back before the SDK's own shutdown. Return values and exceptions of the SDK pass through
 * untouched; our own failures never reach the app.
 */
import { diag, trace } from '@opentelemetry/api';
import {
  DELIVERY_SDK,
  ERROR_FLAG_NOT_FOUND,
  ERROR_PROVIDER_NOT_READY,
  EVENT_FEATURE_FLAG_EVALUATION,
  EVENT_FLAGSYNC_TRACK,
  REASON_CACHED,
  REASON_DEFAULT,
  REASON_ERROR,
  REASON_UNKNOWN,
  type Delivery,
} from '../conventions.js';
import type { EventSignal, FlagSyncInstrumentationOptions } from '../types.js';
import { countEvaluation, evaluationMetricsEnabled } from '../otel/evaluation-metrics.js';
import {
  flagEvaluationAttributes,
  variantOf,
  prepareBrowserContext,
  prepareServerContext,
  trackAttributes,
  type EventAttributes,
  type PreparedContext,
} from './attributes.js';
import { claimClientItem, closeClientClaim, isGuarded, ownContext, state, type Claim } from './claims.js';
import { checkInstrumentationOptions } from '../config/options.js';
import { deliveryFor, resolveHandover, type ResolvedHandover } from './delivery-mode.js';
import { Fallback, resolveFallback } from './fallback.js';
import { NO_DEFINITIONS, serverDefinitions, type DefinitionSource, type Served } from './flag-definitions.js';
import {
  allSettled,
  giveBackAll,
  handoverStats,
  onReturn,
  setReceiptTimeout,
  type HandoverStats,
  type Pipeline,
  type ReturnReason,
} from './handover.js';
import { currentLoggerProvider } from './logs-api.js';
import { resolveContextPrivacy, type ContextPrivacy } from './privacy.js';
import { EventRecorder, LogTarget, type RecorderStats, type RecordTarget, type SdkDeliveryReason } from './recorder.js';
import { guardRequestsDone } from './sdk-delivery-guard.js';
import { ThrottledLog } from '../delivery/throttled-log.js';

const CONTROL = 'control';
const WRAPPED = Symbol.for('flagsync-otel.wrapped-client');

type AnyFn = (...args: unknown[]) => unknown;
type ServerClient = { flag: AnyFn; track: AnyFn; waitForReadyCanThrow?: () => Promise<void> } & Record<string, unknown>;
type BrowserClient = ServerClient & { core: { key?: unknown; attributes?: unknown }; flags?: AnyFn };

/** What the wrapper recorded, which calls it left to the SDK, and what became of those it handed over. */
export interface InstrumentationStats extends RecorderStats {
  /** Calls handed to a pipeline: receipted, returned to the SDK (by reason), pending. Process-wide. */
  handover: HandoverStats;
}

export interface ClientInstrumenter {
  /** Counts of the current options' recorder (reset when the options object changes). */
  readonly stats: InstrumentationStats;
  wrap<C extends object>(client: C): C;
}

/**
 * Wrap one client. For Node apps prefer `FlagSyncInstrumentation` (registerInstrumentations), which
 * also installs the SDK delivery guard. With this manual wrapper, calls go through OpenTelemetry
 * only once the guard covers the SDK (`installSdkDeliveryGuard()` in Node,
 * `installBrowserSdkDeliveryGuard({ axios })` in browsers); until then the SDK delivers them.
 * Throws on invalid options (the message lists the valid values).
 */
export function instrumentFlagSyncClient<C extends object>(client: C, options: FlagSyncInstrumentationOptions = {}): C {
  checkInstrumentationOptions(options as Record<string, unknown>, 'instrumentFlagSyncClient');
  return createClientInstrumenter(options, () => true).wrap(client);
}

/** What the wrapper recorded for a client it wrapped, and what became of its calls (undefined if not wrapped). */
export function getInstrumentationStats(client: object): InstrumentationStats | undefined {
  const stats = (client as { [WRAPPED]?: () => InstrumentationStats })[WRAPPED];
  return typeof stats === 'function' ? stats() : undefined;
}

/**
 * `options` may be a getter: it is read on every call, so `setConfig()` on the instrumentation
 * applies to clients wrapped earlier. Settings are re-resolved only when the object changes; they
 * are resolved once here, so invalid options throw at construction.
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
  settings();
  const stats = (): InstrumentationStats => ({ ...settings().recorder.stats, handover: handoverStats() });
  return {
    get stats() {
      return stats();
    },
    wrap: (client) => wrapClient(client, settings, stats),
  };
}

interface WrapSettings {
  recorder: EventRecorder;
  privacy: ContextPrivacy;
  isEnabled: () => boolean;
  omitValues: boolean;
  /** Count evaluations in `feature_flag.evaluations` (off by default). */
  metrics: boolean;
  flagSignal: EventSignal;
  trackSignal: EventSignal;
  handover: ResolvedHandover;
}

function resolveSettings(options: FlagSyncInstrumentationOptions, isEnabled: () => boolean): WrapSettings {
  const handover = resolveHandover(options);
  setReceiptTimeout(handover.receiptTimeoutMillis);
  return {
    recorder: new EventRecorder(options),
    privacy: resolveContextPrivacy(options),
    isEnabled,
    omitValues: options.omitFlagValues ?? false,
    metrics: evaluationMetricsEnabled(options.evaluationMetrics),
    flagSignal: options.flagSignal ?? 'span',
    trackSignal: options.trackSignal ?? 'span',
    handover,
  };
}

const logger = diag.createComponentLogger({ namespace: 'flagsync-otel/instrumentation' });
const returns = new ThrottledLog(logger);
onReturn((reason, count) => {
  // At the app's end the SDK taking back what is undecided is the plan, not a problem.
  if (reason === 'shutdown') return;
  returns.log(
    'warn',
    reason,
    `${count} FlagSync call(s) went back to the FlagSync SDK's own delivery (${RETURN_CAUSES[reason]}); the SDK ` +
      'delivers them. Counted in getInstrumentationStats(client).handover.returned',
  );
});

const RETURN_CAUSES: Record<ReturnReason, string> = {
  'no-receipt':
    'no exporter took them within the receipt timeout: is the FlagSync (or OTLP) exporter on their provider?',
  'export-failed': "the app's OTLP export to the collector failed",
  refused: "FlagSync refused them, or the exporter's key or URL",
  'queue-full': "the FlagSync exporter's queue was full",
  shutdown: 'the app ended before a receipt',
  'span-event-limit': "the span's event limit evicted their events",
};

const DESTINATIONS: Record<Delivery, string> = {
  sdk: 'the FlagSync SDK (the OpenTelemetry events are telemetry)',
  exporter: "this process's FlagSync exporters, each call against FlagSync's answer",
  collector: "a collector's flagsync exporter, each call against the OTLP export's answer",
};
let announced = false;

/**
 * Once per process, at the first call: where this process's FlagSync calls go. An info line, so
 * through diag only (problems also reach stderr; this is not one).
 */
function announce(setting: string, delivery: Delivery): void {
  announced = true;
  logger.info(`FlagSync calls from this process go to ${DESTINATIONS[delivery]} (delivery: ${setting})`);
}

/** The two SDK shapes, seen through what the one flag() and track() need of them. */
interface Shape {
  readonly sdk: 'server' | 'client';
  /** The context as recorded, after the privacy options; undefined when it cannot be recorded faithfully. */
  prepare(s: WrapSettings, context: unknown): PreparedContext | undefined;
  /** A claim on the SDK's copy of the call, made before the SDK call (undefined: the SDK keeps the call). */
  claim(kind: 'impression' | 'event', context: unknown, name: string, now: number): Claim | undefined;
  /** What the SDK's answer to flag() says: reason, error type, and whether the SDK queued the impression. */
  flagOutcome(fellBack: boolean, fallback: Fallback, ready: boolean): FlagOutcome;
  /** The flag definitions the SDK downloaded, where it keeps any (flag-definitions.ts). */
  readonly definitions: DefinitionSource;
  /** The SDK's own flag() and track(), given the context the SDK gets (js-sdk has its own). */
  readonly flag: (sdkContext: unknown, flagKey: string, fallback: unknown) => unknown;
  readonly track: (sdkContext: unknown, eventKey: unknown, value: unknown, properties: unknown) => unknown;
}

interface FlagOutcome {
  reason: string;
  errorType: string | undefined;
  /** The SDK queued an impression this package may deliver in its place. */
  deliverable: boolean;
}

// The outcomes of a served flag: one object each, not one per call.
const SERVED_BY_NODE_SDK: FlagOutcome = Object.freeze({
  reason: REASON_UNKNOWN,
  errorType: undefined,
  deliverable: true,
});
const SERVED_BY_JS_SDK: FlagOutcome = Object.freeze({ reason: REASON_CACHED, errorType: undefined, deliverable: true });
const DEFAULT_SERVED: FlagOutcome = Object.freeze({ reason: REASON_DEFAULT, errorType: undefined, deliverable: false });

function serverShape(client: ServerClient): Shape {
  const flag = client.flag;
  const track = client.track;
  return {
    sdk: 'server',
    definitions: serverDefinitions(client),
    prepare: (s, context) => prepareServerContext(context, s.privacy),
    claim: (_kind, context) => ownContext(context as object),
    flagOutcome(fellBack, fallback, ready) {
      // node-sdk queues no impression for a missing flag, and one with the default for a flag that
      // served null; it stringifies a queued value at once. Either way its copy is right.
      if (!fellBack) return SERVED_BY_NODE_SDK;
      if (fallback.serialised > 0) return DEFAULT_SERVED;
      return {
        reason: REASON_ERROR,
        errorType: ready ? ERROR_FLAG_NOT_FOUND : ERROR_PROVIDER_NOT_READY,
        deliverable: false,
      };
    },
    flag: (sdkContext, flagKey, fallback) => flag(sdkContext, flagKey, fallback),
    track: (sdkContext, eventKey, value, properties) => track(sdkContext, eventKey, value, properties),
  };
}

function browserShape(client: BrowserClient): Shape {
  const flag = client.flag;
  const track = client.track;
  return {
    sdk: 'client',
    definitions: NO_DEFINITIONS,
    prepare: (s) => prepareBrowserContext(client.core, s.privacy),
    claim: (kind, _context, name, now) => claimClientItem(kind, String(client.core.key), name, now),
    flagOutcome(fellBack, _fallback, ready) {
      // js-sdk queues an impression for every call, missing flags included, with the value it served.
      if (!fellBack) return SERVED_BY_JS_SDK;
      return {
        reason: REASON_ERROR,
        errorType: ready ? ERROR_FLAG_NOT_FOUND : ERROR_PROVIDER_NOT_READY,
        deliverable: true,
      };
    },
    flag: (_sdkContext, flagKey, fallback) => flag(flagKey, fallback),
    track: (_sdkContext, eventKey, value, properties) => track(eventKey, value, properties),
  };
}

function wrapClient<C extends object>(client: C, settings: () => WrapSettings, stats: () => InstrumentationStats): C {
  const candidate = client as unknown as Partial<BrowserClient> & { [WRAPPED]?: unknown };
  if (candidate[WRAPPED] || typeof candidate.flag !== 'function' || typeof candidate.track !== 'function')
    return client;
  const browser = typeof candidate.core === 'object' && candidate.core !== null;
  const ready = watchReadiness(candidate as ServerClient);
  const wrapped = browser
    ? wrapBrowserClient(candidate as BrowserClient, settings, ready)
    : wrapServerClient(candidate as ServerClient, settings, ready);
  // Marks the client as wrapped, and reads its counts (getInstrumentationStats).
  Object.defineProperty(wrapped, WRAPPED, { value: stats });
  return wrapped as C;
}

function wrapServerClient(client: ServerClient, settings: () => WrapSettings, ready: () => boolean): ServerClient {
  const shape = serverShape(client);
  const wrapped: ServerClient = {
    ...client,
    flag: (context: unknown, flagKey: unknown, defaultValue?: unknown) =>
      flagCall(settings(), shape, ready, context, flagKey, defaultValue),
    track: (context: unknown, eventKey: unknown, value?: unknown, properties?: unknown) =>
      trackCall(settings(), shape, context, eventKey, value, properties),
  };
  for (const name of ['destroy', 'close'] as const) {
    const end = client[name];
    if (typeof end === 'function') wrapped[name] = () => endClient(settings(), () => end.call(client));
  }
  return wrapped;
}

function wrapBrowserClient(client: BrowserClient, settings: () => WrapSettings, ready: () => boolean): BrowserClient {
  const flags = client.flags;
  const kill = client.kill;
  const shape = browserShape(client);
  const wrapped: BrowserClient = {
    ...client,
    flag: (flagKey: unknown, defaultValue?: unknown) =>
      flagCall(settings(), shape, ready, client.core, flagKey, defaultValue),
    track: (eventKey: unknown, value?: unknown, properties?: unknown) =>
      trackCall(settings(), shape, client.core, eventKey, value, properties),
  };
  if (typeof flags === 'function') {
    wrapped.flags = (defaultValues?: unknown) => allFlagsCall(settings(), shape, defaultValues, flags);
  }
  if (typeof kill === 'function') {
    // js-sdk's kill() flushes at once (page hide): nothing can wait, so every undecided call goes back first.
    wrapped.kill = () => {
      try {
        giveBackAll('shutdown');
      } catch (error) {
        logger.debug('handing calls back at kill() failed', error);
      }
      return kill.call(client);
    };
  }
  return wrapped;
}

/** Where and for whom a call is recorded, who delivers it, and its claim (if the SDK's copy is handed over). */
interface Plan {
  target: RecordTarget;
  context: PreparedContext;
  delivery: Delivery;
  claim: Claim | undefined;
  startedAt: number;
}

/**
 * Decide, before the SDK call, whether and where a call can be recorded and who delivers it.
 * Undefined: nothing is recorded (counted), the SDK has the call. (Arguments, not an object: this
 * runs on every call.)
 */
function plan(
  s: WrapSettings,
  shape: Shape,
  signal: EventSignal,
  eventName: string,
  context: unknown,
  kind: 'impression' | 'event',
  name: string,
  startedAt: number,
): Plan | undefined {
  try {
    // The cheaper check first: a call with nowhere to go costs no serialisation.
    const target = s.recorder.target(signal, eventName);
    if (!target) return void s.recorder.leftToSdk('no-exported-signal');
    const prepared = shape.prepare(s, context);
    if (!prepared) return void s.recorder.leftToSdk('not-recordable');
    const delivery = deliveryFor(s.handover.delivery, target instanceof LogTarget ? 'log' : 'span');
    if (!announced) announce(s.handover.delivery, delivery);
    const claim =
      delivery !== DELIVERY_SDK && isGuarded(shape.sdk) ? shape.claim(kind, context, name, startedAt) : undefined;
    return { target, context: prepared, delivery, claim, startedAt };
  } catch (error) {
    return void internalError(s, error);
  }
}

function flagCall(
  s: WrapSettings,
  shape: Shape,
  ready: () => boolean,
  context: unknown,
  flagKey: unknown,
  defaultValue: unknown,
): unknown {
  if (!s.isEnabled() || typeof flagKey !== 'string' || !flagKey)
    return shape.flag(context, flagKey as string, defaultValue);
  const call = plan(s, shape, s.flagSignal, EVENT_FEATURE_FLAG_EVALUATION, context, 'impression', flagKey, Date.now());
  if (!call)
    return s.metrics
      ? unrecordedFlag(s, shape, ready, context, flagKey, defaultValue)
      : shape.flag(context, flagKey, defaultValue);
  const fallback = new Fallback(defaultValue ?? CONTROL);
  // The SDK may send its queue from inside this call: the guard waits until it is decided.
  state.inCall++;
  try {
    const result = shape.flag(shape.sdk === 'server' ? (call.claim ?? context) : context, flagKey, fallback);
    const value = resolveFallback(result, fallback);
    const fellBack = result === fallback;
    const outcome = shape.flagOutcome(fellBack, fallback, ready());
    finishFlag(s, call, flagKey, value, outcome, servedFor(shape, flagKey, value, fellBack, outcome));
    return value;
  } finally {
    state.inCall--;
  }
}

/** A call recorded nowhere, with evaluation metrics on: the SDK's answer is only counted. */
function unrecordedFlag(
  s: WrapSettings,
  shape: Shape,
  ready: () => boolean,
  context: unknown,
  flagKey: string,
  defaultValue: unknown,
): unknown {
  const fallback = new Fallback(defaultValue ?? CONTROL);
  const result = shape.flag(context, flagKey, fallback);
  const value = resolveFallback(result, fallback);
  const fellBack = result === fallback;
  const outcome = shape.flagOutcome(fellBack, fallback, ready());
  const served = servedFor(shape, flagKey, value, fellBack, outcome);
  count(s, flagKey, variantOf(served?.variant, value, outcome.errorType !== undefined, s.omitValues), outcome, served);
  return value;
}

/**
 * What a served value means (flag-definitions.ts): its variant and reason, where the SDK's definitions
 * explain it. Never throws: a failure here leaves the SDK's outcome's reason and no variant name.
 */
function servedFor(
  shape: Shape,
  flagKey: string,
  value: unknown,
  fellBack: boolean,
  outcome: FlagOutcome,
): Served | undefined {
  if (fellBack || outcome.errorType !== undefined) return undefined;
  try {
    return shape.definitions.served(flagKey, value);
  } catch (error) {
    logger.debug('describing an evaluation failed', error);
    return undefined;
  }
}

/** Count the evaluation in the evaluation metrics when they are on. */
function count(
  s: WrapSettings,
  flagKey: string,
  variant: string | undefined,
  outcome: FlagOutcome,
  served: Served | undefined,
): void {
  if (!s.metrics) return;
  try {
    // The series can be kept on the definition's entry only when it holds the variant as written.
    const slot = s.omitValues ? undefined : served;
    countEvaluation(flagKey, variant, served?.reason ?? outcome.reason, outcome.errorType, slot);
  } catch (error) {
    logger.debug('counting an evaluation failed', error);
  }
}

/** js-sdk `flags()`: every flag it serves at once, each recorded as one evaluation. */
function allFlagsCall(s: WrapSettings, shape: Shape, defaultValues: unknown, flags: AnyFn): unknown {
  if (!s.isEnabled()) return flags(defaultValues);
  const startedAt = Date.now();
  state.inCall++;
  try {
    const result = flags(defaultValues);
    if (result && typeof result === 'object') {
      for (const [flagKey, value] of Object.entries(result as Record<string, unknown>)) {
        const served = servedFor(shape, flagKey, value, false, SERVED_BY_JS_SDK);
        const call = plan(
          s,
          shape,
          s.flagSignal,
          EVENT_FEATURE_FLAG_EVALUATION,
          undefined,
          'impression',
          flagKey,
          startedAt,
        );
        if (!call) {
          count(s, flagKey, variantOf(served?.variant, value, false, s.omitValues), SERVED_BY_JS_SDK, served);
          continue;
        }
        finishFlag(s, call, flagKey, value, SERVED_BY_JS_SDK, served);
      }
    }
    return result;
  } finally {
    state.inCall--;
  }
}

/**
 * Record the evaluation; hand it over when it was recorded and the SDK queued a copy this package
 * may deliver in its place. Otherwise the SDK delivers it (the event says so).
 */
function finishFlag(
  s: WrapSettings,
  call: Plan,
  flagKey: string,
  value: unknown,
  outcome: FlagOutcome,
  served: Served | undefined,
): void {
  try {
    if (call.claim) closeClientClaim(call.claim);
    const claim = outcome.deliverable ? call.claim : undefined;
    const variant = variantOf(served?.variant, value, outcome.errorType !== undefined, s.omitValues);
    count(s, flagKey, variant, outcome, served);
    const attributes = flagEvaluationAttributes(
      call.context,
      claim ? call.delivery : DELIVERY_SDK,
      flagKey,
      value,
      served?.reason ?? outcome.reason,
      variant,
      outcome.errorType,
      s.omitValues,
    );
    if (!attributes) {
      s.recorder.leftToSdk('not-recordable');
      return;
    }
    const problem = s.recorder.record(
      call.target,
      EVENT_FEATURE_FLAG_EVALUATION,
      attributes,
      call.startedAt,
      claim,
      call.delivery as Pipeline,
    );
    if (problem) s.recorder.leftToSdk(problem);
    else if (!claim) s.recorder.leftToSdk(leftReason(call, outcome.deliverable));
  } catch (error) {
    internalError(s, error);
  }
}

/** Why a recorded call was not handed over: the setting said SDK, the SDK fell back, or no guard covers it. */
function leftReason(call: Plan, deliverable: boolean): SdkDeliveryReason {
  if (call.delivery === DELIVERY_SDK) return 'delivery-setting';
  return deliverable ? 'not-guarded' : 'sdk-fallback';
}

/** track() of either SDK: the SDK always queues its copy; a recorded call is handed over with it. */
function trackCall(
  s: WrapSettings,
  shape: Shape,
  context: unknown,
  eventKey: unknown,
  value: unknown,
  properties: unknown,
): unknown {
  if (!s.isEnabled()) return shape.track(context, eventKey, value, properties);
  const call =
    typeof eventKey === 'string' && eventKey !== ''
      ? plan(s, shape, s.trackSignal, EVENT_FLAGSYNC_TRACK, context, 'event', eventKey, Date.now())
      : void s.recorder.leftToSdk('not-recordable');
  const attributes = call && trackEventAttributes(s, call, eventKey, value, properties);
  // A call that cannot be recorded gives the SDK the app's own context, claimed by nobody.
  const claim = attributes ? call.claim : undefined;
  // The SDK may send its queue from inside this call (node-sdk, at 50 queued): the guard waits until it is decided.
  state.inCall++;
  try {
    const result = shape.track(shape.sdk === 'server' ? (claim ?? context) : context, eventKey, value, properties);
    if (call && attributes) finishTrack(s, call, attributes);
    return result;
  } finally {
    state.inCall--;
  }
}

function trackEventAttributes(s: WrapSettings, call: Plan, eventKey: unknown, value: unknown, properties: unknown) {
  try {
    const delivery = call.claim ? call.delivery : DELIVERY_SDK;
    const attributes = trackAttributes(call.context, delivery, eventKey, value, properties);
    if (!attributes) s.recorder.leftToSdk('not-recordable');
    return attributes;
  } catch (error) {
    return void internalError(s, error);
  }
}

function finishTrack(s: WrapSettings, call: Plan, attributes: EventAttributes): void {
  try {
    if (call.claim) closeClientClaim(call.claim);
    const problem = s.recorder.record(
      call.target,
      EVENT_FLAGSYNC_TRACK,
      attributes,
      call.startedAt,
      call.claim,
      call.delivery as Pipeline,
    );
    if (problem) s.recorder.leftToSdk(problem);
    else if (!call.claim) s.recorder.leftToSdk(leftReason(call, true));
  } catch (error) {
    internalError(s, error);
  }
}

/**
 * The client's own shutdown, after the calls it handed over are settled: OTel providers flushed,
 * receipts waited for until the deadline, the rest given back so the SDK's shutdown sends them.
 */
async function endClient(s: WrapSettings, end: () => unknown): Promise<unknown> {
  const deadline = Date.now() + s.handover.destroyTimeoutMillis;
  try {
    await flushProviders(deadline);
    await allSettled(deadline);
    giveBackAll('shutdown');
  } catch (error) {
    logger.debug('settling calls before destroy() failed', error);
    giveBackAll('shutdown');
  }
  const result = await end();
  // Calls given back from requests the guard was holding go out in requests of their own.
  await guardRequestsDone(Math.max(deadline, Date.now() + 1000)).catch(() => undefined);
  return result;
}

/** Export what the app's tracer and logger providers hold, so its FlagSync calls get their receipts. */
async function flushProviders(deadline: number): Promise<void> {
  const providers = [delegateOf(trace.getTracerProvider()), currentLoggerProvider()];
  const flushes = providers.map((provider) => {
    const flush = (provider as { forceFlush?: () => Promise<unknown> } | undefined)?.forceFlush;
    return typeof flush === 'function' ? Promise.resolve(flush.call(provider)).catch(() => undefined) : undefined;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(flushes),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
  ]);
  clearTimeout(timer);
}

/** The API's global tracer provider is a proxy; the SDK's provider is its delegate. */
function delegateOf(provider: unknown): unknown {
  const getDelegate = (provider as { getDelegate?: () => unknown } | undefined)?.getDelegate;
  return typeof getDelegate === 'function' ? getDelegate.call(provider) : provider;
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
