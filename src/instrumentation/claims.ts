/**
 * How the SDK delivery guard recognises the SDK's copy of a call this package handed over (see
 * handover.ts for the receipts that decide it).
 *
 * - node-sdk items (impressions and events) keep the context object they were given: the wrapper
 *   hands the SDK an `OwnedContext` (a copy with the same fields) that is also the call's claim.
 * - js-sdk items carry no context (it is per batch): a `ClientClaim` names the client's context key,
 *   the flag or event key and the milliseconds around the call, and is matched once at send time.
 *
 * State lives on globalThis so the ESM and CommonJS builds of this package, loaded side by side,
 * share it. Browser-safe.
 */
import { initClaim, isUnsettled, OPEN, RECEIPTED, STATE, type Claim, type ClaimState } from './handover.js';

export type { Claim } from './handover.js';

const ORIGINAL = Symbol.for('flagsync-otel.original');

/**
 * The copy of a context the SDK gets for a call that may be handed over, and that call's claim. A
 * class: `instanceof` is the cheapest check on the guard's path, and one object per call. It has
 * the original's own fields, so it serialises as the original would, even on a path the guard does
 * not see.
 */
class OwnedContext implements Claim {
  [STATE]: ClaimState = OPEN;
  [ORIGINAL]: object;
  constructor(original: object) {
    Object.assign(this, original);
    this[ORIGINAL] = original;
    initClaim(this);
  }
}

type ClientItemKind = 'impression' | 'event';

class ClientClaim implements Claim {
  [STATE]: ClaimState = OPEN;
  constructor(
    readonly kind: ClientItemKind,
    readonly contextKey: string,
    /** The flag key of an impression, the event key of an event. */
    readonly name: string,
    readonly from: number,
    public to: number,
  ) {
    initClaim(this);
  }
}

export interface GuardStats {
  /** SDK requests answered locally because every item in them was delivered by this package. */
  suppressedRequests: number;
  /** Items removed from SDK requests because this package delivered them. */
  filteredItems: number;
  /** SDK requests held until the receipts of calls in them were decided. */
  heldRequests: number;
  /** js-sdk claims forgotten unmatched (older than an hour, or past 50,000 waiting). */
  expiredClaims: number;
}

interface ClaimState_ {
  OwnedContext: typeof OwnedContext;
  /**
   * flag() calls in progress. node-sdk sends its queue from inside the call that fills it, before
   * the call is decided: the guard defers a request seen while this is above zero by a microtask.
   */
  inCall: number;
  clientClaims: ClientClaim[];
  /** Which SDKs' delivery paths the guard covers; a call is handed over only for a covered SDK. */
  guarded: { server: boolean; client: boolean };
  stats: GuardStats;
  /** SDK requests the guard is holding or re-sending: destroy() waits for them. */
  inFlight: Set<Promise<unknown>>;
}

// Versioned with the claim's shape (handover.ts): a copy of another shape keeps state of its own.
const KEY = Symbol.for('flagsync-otel.claims.v4');
const MAX_CLIENT_CLAIMS = 50_000;
const CLIENT_CLAIM_TTL_MS = 3_600_000;

const shared = globalThis as Record<PropertyKey, unknown>;
shared[KEY] ??= {
  OwnedContext,
  inCall: 0,
  clientClaims: [],
  guarded: { server: false, client: false },
  stats: { suppressedRequests: 0, filteredItems: 0, heldRequests: 0, expiredClaims: 0 },
  inFlight: new Set(),
} satisfies ClaimState_;
export const state = shared[KEY] as ClaimState_;

/** True when the guard covers this SDK's delivery, so a call's SDK copy can be held. */
export function isGuarded(sdk: 'server' | 'client'): boolean {
  return state.guarded[sdk];
}

/** A context copy for node-sdk that is also the call's claim (OPEN until handed over). */
export function ownContext(context: object): object & Claim {
  return new state.OwnedContext(context);
}

/** A claim on the js-sdk item queued from `from` on for this kind, key and context key; `to` is set after the call. */
export function claimClientItem(kind: ClientItemKind, contextKey: string, name: string, from: number): ClientClaim {
  const claims = state.clientClaims;
  while (
    claims.length > 0 &&
    (claims.length >= MAX_CLIENT_CLAIMS || claims[0]!.to < from - CLIENT_CLAIM_TTL_MS) &&
    !isUnsettled(claims[0]!)
  ) {
    claims.shift();
    state.stats.expiredClaims++;
  }
  const claim = new ClientClaim(kind, contextKey, name, from, Number.POSITIVE_INFINITY);
  claims.push(claim);
  return claim;
}

/**
 * The call made since `claimClientItem` is over: its js-sdk item's timestamp is at or before now.
 * A node-sdk claim (the context copy) has no time window: it is left as it is.
 */
export function closeClientClaim(claim: Claim, to?: number): void {
  if (claim instanceof ClientClaim) claim.to = to ?? Date.now();
}

/** For the guard: the claim of a node-sdk item's context, if it is one. */
export function serverItemClaim(context: unknown): (object & Claim) | undefined {
  return context instanceof state.OwnedContext ? context : undefined;
}

/** The app's own context object behind an owned copy (what the SDK would have sent). */
export function originalContext(context: object & Claim): object {
  return (context as OwnedContext)[ORIGINAL];
}

/** For the guard: the claim of a js-sdk item of this client, matched once. */
export function takeClientClaim(
  kind: ClientItemKind,
  contextKey: unknown,
  name: unknown,
  time: number,
): Claim | undefined {
  const claims = state.clientClaims;
  for (let i = 0; i < claims.length; i++) {
    const c = claims[i]!;
    if (c.kind === kind && c.name === name && c.contextKey === contextKey && c.from <= time && time <= c.to) {
      // Kept until settled: an SDK request held for it looks it up again.
      if (!isUnsettled(c)) claims.splice(i, 1);
      return c;
    }
  }
  return undefined;
}

/** True when the pipeline delivered the call: the SDK's copy is dropped. */
export function isReceipted(claim: Claim): boolean {
  return claim[STATE] === RECEIPTED;
}

/** Forget every claim and what the guard covers (tests). */
export function resetClaims(): void {
  state.clientClaims.length = 0;
  state.guarded.server = false;
  state.guarded.client = false;
}
