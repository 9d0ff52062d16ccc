/**
 * The SDK delivery guard. The FlagSync SDKs (node-sdk 0.1.x, js-sdk 0.4.x) queue an item in every
 * `flag()` and `track()` call and POST it themselves; neither can be told not to. The guard looks
 * at each SDK request to `/track/impressions/*` and `/track/events/*` (POSTs carrying the FlagSync
 * key header) and, per item, by its claim (claims.ts, handover.ts):
 * - receipted (a pipeline delivered the call): removed from the request;
 * - handed over and not decided yet: taken out and held; once decided it is dropped (receipted) or
 *   sent in a request of its own, as the SDK would have sent it (returned);
 * - anything else: sent as the SDK sent it.
 *
 * The SDKs send through axios (node-sdk always; js-sdk on its timer) and js-sdk flushes on
 * `kill()` and page hide with `fetch(..., { keepalive: true })`. The guard patches
 * `Axios.prototype._request`, which every axios 1.x instance calls per request (so clients made
 * earlier are covered), and the global `fetch`.
 * Browser-safe: no Node imports here (node-sdk-delivery-guard.ts finds the SDKs' axios in Node).
 */
import {
  isReceipted,
  originalContext,
  serverItemClaim,
  state,
  takeClientClaim,
  type Claim,
  type GuardStats,
} from './claims.js';
import { isUnsettled, onSettled } from './handover.js';
import { guardOtlpExporterBase } from './otlp-receipts.js';

export type { GuardStats } from './claims.js';

const ORIGINAL = Symbol.for('flagsync-otel.sdk-delivery-guard.original');
const TRACK_ROUTE = /\/track\/(?:impressions|events)\/(?:server|client)\/?(?:[?#]|$)/;
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
      if (request && isSdkTrackRequest(request.url, request.method, request.headers, this.defaults?.headers)) {
        // Sent from inside a flag() call (node-sdk flushes a full queue there): decide once the
        // call is, a microtask later. The request is a promise to the SDK either way.
        if (state.inCall > 0) return Promise.resolve().then(() => send.call(this, request, configOrUrl, config));
        return send.call(this, request, configOrUrl, config);
      }
      return original.call(this, configOrUrl, config);
    };
    /** An SDK track request without the items a pipeline delivered; held items go out later on their own. */
    const send = function (
      this: ThisParameterType<RequestFn>,
      request: { data?: unknown },
      configOrUrl: unknown,
      config: unknown,
    ): Promise<unknown> {
      const plan = planSdkBody(request.data);
      if (plan.held) {
        sendLater(plan.held, (data) => original.call(this, { ...request, data }));
      }
      if (plan.body === undefined)
        return Promise.resolve({ data: '', status: 202, statusText: 'Accepted', headers: {}, config: request });
      if (plan.body !== request.data) return original.call(this, { ...request, data: plan.body });
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
      if (isSdkTrackRequest(url, options?.method ?? request?.method, options?.headers ?? request?.headers, undefined)) {
        const plan = planSdkBody(options?.body);
        if (plan.held) sendLater(plan.held, (body) => original(input, { ...options, body }));
        if (plan.body === undefined) return Promise.resolve(new Response(null, { status: 202 }));
        if (plan.body !== options?.body) return original(input, { ...options, body: plan.body });
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
 * returns true, js-sdk calls are left to the SDK. For `delivery: 'collector'`, also give the
 * `@opentelemetry/otlp-exporter-base` module your bundle's OTLP exporters use: their answers are
 * the receipts (a bundle has no module resolution to find it by).
 */
export function installBrowserSdkDeliveryGuard(options: { axios: unknown; otlpExporterBase?: unknown }): boolean {
  const covered = guardAxios(options.axios) && guardFetch();
  if (covered) state.guarded.client = true;
  if (options.otlpExporterBase !== undefined) guardOtlpExporterBase(options.otlpExporterBase);
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

interface Plan {
  /** What to send now: the body as given, a copy without some items, or undefined for nothing. */
  body: unknown;
  /** Items whose calls are not decided yet, held with their request: sent later if returned. */
  held?: { template: Record<string, unknown>; field: string; items: unknown[]; claims: Claim[]; text: boolean };
}

/**
 * Split an SDK track body (impressions or events, server or client shape) by the claims of its
 * items. Object bodies (axios) keep their item objects, so node-sdk items are matched by context
 * identity; js-sdk items (no context) by their claim.
 */
function planSdkBody(body: unknown): Plan {
  const text = typeof body === 'string';
  const parsed = (text ? safeParse(body) : body) as Record<string, unknown> | undefined;
  const field = parsed && Array.isArray(parsed.impressions) ? 'impressions' : 'events';
  const items = parsed?.[field];
  if (!Array.isArray(items)) return { body };
  const kind = field === 'impressions' ? 'impression' : 'event';
  const batchContextKey = (parsed as { context?: { key?: unknown } }).context?.key;
  let changed = false;
  const kept: unknown[] = [];
  const heldItems: unknown[] = [];
  const heldClaims: Claim[] = [];
  for (const item of items as (Record<string, unknown> | null)[]) {
    const owned = item && typeof item.context === 'object' ? serverItemClaim(item.context) : undefined;
    const claim =
      owned ??
      (item && typeof item.context !== 'object' && typeof item.timestamp === 'string'
        ? takeClientClaim(kind, batchContextKey, item.flagKey ?? item.eventKey, Date.parse(item.timestamp))
        : undefined);
    if (!claim) {
      kept.push(item);
      continue;
    }
    changed = true;
    if (isReceipted(claim)) {
      state.stats.filteredItems++;
    } else if (isUnsettled(claim)) {
      heldItems.push(item);
      heldClaims.push(claim);
    } else {
      kept.push(owned ? { ...item, context: originalContext(owned) } : item);
    }
  }
  if (!changed) return { body };
  const held =
    heldItems.length > 0 ? { template: parsed!, field, items: heldItems, claims: heldClaims, text } : undefined;
  if (held) state.stats.heldRequests++;
  if (kept.length === 0) {
    if (!held) state.stats.suppressedRequests++;
    return { body: undefined, held };
  }
  const filtered = { ...parsed, [field]: kept };
  return { body: text ? JSON.stringify(filtered) : filtered, held };
}

/** Once every held item's call is decided, send those returned to the SDK, as the SDK would have. */
function sendLater(held: NonNullable<Plan['held']>, post: (body: unknown) => Promise<unknown>): void {
  const later = new Promise<void>((resolve) => {
    let unsettled = held.claims.length;
    const settledOne = () => {
      if (--unsettled === 0) resolve();
    };
    for (const claim of held.claims) onSettled(claim, settledOne);
  })
    .then(() => {
      const body = { ...held.template, [held.field]: held.items };
      const plan = planSdkBody(held.text ? JSON.stringify(body) : body);
      if (plan.body !== undefined) return post(plan.body);
      return undefined;
    })
    // The SDK alone would have lost a failed request too; the SDK's own request logged its failures.
    .catch(() => undefined);
  state.inFlight.add(later);
  void later.finally(() => state.inFlight.delete(later));
}

/** SDK requests held or re-sent by the guard: resolves when all are done, or at the deadline. */
export async function guardRequestsDone(deadline: number): Promise<void> {
  if (state.inFlight.size === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all([...state.inFlight]),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
  ]);
  clearTimeout(timer);
}

function isSdkTrackRequest(url: unknown, method: unknown, headers: unknown, instanceHeaders: unknown): boolean {
  if (typeof url !== 'string' || !TRACK_ROUTE.test(url)) return false;
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
