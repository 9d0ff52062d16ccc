/**
 * Exactly-once for impressions: the FlagSync SDKs (node-sdk 0.1.x, js-sdk 0.4.x) queue an
 * impression inside every `flag()` call and POST it themselves, with no option to turn that off.
 * When this package delivers impressions, the SDK's own POSTs to `/track/{impressions,events}/*`
 * must not reach FlagSync. The SDKs send through axios; this guard answers exactly those requests
 * (FlagSync key header + track route) with a local 202 and passes every other request through.
 * It patches `Axios.prototype._request`, which every axios 1.x instance calls per request, so it
 * works for SDK clients created before or after it is installed.
 * Browser entry point: no Node imports here (see node-sdk-delivery-guard.ts for Node).
 */

const GUARDED = Symbol.for('flagsync-otel.sdk-delivery-guard.original');
const INSTALLED = Symbol.for('flagsync-otel.sdk-delivery-guard.installed');
const TRACK_ROUTE = /\/track\/(?:impressions|events)\/(?:server|client)\/?(?:[?#]|$)/;
const KEY_HEADER = 'x-ridgeline-key';

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
  (globalThis as Record<PropertyKey, unknown>)[INSTALLED] = false;
}

/**
 * Browser: `navigator.sendBeacon` carries the js-sdk's queue when the page is hidden.
 * Only beacons to the FlagSync base URL's track routes are swallowed.
 */
export function guardSendBeacon(sdkBaseUrl: string): boolean {
  const nav = (globalThis as { navigator?: { sendBeacon?: (url: string, data?: unknown) => boolean } }).navigator;
  if (!nav || typeof nav.sendBeacon !== 'function') return false;
  const original = nav.sendBeacon.bind(nav);
  const base = sdkBaseUrl.replace(/\/+$/, '');
  nav.sendBeacon = (url: string, data?: unknown) => {
    if (typeof url === 'string' && url.startsWith(base) && TRACK_ROUTE.test(url)) {
      stats.suppressedRequests++;
      return true;
    }
    return original(url, data);
  };
  return true;
}

function isSdkTrackingRequest(request: { url?: unknown; method?: unknown; headers?: unknown }, instanceHeaders: unknown): boolean {
  if (typeof request.url !== 'string' || !TRACK_ROUTE.test(request.url)) return false;
  if (typeof request.method === 'string' && request.method.toLowerCase() !== 'post') return false;
  return hasHeader(request.headers, KEY_HEADER) || hasHeader(instanceHeaders, KEY_HEADER);
}

function hasHeader(headers: unknown, name: string): boolean {
  if (!headers || typeof headers !== 'object') return false;
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
