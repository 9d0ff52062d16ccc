/**
 * Exactly-once for impressions. The FlagSync SDKs (node-sdk 0.1.x, js-sdk 0.4.x) queue an
 * impression inside every `flag()` call and POST it themselves; neither can be told not to. When
 * this package records an evaluation, the SDK's copy of that impression must not reach FlagSync.
 *
 * - node-sdk: the wrapper hands the SDK a registered copy of the context (`ownContext`); the SDK
 *   keeps that object in its queued impression, so the guard drops exactly those items. Impressions
 *   we did not record (an unwrapped client, or after `disable()`) still go out.
 * - js-sdk: its items carry no context, so the guard drops impressions timestamped inside a period
 *   in which this package delivered (`claimSdkDelivery` .. `releaseSdkDelivery`), to the millisecond.
 * - Events need no guard: while enabled the wrapper never calls the SDK's `track()`.
 *
 * The SDKs send through axios (node-sdk: always; js-sdk: its timed flush) and js-sdk flushes on
 * `kill()` with `fetch(..., { keepalive: true })`. The guard patches `Axios.prototype._request`,
 * which every axios 1.x instance calls per request (so clients made earlier are covered), and the
 * global `fetch`. It touches only POSTs to `/track/impressions/*` that carry the FlagSync key header.
 * Browser-safe: no Node imports here (see node-sdk-delivery-guard.ts for finding axios in Node).
 */

const ORIGINAL = Symbol.for('flagsync-otel.sdk-delivery-guard.original');
const STATE = Symbol.for('flagsync-otel.sdk-delivery-guard.state');
const IMPRESSIONS_ROUTE = /\/track\/impressions\/(?:server|client)\/?(?:[?#]|$)/;
const KEY_HEADER = 'x-ridgeline-key';

type FetchFn = ((input: unknown, init?: unknown) => Promise<unknown>) & { [ORIGINAL]?: FetchFn };
type RequestFn = (this: { defaults?: { headers?: unknown } }, configOrUrl: unknown, config?: unknown) => Promise<unknown>;
interface AxiosLike {
  Axios?: { prototype: Record<PropertyKey, unknown> };
}
type Period = { from: number; to?: number };

export interface GuardStats {
  /** SDK requests answered locally because every item in them was recorded by this package. */
  suppressedRequests: number;
  /** Impressions removed from SDK requests because this package recorded them. */
  filteredImpressions: number;
}

/**
 * A context copy this package handed to the SDK. A class rather than a WeakSet entry: `instanceof`
 * is cheaper on the hot path. The SDKs read only `key` and `attributes` of a context, and this copy
 * never leaves the process (the guard holds back the impression that holds it).
 */
class OwnedContext {
  key: unknown;
  attributes: unknown;
  constructor(context: { key?: unknown; attributes?: unknown }) {
    this.key = context.key;
    this.attributes = context.attributes;
  }
}

/** Shared by every copy of this package in the process or page (ESM and CJS builds). */
interface GuardState {
  installed: boolean;
  OwnedContext: typeof OwnedContext;
  periods: Period[];
  stats: GuardStats;
}

const state: GuardState = ((globalThis as Record<PropertyKey, unknown>)[STATE] ??= {
  installed: false,
  OwnedContext,
  periods: [],
  stats: { suppressedRequests: 0, filteredImpressions: 0 },
}) as GuardState;
const Owned = state.OwnedContext;
const guardedModules = new Set<AxiosLike>();
let guardedFetch = false;

export function sdkDeliveryGuardStats(): Readonly<GuardStats> {
  return state.stats;
}

/** True while a guard is installed and this package delivers. */
export function isSdkDeliveryGuardInstalled(): boolean {
  return state.installed && deliveryClaimed();
}

/** A copy of the context whose SDK impressions the guard will hold back (this package delivers them). */
export function ownContext<T extends { key: string }>(context: T): T {
  return new Owned(context) as unknown as T;
}

/** From now on this package delivers impressions (js-sdk items in this period are held back). */
export function claimSdkDelivery(now: number = Date.now()): void {
  const last = state.periods[state.periods.length - 1];
  if (!last || last.to !== undefined) state.periods.push({ from: now });
}

/** From now on the SDK delivers again; what it queued while we delivered is still held back. */
export function releaseSdkDelivery(now: number = Date.now()): void {
  const last = state.periods[state.periods.length - 1];
  if (last && last.to === undefined) last.to = now;
}

/** Guard one axios module (its default export). Returns false if it is not axios 1.x. */
export function guardAxios(axios: unknown): boolean {
  const proto = (axios as AxiosLike | undefined)?.Axios?.prototype;
  if (!proto || typeof proto._request !== 'function') return false;
  if (!proto[ORIGINAL]) {
    const original = proto._request as RequestFn;
    const guarded: RequestFn = function (configOrUrl, config) {
      const request = (typeof configOrUrl === 'string' ? { ...(config as object), url: configOrUrl } : configOrUrl) as
        | { url?: unknown; method?: unknown; headers?: unknown; data?: unknown }
        | undefined;
      if (request && isSdkImpressionsRequest(request.url, request.method, request.headers, this.defaults?.headers)) {
        const data = withoutOwnedImpressions(request.data);
        if (data === undefined) return Promise.resolve({ data: '', status: 202, statusText: 'Accepted', headers: {}, config: request });
        if (data !== request.data) return original.call(this, { ...request, data });
      }
      return original.call(this, configOrUrl, config);
    };
    proto._request = guarded;
    proto[ORIGINAL] = original;
    guardedModules.add(axios as AxiosLike);
  }
  markInstalled();
  return true;
}

/** Guard the global `fetch` (js-sdk's flush on `kill()` and page hide). */
export function guardFetch(): boolean {
  const g = globalThis as { fetch?: FetchFn };
  if (typeof g.fetch !== 'function') return false;
  if (!g.fetch[ORIGINAL]) {
    const original = g.fetch;
    const guarded: FetchFn = (input, init) => {
      const request = input as { url?: string; method?: string; headers?: unknown } | undefined;
      const options = init as { method?: string; headers?: unknown; body?: unknown } | undefined;
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : request?.url;
      if (isSdkImpressionsRequest(url, options?.method ?? request?.method, options?.headers ?? request?.headers, undefined)) {
        const body = withoutOwnedImpressions(options?.body);
        if (body === undefined) return Promise.resolve(new Response(null, { status: 202 }));
        if (body !== options?.body) return original(input, { ...options, body });
      }
      return original(input, init);
    };
    guarded[ORIGINAL] = original;
    g.fetch = guarded;
    guardedFetch = true;
  }
  markInstalled();
  return true;
}

/** Browser apps: guard the axios module you bundle (the SDK's copy) and fetch, in one call. */
export function installBrowserSdkDeliveryGuard(options: { axios: unknown }): boolean {
  const axiosGuarded = guardAxios(options.axios);
  guardFetch();
  return axiosGuarded;
}

/** Remove every guard this copy installed and forget what it owned (tests). */
export function removeSdkDeliveryGuards(): void {
  for (const axios of guardedModules) {
    const proto = axios.Axios!.prototype;
    const original = proto[ORIGINAL];
    if (typeof original === 'function') proto._request = original;
    delete proto[ORIGINAL];
  }
  guardedModules.clear();
  const g = globalThis as { fetch?: FetchFn };
  if (guardedFetch && g.fetch?.[ORIGINAL]) g.fetch = g.fetch[ORIGINAL];
  guardedFetch = false;
  state.installed = false;
  state.periods.length = 0;
}

function markInstalled(): void {
  state.installed = true;
  claimSdkDelivery();
}

function deliveryClaimed(): boolean {
  const last = state.periods[state.periods.length - 1];
  return last !== undefined && last.to === undefined;
}

function claimedAt(time: number): boolean {
  return state.periods.some((p) => time >= p.from && (p.to === undefined || time <= p.to));
}

/**
 * The SDK's impressions body without the items this package recorded; undefined when none is
 * left. Object bodies (axios) keep their item objects, so node-sdk items are matched by context
 * identity; js-sdk items (no context) by delivery period.
 */
function withoutOwnedImpressions(body: unknown): unknown {
  const parsed = typeof body === 'string' ? safeParse(body) : body;
  const items = (parsed as { impressions?: unknown } | undefined)?.impressions;
  if (!Array.isArray(items)) return body;
  const kept = items.filter((item: { context?: unknown; timestamp?: unknown } | null) => {
    if (item && typeof item.context === 'object' && item.context !== null) return !(item.context instanceof Owned);
    return !(typeof item?.timestamp === 'string' && claimedAt(Date.parse(item.timestamp)));
  });
  const removed = items.length - kept.length;
  if (removed === 0) return body;
  state.stats.filteredImpressions += removed;
  if (kept.length === 0) {
    state.stats.suppressedRequests++;
    return undefined;
  }
  const filtered = { ...(parsed as object), impressions: kept };
  return typeof body === 'string' ? JSON.stringify(filtered) : filtered;
}

function isSdkImpressionsRequest(url: unknown, method: unknown, headers: unknown, instanceHeaders: unknown): boolean {
  if (typeof url !== 'string' || !IMPRESSIONS_ROUTE.test(url)) return false;
  if (typeof method === 'string' && method.toLowerCase() !== 'post') return false;
  return hasHeader(headers, KEY_HEADER) || hasHeader(instanceHeaders, KEY_HEADER);
}

function hasHeader(headers: unknown, name: string): boolean {
  if (!headers || typeof headers !== 'object') return false;
  if (Array.isArray(headers)) return headers.some((pair) => Array.isArray(pair) && String(pair[0]).toLowerCase() === name);
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    try {
      if (get.call(headers, name) != null) return true;
    } catch {
      // not a Headers/AxiosHeaders: fall through to the plain-object lookup
    }
  }
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return true;
  return false;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
