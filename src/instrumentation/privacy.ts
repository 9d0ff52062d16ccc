/** Privacy options resolved once: what of a user context may leave the process. */
import type { ContextAttributeFilter, FlagSyncInstrumentationOptions } from '../types.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * Synchronous and browser-safe (flag() is synchronous; SubtleCrypto is not): an audited library.
 * @noble/hashes 1.x because it ships CommonJS: 2.x is ESM-only, and our CommonJS build's require() of it
 * fails on Node 22 when the app registers async loader hooks (`--import .../register`, as OTel setups do).
 */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

export interface ContextPrivacy {
  /** True when no option is set: contexts are recorded exactly as the SDK would send them. */
  readonly identity: boolean;
  mapKey(key: string): string;
  /**
   * The context with its key mapped and its attribute names (in `attributes` and beside it, where
   * apps sometimes put `email` or `kind`) filtered. Field order is kept.
   */
  applyToContext(context: Record<string, unknown>): Record<string, unknown>;
}

export function resolveContextPrivacy(options: FlagSyncInstrumentationOptions): ContextPrivacy {
  const mapKey = resolveKeyMapper(options.hashContextKey);
  const keep = resolveNameFilter(options.contextAttributes);
  return {
    identity: options.hashContextKey === undefined || options.hashContextKey === false ? keep === undefined : false,
    mapKey,
    applyToContext(context) {
      const out: Record<string, unknown> = {};
      for (const name of Object.keys(context)) {
        const value = context[name];
        if (name === 'key') out.key = typeof value === 'string' ? mapKey(value) : value;
        else if (name === 'attributes') out.attributes = keep && isRecord(value) ? filterNames(value, keep) : value;
        else if (!keep || keep(name)) out[name] = value;
      }
      return out;
    },
  };
}

function resolveKeyMapper(option: FlagSyncInstrumentationOptions['hashContextKey']): (key: string) => string {
  if (typeof option === 'function') return option;
  if (option === true) return sha256Hex;
  if (option && typeof option === 'object') {
    const salt = option.salt;
    return (key) => sha256Hex(salt + key);
  }
  return (key) => key;
}

function resolveNameFilter(filter: ContextAttributeFilter | undefined): ((name: string) => boolean) | undefined {
  const allow = filter?.allow ? new Set(filter.allow) : undefined;
  const deny = filter?.deny && filter.deny.length > 0 ? new Set(filter.deny) : undefined;
  if (!allow && !deny) return undefined;
  return (name) => (!allow || allow.has(name)) && !deny?.has(name);
}

function filterNames(attributes: Record<string, unknown>, keep: (name: string) => boolean): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of Object.keys(attributes)) if (keep(name)) kept[name] = attributes[name];
  return kept;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
