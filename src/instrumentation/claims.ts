/**
 * Which SDK impressions this package delivers instead of the SDK. A call is claimed only once it
 * is recorded somewhere that will be exported; the SDK delivery guard holds back the SDK's copy of
 * claimed calls and lets every other impression through. A claim can be released later (our span
 * event was evicted by the span's event limit): the guard then lets the SDK's copy through.
 *
 * - node-sdk impressions keep the context object they were given: the wrapper hands the SDK an
 *   `OwnedContext` (a copy with the same fields) and the claim is looked up by that object.
 * - js-sdk impressions carry only flagKey, value and timestamp: a claim names the client's context
 *   key, the flag key and the milliseconds around the call, and is matched (once) at send time.
 *
 * State lives on globalThis so the ESM and CommonJS builds of this package, loaded side by side,
 * share it. Browser-safe.
 */

/**
 * A recorded call this package delivers instead of the SDK, while `[CLAIMED]` is true. The keys are
 * symbols: a node-sdk claim is the context copy the SDK serialises, where string keys would show.
 */
export const CLAIMED = Symbol.for('flagsync-otel.claimed');
export const RELEASE = Symbol.for('flagsync-otel.release');
const ORIGINAL = Symbol.for('flagsync-otel.original');

export interface Claim {
  [CLAIMED]: boolean;
  /** Hand the call back to the SDK's own delivery. */
  [RELEASE](): void;
}

/**
 * The copy of a context the SDK gets when a call may be claimed, and that call's claim. A class:
 * `instanceof` is the cheapest check on the guard's path, and one object per call (not a WeakMap
 * entry, which costs the garbage collector more than the rest of the call). It has the original's
 * own fields, so it serialises as the original would, even on a path the guard does not see.
 */
class OwnedContext implements Claim {
  [CLAIMED] = false;
  [ORIGINAL]: object;
  constructor(original: object) {
    Object.assign(this, original);
    this[ORIGINAL] = original;
  }
  [RELEASE](): void {
    this[CLAIMED] = false;
  }
}

class ClientClaim implements Claim {
  [CLAIMED] = false;
  constructor(
    readonly contextKey: string,
    readonly flagKey: string,
    readonly from: number,
    readonly to: number,
  ) {}
  [RELEASE](): void {
    this[CLAIMED] = false;
  }
}

export interface GuardStats {
  /** SDK requests answered locally because every impression in them was delivered by this package. */
  suppressedRequests: number;
  /** Impressions removed from SDK requests because this package delivered them. */
  filteredImpressions: number;
  /** js-sdk claims forgotten unmatched (older than an hour, or past 50,000 waiting): their SDK copy may go out too. */
  expiredClaims: number;
}

interface ClaimState {
  OwnedContext: typeof OwnedContext;
  /**
   * flag() calls in progress. node-sdk sends its queue from inside the call that fills it, before
   * the call is claimed: the guard defers a request seen while this is above zero by a microtask,
   * by when the call has been decided.
   */
  inCall: number;
  clientClaims: ClientClaim[];
  /** Which SDKs' delivery paths the guard covers; a call is claimed only for a covered SDK. */
  guarded: { server: boolean; client: boolean };
  stats: GuardStats;
}

const STATE = Symbol.for('flagsync-otel.claims');
const MAX_CLIENT_CLAIMS = 50_000;
const CLIENT_CLAIM_TTL_MS = 3_600_000;

const shared = globalThis as Record<PropertyKey, unknown>;
shared[STATE] ??= {
  OwnedContext,
  inCall: 0,
  clientClaims: [],
  guarded: { server: false, client: false },
  stats: { suppressedRequests: 0, filteredImpressions: 0, expiredClaims: 0 },
};
export const state = shared[STATE] as ClaimState;
// A state object made by an older copy of this package, loaded side by side.
state.inCall ??= 0;

/** True when the guard covers this SDK's delivery, so a claimed call's SDK copy is held back. */
export function isGuarded(sdk: 'server' | 'client'): boolean {
  return state.guarded[sdk];
}

/** A context copy for node-sdk that is also the call's claim (not claimed until `[CLAIMED]` is set). */
export function ownContext(context: object): object & Claim {
  return new state.OwnedContext(context);
}

/** A claim on the js-sdk impression queued between `from` and `to` for this flag and context key. */
export function claimClientImpression(contextKey: string, flagKey: string, from: number, to: number): Claim {
  const claims = state.clientClaims;
  while (claims.length > 0 && (claims.length >= MAX_CLIENT_CLAIMS || claims[0]!.to < to - CLIENT_CLAIM_TTL_MS)) {
    claims.shift();
    state.stats.expiredClaims++;
  }
  const claim = new ClientClaim(contextKey, flagKey, from, to);
  claims.push(claim);
  return claim;
}

/**
 * For the guard: what to do with a node-sdk impression item's context. `drop` when this package
 * delivered the call; otherwise the context to send (the app's own object for an owned copy).
 */
export function serverItemContext(context: unknown): { drop: true } | { drop: false; context: unknown } {
  if (!(context instanceof state.OwnedContext)) return { drop: false, context };
  if (context[CLAIMED]) return { drop: true };
  return { drop: false, context: context[ORIGINAL] };
}

/** For the guard: true when a js-sdk impression of this client was delivered by this package (the claim is used up). */
export function takeClientClaim(contextKey: unknown, flagKey: unknown, time: number): boolean {
  const claims = state.clientClaims;
  for (let i = 0; i < claims.length; i++) {
    const c = claims[i]!;
    if (c.flagKey === flagKey && c.contextKey === contextKey && c.from <= time && time <= c.to) {
      claims.splice(i, 1);
      return c[CLAIMED];
    }
  }
  return false;
}

/** Forget every claim and what the guard covers (tests). */
export function resetClaims(): void {
  state.clientClaims.length = 0;
  state.guarded.server = false;
  state.guarded.client = false;
}
