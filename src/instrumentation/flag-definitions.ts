/**
 * The variant name and the reason of a served value, from the flag definitions the FlagSync SDK downloaded.
 *
 * A private contract with the SDKs, read from their dist of @flagsync/node-sdk 0.1.1 and @flagsync/js-sdk 0.4.0;
 * kept in this file alone:
 * - node-sdk keeps its flag set (flag key → `FeatureFlagEnvironmentDetailDto`: `featureFlag.variants` with
 *   `variantId`, `name`, `dataTypeCode` and one `*Value`; `state` with `isEnabled`, `enabledSingleVariantId`,
 *   `disabledSingleVariantId`, `percentageRollout`, `targetingRules`) in a closure nothing reaches. It gets the set
 *   as the `flags` of the answer to `POST /sdk/rules` (axios, at start and when polling), seen here by
 *   `watchFlagRules` on the axios copies the delivery guard loads, and per flag from the stream, as
 *   `state::update-received` events on the client's emitter, which `client.on` reaches. It serves the variant's
 *   value itself (`jsonValue` by reference), so a served value finds its variant by identity or by equality.
 * - js-sdk keeps only served values (flag key → value, evaluated by FlagSync): no variant names, no reasons.
 *
 * Everything is found once per flag definition object (a WeakMap): on the flag() path, a Map lookup.
 * No SDK version-specific field is read anywhere else.
 */
import {
  REASON_DISABLED,
  REASON_DEFAULT,
  REASON_SPLIT,
  REASON_STATIC,
  REASON_TARGETING_MATCH,
  REASON_UNKNOWN,
} from '../conventions.js';

/** What is known of a served value: its variant's name (if one) and why it was served. */
export interface Served {
  readonly variant: string | undefined;
  readonly reason: string;
  /** Slot for the evaluation counter's series of this value (evaluation-metrics.ts). */
  series?: unknown;
}

interface VariantDto {
  variantId?: unknown;
  name?: unknown;
  dataTypeCode?: unknown;
  numberValue?: unknown;
  booleanValue?: unknown;
  stringValue?: unknown;
  jsonValue?: unknown;
}
interface FlagDetail {
  featureFlag?: { variants?: VariantDto[] };
  state?: {
    isEnabled?: unknown;
    enabledSingleVariantId?: unknown;
    disabledSingleVariantId?: unknown;
    percentageRollout?: { variantId?: unknown }[];
    targetingRules?: { variantId?: unknown }[];
  };
}

const RULES_ROUTE = /\/sdk\/rules\/?(?:[?#]|$)/;
const KEY_HEADER = 'x-ridgeline-key';
const UPDATE_RECEIVED = 'state::update-received';
const WATCHED = Symbol.for('flagsync-otel.flag-definitions.watched');

/**
 * Shared on globalThis, as the claims are: the package's entry points (ESM and CommonJS, index and instrumentation
 * bundles) each carry a copy of this module, and the guard's copy sees the answers the wrapper's copy reads.
 */
interface DefinitionState {
  /** Flag sets seen in node-sdk's `/sdk/rules` answers, per SDK key, merged as the SDK merges them. */
  rulesByKey: Map<string, Map<string, object>>;
  /** The one flag set while a single SDK key has been seen (the usual case), else undefined. */
  onlyRules: Map<string, object> | undefined;
  /** Per definition object: its served values → what they mean. */
  cache: WeakMap<object, Map<unknown, Served>>;
}
const STATE = Symbol.for('flagsync-otel.flag-definitions.v1');
const shared = globalThis as Record<PropertyKey, unknown>;
shared[STATE] ??= { rulesByKey: new Map(), onlyRules: undefined, cache: new WeakMap() } satisfies DefinitionState;
const state = shared[STATE] as DefinitionState;
const { rulesByKey, cache } = state;

/**
 * Watch one axios module's requests for node-sdk's `/sdk/rules` answers. Browser-safe; called where the
 * delivery guard loads the SDKs' axios copies. Returns false if it is not axios 1.x.
 */
export function watchFlagRules(axios: unknown): boolean {
  const proto = (axios as { Axios?: { prototype: Record<PropertyKey, unknown> } } | undefined)?.Axios?.prototype;
  if (!proto || typeof proto._request !== 'function') return false;
  if (proto[WATCHED]) return true;
  const original = proto._request as (this: unknown, configOrUrl: unknown, config?: unknown) => Promise<unknown>;
  proto._request = function watchedRequest(this: unknown, configOrUrl: unknown, config?: unknown) {
    const result = original.call(this, configOrUrl, config);
    try {
      const url = typeof configOrUrl === 'string' ? configOrUrl : (configOrUrl as { url?: unknown } | undefined)?.url;
      if (typeof url === 'string' && RULES_ROUTE.test(url) && result && typeof result.then === 'function') {
        result.then(rememberRulesAnswer, () => undefined);
      }
    } catch {
      // never in the SDK's way
    }
    return result;
  };
  proto[WATCHED] = true;
  return true;
}

function rememberRulesAnswer(response: unknown): void {
  const { data, config } = (response ?? {}) as { data?: { flags?: unknown }; config?: { headers?: unknown } };
  const flags = data?.flags;
  if (!flags || typeof flags !== 'object') return;
  const key = headerOf(config?.headers, KEY_HEADER) ?? '';
  let set = rulesByKey.get(key);
  if (!set) {
    set = new Map();
    rulesByKey.set(key, set);
  }
  state.onlyRules = rulesByKey.size === 1 ? set : undefined;
  for (const [flagKey, detail] of Object.entries(flags))
    if (detail && typeof detail === 'object') set.set(flagKey, detail);
}

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const get = (headers as { get?: (n: string) => unknown }).get;
  const value = typeof get === 'function' ? get.call(headers, name) : (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** A client's view of the definitions: its own stream updates first, then the `/sdk/rules` answers. */
export interface DefinitionSource {
  /** What the value `flagKey` served means; undefined when no definition explains it. */
  served(flagKey: string, value: unknown): Served | undefined;
}

/** For a node-sdk client (`on(event, listener)` reaches its emitter, internal events included). */
export function serverDefinitions(client: object): DefinitionSource {
  const on = (client as { on?: unknown }).on;
  const updates = new Map<string, object>();
  try {
    if (typeof on === 'function') {
      on.call(client, UPDATE_RECEIVED, (flagSet: unknown) => {
        if (!flagSet || typeof flagSet !== 'object') return;
        for (const [flagKey, detail] of Object.entries(flagSet))
          if (detail && typeof detail === 'object') updates.set(flagKey, detail);
      });
    }
  } catch {
    // an SDK without the emitter: the rules answers alone
  }
  return {
    served(flagKey, value) {
      // With several SDK keys in the process, an answer cannot be told apart by client: only this client's updates.
      const detail = updates.get(flagKey) ?? state.onlyRules?.get(flagKey);
      return detail ? servedValues(detail).get(value) : undefined;
    },
  };
}

/** js-sdk has served values only. */
export const NO_DEFINITIONS: DefinitionSource = { served: () => undefined };

/** Each variant's served value → its name and reason, worked out once per definition object. */
function servedValues(detail: object): Map<unknown, Served> {
  let values = cache.get(detail);
  if (!values) {
    values = describe(detail as FlagDetail);
    cache.set(detail, values);
  }
  return values;
}

function describe(detail: FlagDetail): Map<unknown, Served> {
  const values = new Map<unknown, Served>();
  const variants = Array.isArray(detail.featureFlag?.variants) ? detail.featureFlag.variants : [];
  const state = detail.state ?? {};
  const rules = new Set((Array.isArray(state.targetingRules) ? state.targetingRules : []).map((r) => r?.variantId));
  const rollout = new Set(
    (Array.isArray(state.percentageRollout) ? state.percentageRollout : []).map((r) => r?.variantId),
  );
  const fallThrough = rollout.size > 0 ? rollout : new Set([state.enabledSingleVariantId]);
  for (const variant of variants) {
    const value = servedValueOf(variant);
    if (value === undefined || value === null) continue; // node-sdk serves the default instead
    let reason: string;
    if (state.isEnabled !== true) {
      reason = variant.variantId === state.disabledSingleVariantId ? REASON_DISABLED : REASON_UNKNOWN;
    } else {
      const byRule = rules.has(variant.variantId);
      const byFallThrough = fallThrough.has(variant.variantId);
      if (byRule && !byFallThrough) reason = REASON_TARGETING_MATCH;
      else if (!byRule && byFallThrough)
        reason = rollout.size > 0 ? REASON_SPLIT : rules.size > 0 ? REASON_DEFAULT : REASON_STATIC;
      else reason = REASON_UNKNOWN;
    }
    const name = typeof variant.name === 'string' && variant.name !== '' ? variant.name : undefined;
    const known = values.get(value);
    if (!known) values.set(value, { variant: name, reason });
    else if (known.variant !== name || known.reason !== reason) {
      // Two variants serve the same value: only what they agree on is known.
      values.set(value, {
        variant: known.variant === name ? name : undefined,
        reason: known.reason === reason ? reason : REASON_UNKNOWN,
      });
    }
  }
  // A value no variant of the flag serves (an enabled single variant that no longer exists) is not described.
  return values;
}

function servedValueOf(variant: VariantDto): unknown {
  switch (variant?.dataTypeCode) {
    case 'NUM':
      return variant.numberValue;
    case 'BOOL':
      return variant.booleanValue;
    case 'STR':
      return variant.stringValue;
    case 'JSON':
      return variant.jsonValue;
    default:
      return undefined;
  }
}
