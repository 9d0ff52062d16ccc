/**
 * The SDK delivery guard. The FlagSync SDKs (node-sdk 0.1.x, js-sdk 0.4.x) queue an impression in
 * every `flag()` call and POST it themselves; neither can be told not to. For each call this
 * package delivered (a claim, see claims.ts), the guard removes the SDK's copy from the SDK's
 * request; every other impression goes out as the SDK sent it.
 *
 * The SDKs send through axios (node-sdk always; js-sdk on its timer) and js-sdk flushes on
 * `kill()` and page hide with `fetch(..., { keepalive: true })`. The guard patches
 * `Axios.prototype._request`, which every axios 1.x instance calls per request (so clients made
 * earlier are covered), and the global `fetch`. It touches only POSTs to `/track/impressions/*`
 * that carry the FlagSync key header. Events need no guard: the wrapper calls the SDK's `track()`
 * exactly for the calls it does not record.
 * Browser-safe: no Node imports here (node-sdk-delivery-guard.ts finds the SDKs' axios in Node).
 */
import { serverItemContext, state, takeClientClaim, type GuardStats } from './claims.js';

export type { GuardStats } from './claims.js';

const ORIGINAL = Symbol.for('flagsync-otel.sdk-delivery-guard.original');
const IMPRESSIONS_ROUTE = /\/track\/impressions\/(?:server|client)\/?(?:[?#]|$)/;
const KEY_HEADER = 'x-ridgeline-key';

type FetchFn = ((input: unknown, init?: unknown) => Promise<unknown>) & { [ORIGINAL]?: FetchFn };
type RequestFn = (
  this: { defaults?: { headers?: unknown } },
  configOrUrl: unknown,
  config?: unknown,
) => Promise<unknown>;
interface AxiosLike {
  Axios?: { prototype: Record<PropertyKey, unknown> };
}

const guardedModules = new Set<AxiosLike>();
let guardedFetch = false;

export function sdkDeliveryGuardStats(): Readonly<GuardStats> {
  return state.stats;
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
        // Sent from inside a flag() call (node-sdk flushes a full queue there): decide once the
        // call is, a microtask later. The request is a promise to the SDK either way.
        if (state.inCall > 0) return Promise.resolve().then(() => send.call(this, request, configOrUrl, config));
        return send.call(this, request, configOrUrl, config);
      }
      return original.call(this, configOrUrl, config);
    };
    /** An SDK impressions request, without the impressions this package delivered. */
    const send = function (
      this: ThisParameterType<RequestFn>,
      request: { data?: unknown },
      configOrUrl: unknown,
      config: unknown,
    ): Promise<unknown> {
      const data = withoutDeliveredImpressions(request.data);
      if (data === undefined)
        return Promise.resolve({ data: '', status: 202, statusText: 'Accepted', headers: {}, config: request });
      if (data !== request.data) return original.call(this, { ...request, data });
      return original.call(this, configOrUrl, config);
    };
    proto._request = guarded;
    proto[ORIGINAL] = original;
    guardedModules.add(axios as AxiosLike);
  }
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
      if (
        isSdkImpressionsRequest(
          url,
          options?.method ?? request?.method,
          options?.headers ?? request?.headers,
          undefined,
        )
      ) {
        const body = withoutDeliveredImpressions(options?.body);
        if (body === undefined) return Promise.resolve(new Response(null, { status: 202 }));
        if (body !== options?.body) return original(input, { ...options, body });
      }
      return original(input, init);
    };
    guarded[ORIGINAL] = original;
    g.fetch = guarded;
    guardedFetch = true;
  }
  return true;
}

/**
 * Browser apps: guard the axios module your bundle gives @flagsync/js-sdk, and `fetch`. Until this
 * returns true, js-sdk impressions are left to the SDK (events still go through OpenTelemetry).
 */
export function installBrowserSdkDeliveryGuard(options: { axios: unknown }): boolean {
  const covered = guardAxios(options.axios) && guardFetch();
  if (covered) state.guarded.client = true;
  return covered;
}

/** Remove every guard this copy installed (tests). */
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
  state.guarded.server = false;
  state.guarded.client = false;
}

/**
 * The SDK's impressions body without the items this package delivered; undefined when none is
 * left. Object bodies (axios) keep their item objects, so node-sdk items are matched by context
 * identity; js-sdk items (no context) by their claim.
 */
function withoutDeliveredImpressions(body: unknown): unknown {
  const parsed = typeof body === 'string' ? safeParse(body) : body;
  const items = (parsed as { impressions?: unknown } | undefined)?.impressions;
  if (!Array.isArray(items)) return body;
  const batchContextKey = (parsed as { context?: { key?: unknown } }).context?.key;
  let changed = false;
  const kept: unknown[] = [];
  for (const item of items as ({ context?: unknown; flagKey?: unknown; timestamp?: unknown } | null)[]) {
    if (item && typeof item.context === 'object' && item.context !== null) {
      const decision = serverItemContext(item.context);
      if (decision.drop) {
        changed = true;
        continue;
      }
      if (decision.context !== item.context) {
        changed = true;
        kept.push({ ...item, context: decision.context });
        continue;
      }
    } else if (
      item &&
      typeof item.timestamp === 'string' &&
      takeClientClaim(batchContextKey, item.flagKey, Date.parse(item.timestamp))
    ) {
      changed = true;
      continue;
    }
    kept.push(item);
  }
  if (!changed) return body;
  state.stats.filteredImpressions += items.length - kept.length;
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
  if (Array.isArray(headers))
    return headers.some((pair) => Array.isArray(pair) && String(pair[0]).toLowerCase() === name);
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
