/**
 * Exactly-once for impressions: the FlagSync SDKs (node-sdk 0.1.x, js-sdk 0.4.x) queue an
 * impression inside every `flag()` call and POST it themselves, with no option to turn that off.
 * When this package delivers impressions, the SDK's own POSTs to `/track/{impressions,events}/*`
 * must not reach FlagSync. The SDKs send through axios; this guard answers exactly those requests
 * (FlagSync key header + track route) with a local 202 and passes every other request through.
 * It patches `Axios.prototype._request`, which every axios 1.x instance calls per request, so it
 * works for SDK clients created before or after it is installed; and the global `fetch`, which
 * js-sdk uses for its flush on `kill()`.
 * Browser entry point: no Node imports here (see node-sdk-delivery-guard.ts for Node).
 */

const GUARDED = Symbol.for('flagsync-otel.sdk-delivery-guard.original');
const INSTALLED = Symbol.for('flagsync-otel.sdk-delivery-guard.installed');
const TRACK_ROUTE = /\/track\/(?:impressions|events)\/(?:server|client)\/?(?:[?#]|$)/;
const KEY_HEADER = 'x-ridgeline-key';

type FetchFn = (input: unknown, init?: unknown) => Promise<unknown>;
type RequestFn = (this: { defaults?: { headers?: unknown } }, configOrUrl: unknown, config?: unknown) => Promise<unknown>;
interface AxiosLike {
  Axios?: { prototype: Record<PropertyKey, unknown> };
}

export interface GuardStats {
  /** SDK tracking requests answered locally instead of being sent. */
  suppressedRequests: number;
}

const stats: GuardStats = { suppressedRequests: 0 };
const guardedModules = new Set<AxiosLike>();
let guardedFetch = false;

export function sdkDeliveryGuardStats(): Readonly<GuardStats> {
  return stats;
}

/** True once a guard is active in this process or page (any copy of this package). */
export function isSdkDeliveryGuardInstalled(): boolean {
  return (globalThis as Record<PropertyKey, unknown>)[INSTALLED] === true;
}

/** Guard one axios module (the default export). Returns false if it is not axios 1.x. */
export function guardAxios(axios: unknown): boolean {
  const proto = (axios as AxiosLike | undefined)?.Axios?.prototype;
  if (!proto || typeof proto._request !== 'function') return false;
  if (proto[GUARDED]) return true;
  const original = proto._request as RequestFn;
  const guarded: RequestFn = function (configOrUrl, config) {
    const request = (typeof configOrUrl === 'string' ? { ...(config as object), url: configOrUrl } : configOrUrl) as
      | { url?: unknown; method?: unknown; headers?: unknown }
      | undefined;
    if (request && isSdkTrackingRequest(request, this.defaults?.headers)) {
      stats.suppressedRequests++;
      return Promise.resolve({ data: '', status: 202, statusText: 'Accepted', headers: {}, config: request });
    }
    return original.call(this, configOrUrl, config);
  };
  proto._request = guarded;
  proto[GUARDED] = original;
  guardedModules.add(axios as AxiosLike);
  (globalThis as Record<PropertyKey, unknown>)[INSTALLED] = true;
  return true;
}

/** Remove every guard this copy installed, so the SDKs deliver by themselves again (`disable()`). */
export function removeSdkDeliveryGuards(): void {
  for (const axios of guardedModules) {
    const proto = axios.Axios!.prototype;
    const original = proto[GUARDED];
    if (typeof original === 'function') proto._request = original;
    delete proto[GUARDED];
  }
  guardedModules.clear();
  const g = globalThis as { fetch?: FetchFn & { [GUARDED]?: FetchFn } };
  if (guardedFetch && g.fetch?.[GUARDED]) g.fetch = g.fetch[GUARDED];
  guardedFetch = false;
  (globalThis as Record<PropertyKey, unknown>)[INSTALLED] = false;
}

/**
 * js-sdk flushes its queues on `kill()` (and page hide) with `fetch(url, { keepalive: true })`,
 * outside axios. Guard the global fetch the same way: only POSTs to a track route that carry the
 * FlagSync key header are answered locally.
 */
export function guardFetch(): boolean {
  const g = globalThis as { fetch?: FetchFn & { [GUARDED]?: FetchFn } };
  if (typeof g.fetch !== 'function') return false;
  if (g.fetch[GUARDED]) return true;
  const original = g.fetch;
  const guarded = ((input: unknown, init?: { method?: string; headers?: unknown }) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : (input as { url?: string } | undefined)?.url;
    const method = init?.method ?? (input as { method?: string } | undefined)?.method;
    const headers = init?.headers ?? (input as { headers?: unknown } | undefined)?.headers;
    if (isSdkTrackingRequest({ url, method, headers }, undefined)) {
      stats.suppressedRequests++;
      return Promise.resolve(new Response(null, { status: 202 }));
    }
    return original(input, init);
  }) as FetchFn & { [GUARDED]?: FetchFn };
  guarded[GUARDED] = original;
  g.fetch = guarded;
  guardedFetch = true;
  (globalThis as Record<PropertyKey, unknown>)[INSTALLED] = true;
  return true;
}

/** Browser apps: guard the axios module you bundle (the SDK's copy) and fetch, in one call. */
export function installBrowserSdkDeliveryGuard(options: { axios: unknown }): boolean {
  const axiosGuarded = guardAxios(options.axios);
  guardFetch();
  return axiosGuarded;
}

function isSdkTrackingRequest(request: { url?: unknown; method?: unknown; headers?: unknown }, instanceHeaders: unknown): boolean {
  if (typeof request.url !== 'string' || !TRACK_ROUTE.test(request.url)) return false;
  if (typeof request.method === 'string' && request.method.toLowerCase() !== 'post') return false;
  return hasHeader(request.headers, KEY_HEADER) || hasHeader(instanceHeaders, KEY_HEADER);
}

function hasHeader(headers: unknown, name: string): boolean {
  if (!headers || typeof headers !== 'object') return false;
  if (Array.isArray(headers)) return headers.some((pair) => Array.isArray(pair) && String(pair[0]).toLowerCase() === name);
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    try {
      if (get.call(headers, name) != null) return true;
    } catch {
      // not an AxiosHeaders; fall through to the plain-object lookup
    }
  }
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return true;
  return false;
}
