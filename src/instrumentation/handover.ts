/**
 * Receipts: a call leaves the FlagSync SDK's hands only against one.
 *
 * A call recorded for a pipeline (`flagsync.delivery` exporter or collector) is handed over: its
 * claim is PENDING and the SDK delivery guard holds the SDK's copy. A consumer that takes it
 * (this process's FlagSync exporter, or the app's OTLP exporter in collector mode) makes it TAKEN;
 * its answer makes it RECEIPTED (the SDK's copy is dropped) or RETURNED (the SDK's copy goes out).
 * A PENDING claim nobody takes within the receipt timeout, and every unsettled claim when the app
 * ends (`client.destroy()`), is RETURNED. Settled is final: no state delivers a call twice.
 *
 * A consumer finds an untaken claim by its holder (the span id of the span that carries the event,
 * a string the span already has, so no span is kept alive and no identity hash is added to the
 * SDK's object; or a log-based event's call id) and its event. Every handed-over call waits in one
 * queue in hand-over order until it is settled: an exporter mostly meets calls in that order, so it
 * finds one among the first few past the lookup's head, with no map to fill or empty per call. A claim
 * a lookup has to walk past is indexed by holder then (each at most once), as are collector-mode claims
 * (a span's OTLP export takes all its calls by span id) and claims whose event is not known. The sweep
 * and the app's end walk the same queue; taking or settling a call costs no lookup, and writes no
 * neighbour (linking each claim into a list cost 500 to 1,000 instructions a call). State
 * lives on globalThis so the ESM and CommonJS builds, loaded side by side, share it. Browser-safe.
 */
import {
  ATTR_FLAGSYNC_DELIVERY,
  ATTR_FLAGSYNC_SIZE,
  DELIVERY_COLLECTOR,
  type DELIVERY_EXPORTER,
  DELIVERY_SDK,
} from '../conventions.js';

export const OPEN = 0;
const PENDING = 1;
const TAKEN = 2;
export const RECEIPTED = 3;
export const RETURNED = 4;
export type ClaimState = typeof OPEN | typeof PENDING | typeof TAKEN | typeof RECEIPTED | typeof RETURNED;

/** Who a handed-over call went to. */
export type Pipeline = typeof DELIVERY_EXPORTER | typeof DELIVERY_COLLECTOR;

/** Why a handed-over call went back to the SDK's own delivery. */
export type ReturnReason =
  /** No consumer took it within the receipt timeout (no FlagSync exporter or OTLP exporter exported it). */
  | 'no-receipt'
  /** The app's OTLP export of the batch holding it failed or timed out (collector mode). */
  | 'export-failed'
  /** FlagSync refused the batch holding it (a 4xx), or a setting is wrong (401/403/404). */
  | 'refused'
  /** The FlagSync exporter's queue was full. */
  | 'queue-full'
  /** The app or the exporter ended before a receipt. */
  | 'shutdown'
  /** The span's event limit evicted its event. */
  | 'span-event-limit';

export const STATE = Symbol.for('flagsync-otel.claim.state');
const PIPELINE = Symbol.for('flagsync-otel.claim.pipeline');
const HOLDER = Symbol.for('flagsync-otel.claim.holder');
const EVENT = Symbol.for('flagsync-otel.claim.event');
const SINCE = Symbol.for('flagsync-otel.claim.since');
const WAITERS = Symbol.for('flagsync-otel.claim.waiters');
const INDEXED = Symbol.for('flagsync-otel.claim.indexed');

/**
 * A call's claim. Symbol keys: a node-sdk claim is the context copy the SDK serialises, where
 * string keys would show.
 */
export interface Claim {
  [STATE]: ClaimState;
  [PIPELINE]?: Pipeline;
  [HOLDER]?: unknown;
  /** The attributes object of its event as the SDK stores it (span event attributes, log body). */
  [EVENT]?: Record<string, unknown>;
  /** When it was handed over (ms since the registry's epoch). */
  [SINCE]?: number;
  /** Told once when it settles (the guard, holding the SDK's copy); one listener is kept without an array. */
  [WAITERS]?: (() => void) | (() => void)[];
  /** PENDING and found by holder (in the registry's map): the queue's lookups pass it. */
  [INDEXED]?: boolean;
}

/** Gives a new claim all of a claim's fields at once: objects of one shape stay fast on the call path. */
export function initClaim(claim: Claim): void {
  claim[STATE] = OPEN;
  claim[PIPELINE] = undefined;
  claim[HOLDER] = undefined;
  claim[EVENT] = undefined;
  claim[SINCE] = 0;
  claim[WAITERS] = undefined;
  claim[INDEXED] = false;
}

export interface HandoverStats {
  /** Calls handed over to a pipeline (the SDK's copy held). */
  handedOver: number;
  /** Of those, delivered by the pipeline against a receipt. */
  receipted: number;
  /** Of those, given back to the SDK's own delivery, by reason. */
  returned: Record<ReturnReason, number>;
  /** Handed over and not settled yet. */
  pending: number;
}

interface Registry {
  /**
   * Every handed-over call in hand-over order. From `oldest` on a slot may hold an unsettled claim
   * (settled slots before it are emptied, and cut off once many); from `head` (at or after it) on, the
   * claims lookups look at: PENDING and not indexed.
   */
  queue: (Claim | undefined)[];
  oldest: number;
  head: number;
  /**
   * The indexed PENDING claims by holder: most spans hold one call, kept without an array. The
   * holder is a string (span id, log call id): no span is kept alive.
   */
  holders: Map<unknown, Claim | Claim[]>;
  stats: HandoverStats;
  receiptTimeoutMillis: number;
  sweep: ReturnType<typeof setInterval> | undefined;
  idle: (() => void)[];
  /**
   * Milliseconds since `epoch` at the last sweep tick, or -1 while no sweep runs. Kept a small integer
   * (`| 0`, rebased before 2^30): V8 stores a claim's hand-over time in place. Date.now()'s double here
   * once changed every claim's shape a second into a run, deoptimizing each function that reads claims,
   * and boxed each claim's time. The epoch moves while no claim is unsettled, and at a rebase.
   */
  clock: number;
  epoch: number;
  onReturn: ((reason: ReturnReason, count: number) => void) | undefined;
  /** Taken calls given back (by anyone): until one is, no consumer's queued copy can have been cancelled. */
  takenReturned: number;
}

const KEY = Symbol.for('flagsync-otel.handover.v4');
const SWEEP_EVERY_MILLIS = 1000;
/** Under 2^30, V8's small integers on 64-bit builds. */
const CLOCK_REBASE_MILLIS = 2 ** 29;
/** How far into the queue a lookup looks before it indexes what it passes: spans end out of order a little. */
const WINDOW = 32;
/**
 * Settled slots at the queue's front are cut off past this many (and once they are half of it); as many
 * behind an unsettled call (one batch waiting long for FlagSync's answer) are dropped by the sweep.
 */
const SPENT_SLOTS = 4096;
const DEFAULT_RECEIPT_TIMEOUT_MILLIS = 30_000;

const shared = globalThis as Record<PropertyKey, unknown>;
shared[KEY] ??= {
  queue: [],
  oldest: 0,
  head: 0,
  holders: new Map(),
  stats: newStats(),
  receiptTimeoutMillis: DEFAULT_RECEIPT_TIMEOUT_MILLIS,
  sweep: undefined,
  idle: [],
  clock: -1,
  epoch: 0,
  onReturn: undefined,
  takenReturned: 0,
} satisfies Registry;
const registry = shared[KEY] as Registry;

function newStats(): HandoverStats {
  return {
    handedOver: 0,
    receipted: 0,
    returned: { 'no-receipt': 0, 'export-failed': 0, refused: 0, 'queue-full': 0, shutdown: 0, 'span-event-limit': 0 },
    pending: 0,
  };
}

export function handoverStats(): HandoverStats {
  return { ...registry.stats, returned: { ...registry.stats.returned } };
}

/** How long an untaken call waits for a consumer before it goes back to the SDK (the latest setting wins). */
export function setReceiptTimeout(millis: number): void {
  registry.receiptTimeoutMillis = millis;
}

/** Told (once per settle batch) when calls go back to the SDK: the instrumentation reports it. */
export function onReturn(listener: (reason: ReturnReason, count: number) => void): void {
  registry.onReturn = listener;
}

/**
 * Hand a recorded call over to a pipeline: the SDK's copy is held until a receipt or a return.
 * `holder`: the span carrying its event, or its log call id; `event`: that event's attributes as stored.
 * `fresh`: the holder can hold no other call yet (a span that had no event, a new call id), so an
 * indexed claim's holder is not looked up first. Were it wrong (two spans with one id), the call it
 * hid stays in the queue and goes back to the SDK at the receipt timeout: never lost.
 */
export function handOver(
  claim: Claim,
  pipeline: Pipeline,
  holder: unknown,
  event: Record<string, unknown> | undefined,
  fresh = false,
): void {
  claim[STATE] = PENDING;
  claim[PIPELINE] = pipeline;
  claim[HOLDER] = holder;
  claim[EVENT] = event;
  // The sweep's clock (a second's resolution is what a 30 s timeout needs): no Date.now() per call.
  if (registry.clock < 0) {
    registry.epoch = Date.now();
    registry.clock = 0;
  }
  claim[SINCE] = registry.clock;
  // A collector-mode call is taken with all of its span's by span id; one without a known event by its holder.
  if (pipeline === DELIVERY_COLLECTOR || event === undefined) index(claim, fresh);
  registry.queue.push(claim);
  registry.stats.handedOver++;
  registry.stats.pending++;
  if (!registry.sweep) {
    registry.sweep = setInterval(sweep, SWEEP_EVERY_MILLIS);
    (registry.sweep as { unref?: () => void }).unref?.();
  }
}

/** File a PENDING claim under its holder. */
function index(claim: Claim, fresh = false): void {
  claim[INDEXED] = true;
  const holder = claim[HOLDER];
  const held = fresh ? undefined : registry.holders.get(holder);
  if (held === undefined) registry.holders.set(holder, claim);
  else if (Array.isArray(held)) held.push(claim);
  else registry.holders.set(holder, [held, claim]);
}

/** In the queue and not yet passed to a consumer or indexed. */
function isQueued(claim: Claim): boolean {
  return claim[STATE] === PENDING && !claim[INDEXED];
}

/**
 * Move the lookups' head past claims no lookup wants, and the oldest slot past settled ones (emptied: a
 * settled claim is nobody's, a taken one its consumer's and the queue's until settled); cut the settled
 * front off once it is long.
 */
function advanceHead(): void {
  const queue = registry.queue;
  let oldest = registry.oldest;
  let head = registry.head;
  while (oldest < queue.length && !isUnsettled(queue[oldest]!)) queue[oldest++] = undefined;
  if (head < oldest) head = oldest;
  while (head < queue.length && !isQueued(queue[head]!)) head++;
  if (oldest === queue.length) {
    queue.length = 0;
    oldest = head = 0;
  } else if (oldest > SPENT_SLOTS && oldest * 2 > queue.length) {
    queue.splice(0, oldest);
    head -= oldest;
    oldest = 0;
  }
  registry.oldest = oldest;
  registry.head = head;
}

/**
 * Drop the settled claims behind the oldest unsettled one once there are many (a batch waiting long
 * for its answer while later ones were receipted), so they are not kept alive until it settles.
 */
function dropSettled(): void {
  const queue = registry.queue;
  if (queue.length - registry.oldest <= SPENT_SLOTS) return;
  let kept = 0;
  let head = 0;
  for (let i = registry.oldest; i < queue.length; i++) {
    if (i === registry.head) head = kept;
    const claim = queue[i]!;
    if (isUnsettled(claim)) queue[kept++] = claim;
  }
  registry.head = registry.head >= queue.length ? kept : head;
  queue.length = kept;
  registry.oldest = 0;
}

/** The untaken indexed claims of this holder (a span, a log call id), if any: every collector-mode call is indexed. */
export function claimsOf(holder: unknown): readonly Claim[] | undefined {
  const held = registry.holders.get(holder);
  return held === undefined ? undefined : Array.isArray(held) ? held.slice() : [held];
}

export function pipelineOf(claim: Claim): Pipeline | undefined {
  return claim[PIPELINE];
}

/** The holder of a span's calls: its span id. */
export function spanHolder(span: { spanContext(): { spanId: string } }): string {
  return span.spanContext().spanId;
}

/**
 * The untaken handed-over call an event records: by its span's holder and its stored attributes, or
 * (a log-based event, `holder` its call id) the call id's only claim.
 */
export function claimFor(holder: unknown, attributes: unknown): Claim | undefined {
  advanceHead();
  const queue = registry.queue;
  const end = Math.min(queue.length, registry.head + WINDOW);
  for (let i = registry.head; i < end; i++) {
    const claim = queue[i]!;
    if (claim[EVENT] === attributes && claim[HOLDER] === holder && isQueued(claim)) return claim;
  }
  const indexed = registry.holders.size > 0 ? indexedClaimFor(holder, attributes) : undefined;
  if (indexed) return indexed;
  // Further back: every claim walked past is indexed, so no lookup walks past it again.
  for (let i = registry.head; i < queue.length; i++) {
    const claim = queue[i]!;
    if (!isQueued(claim)) continue;
    if (claim[EVENT] === attributes && claim[HOLDER] === holder) return claim;
    index(claim);
  }
  return undefined;
}

function indexedClaimFor(holder: unknown, attributes: unknown): Claim | undefined {
  const held = registry.holders.get(holder);
  if (held === undefined) return undefined;
  if (!Array.isArray(held)) return held[EVENT] === attributes || held[EVENT] === undefined ? held : undefined;
  for (const claim of held) if (claim[EVENT] === attributes) return claim;
  return undefined;
}

/**
 * A consumer takes a PENDING claim: it is its to settle, and no longer subject to the receipt
 * timeout. It leaves its holder, lookups pass it by its state, and it stays in the queue (for the
 * app's end) until settled.
 */
export function take(claim: Claim): boolean {
  if (claim[STATE] !== PENDING) return false;
  claim[STATE] = TAKEN;
  leaveHolder(claim);
  // The SDK's queue holds the claim (node-sdk: the context copy) until it sends: keep no event or
  // span id alive. A taken call's event is in its consumer's hands: nothing is left to rewrite or find.
  claim[EVENT] = undefined;
  claim[HOLDER] = undefined;
  return true;
}

/** An indexed PENDING claim leaves its holder's entry (lookups pass a queued one by its state). */
function leaveHolder(claim: Claim): void {
  if (!claim[INDEXED]) return;
  claim[INDEXED] = false;
  const holder = claim[HOLDER];
  const held = registry.holders.get(holder);
  if (held === claim) registry.holders.delete(holder);
  else if (Array.isArray(held)) {
    const at = held.indexOf(claim);
    if (at >= 0) held.splice(at, 1);
    if (held.length === 0) registry.holders.delete(holder);
  }
}

export function receipt(claim: Claim): void {
  if (!settle(claim, RECEIPTED)) return;
  registry.stats.receipted++;
}

export function giveBack(claims: readonly Claim[], reason: ReturnReason): void {
  let count = 0;
  for (const claim of claims) if (settle(claim, RETURNED)) count++;
  if (count === 0) return;
  registry.stats.returned[reason] += count;
  registry.onReturn?.(reason, count);
}

/**
 * Tell `listener` once the claim is settled (at once if it is). The guard gives every claim of a held SDK
 * request one listener for the request: no promise per claim.
 */
export function onSettled(claim: Claim, listener: () => void): void {
  if (!isUnsettled(claim)) {
    listener();
    return;
  }
  const waiters = claim[WAITERS];
  if (waiters === undefined) claim[WAITERS] = listener;
  else if (Array.isArray(waiters)) waiters.push(listener);
  else claim[WAITERS] = [waiters, listener];
}

/**
 * True when a consumer's queued copy of this taken call must not be sent: the call went back to the
 * SDK meanwhile (the app ended). Reads no claim until some taken call was given back, so a send
 * looks at none of the (long cold) claims of its batch.
 */
export function isWithdrawn(claim: Claim): boolean {
  return registry.takenReturned > 0 && claim[STATE] === RETURNED;
}

export function isUnsettled(claim: Claim): boolean {
  return claim[STATE] === PENDING || claim[STATE] === TAKEN;
}

/** Resolves when no call is waiting for a receipt, or at the deadline (ms since the epoch). */
export function allSettled(deadline: number): Promise<void> {
  if (registry.stats.pending === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      const at = registry.idle.indexOf(done);
      if (at >= 0) registry.idle.splice(at, 1);
      resolve();
    };
    // Keeps the process alive on purpose: the app asked to wait (destroy()), and it is bounded.
    const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
    registry.idle.push(done);
  });
}

/** Every unsettled call goes back to the SDK (the app is ending). */
export function giveBackAll(reason: ReturnReason): void {
  const queue = registry.queue;
  const claims: Claim[] = [];
  for (let i = registry.oldest; i < queue.length; i++) if (isUnsettled(queue[i]!)) claims.push(queue[i]!);
  giveBack(claims, reason);
}

/**
 * The event of a call returned to the SDK, which may still be exported (its span ends later, or
 * another exporter has it): rewritten to say the SDK delivers it, so no consumer delivers it
 * again. The size marker follows.
 */
function markSdkDelivered(claim: Claim): void {
  const attributes = claim[EVENT];
  const was = attributes?.[ATTR_FLAGSYNC_DELIVERY];
  if (!attributes || typeof was !== 'string' || was === DELIVERY_SDK) return;
  attributes[ATTR_FLAGSYNC_DELIVERY] = DELIVERY_SDK;
  const size = attributes[ATTR_FLAGSYNC_SIZE];
  if (typeof size === 'number') attributes[ATTR_FLAGSYNC_SIZE] = size - was.length + DELIVERY_SDK.length;
}

function settle(claim: Claim, to: typeof RECEIPTED | typeof RETURNED): boolean {
  if (!isUnsettled(claim)) return false;
  // A PENDING claim (returned before anyone took it) is still under its holder.
  if (claim[STATE] === PENDING) leaveHolder(claim);
  else if (to === RETURNED) registry.takenReturned++;
  claim[STATE] = to;
  if (to === RETURNED) markSdkDelivered(claim);
  registry.stats.pending--;
  claim[HOLDER] = undefined;
  claim[EVENT] = undefined;
  const waiters = claim[WAITERS];
  if (waiters) {
    claim[WAITERS] = undefined;
    if (Array.isArray(waiters)) for (const told of waiters) told();
    else waiters();
  }
  if (registry.stats.pending === 0) {
    for (const done of registry.idle.slice()) done();
    // No claim is unsettled: the queue is spent, and the epoch may move.
    registry.queue.length = 0;
    registry.oldest = 0;
    registry.head = 0;
    if (registry.sweep) {
      clearInterval(registry.sweep);
      registry.sweep = undefined;
      registry.clock = -1;
    }
  }
  return true;
}

/**
 * PENDING claims older than the receipt timeout go back to the SDK. The queue is in hand-over order:
 * the walk ends at the first PENDING claim still young; TAKEN ones wait for their consumer's answer.
 */
function sweep(): void {
  const queue = registry.queue;
  let clock = Date.now() - registry.epoch;
  // A small integer (see `clock`): past about six days the epoch moves up, the waiting claims' times with it.
  if (clock >= CLOCK_REBASE_MILLIS) {
    registry.epoch += clock;
    for (let i = registry.oldest; i < queue.length; i++) queue[i]![SINCE] = (queue[i]![SINCE] ?? 0) - clock;
    clock = 0;
  }
  registry.clock = clock | 0;
  const cutoff = registry.clock - registry.receiptTimeoutMillis;
  const expired: Claim[] = [];
  for (let i = registry.oldest; i < queue.length; i++) {
    const claim = queue[i]!;
    if (claim[STATE] !== PENDING) continue;
    if ((claim[SINCE] ?? 0) > cutoff) break;
    expired.push(claim);
  }
  giveBack(expired, 'no-receipt');
  advanceHead();
  dropSettled();
}

/** Forget every claim (tests). */
export function resetHandover(): void {
  registry.queue.length = 0;
  registry.oldest = 0;
  registry.head = 0;
  registry.holders.clear();
  registry.stats = newStats();
  if (registry.sweep) clearInterval(registry.sweep);
  registry.sweep = undefined;
  registry.clock = -1;
  for (const done of registry.idle.slice()) done();
  registry.receiptTimeoutMillis = DEFAULT_RECEIPT_TIMEOUT_MILLIS;
  registry.takenReturned = 0;
}
