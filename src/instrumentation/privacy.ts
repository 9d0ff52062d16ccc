/** Privacy options resolved once: what of a user context may leave the process. */
import type { ContextAttributeFilter, FlagSyncInstrumentationOptions } from '../types.js';
import { sha256Hex } from './sha256.js';

export interface ContextPrivacy {
  mapKey(key: string): string;
  /** The attributes to record, or undefined when none were given. */
  filterAttributes(attributes: Record<string, unknown> | undefined): Record<string, unknown> | undefined;
}

export function resolveContextPrivacy(options: FlagSyncInstrumentationOptions): ContextPrivacy {
  return { mapKey: resolveKeyMapper(options.hashContextKey), filterAttributes: resolveAttributeFilter(options.contextAttributes) };
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

function resolveAttributeFilter(filter: ContextAttributeFilter | undefined): ContextPrivacy['filterAttributes'] {
  const allow = filter?.allow ? new Set(filter.allow) : undefined;
  const deny = filter?.deny && filter.deny.length > 0 ? new Set(filter.deny) : undefined;
  if (!allow && !deny) return (attributes) => attributes;
  return (attributes) => {
    if (!attributes) return attributes;
    const kept: Record<string, unknown> = {};
    for (const name of Object.keys(attributes)) {
      if (allow && !allow.has(name)) continue;
      if (deny && deny.has(name)) continue;
      kept[name] = attributes[name];
    }
    return kept;
  };
}
