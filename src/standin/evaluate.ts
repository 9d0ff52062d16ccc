/**
 * Server-side evaluation for the browser SDK's `POST /sdk/flags` (js-sdk receives values, not
 * rules). Same bucketing as node-sdk 0.1.x so both SDKs serve a user the same variant.
 */
import { createHash } from 'node:crypto';
import type { FlagDef } from './flags.js';

export function evaluateFlag(flag: FlagDef, context: { key: string; attributes?: Record<string, unknown> }): unknown {
  const variantId = flag.enabled ? enabledVariant(flag, context) : flag.disabledVariantId;
  return flag.variants.find((v) => v.id === variantId)?.value;
}

function enabledVariant(flag: FlagDef, context: { key: string; attributes?: Record<string, unknown> }): number {
  for (const rule of flag.rules ?? []) {
    const actual = context.attributes?.[rule.attribute];
    if (actual !== undefined && rule.values.includes(actual as string)) return rule.variantId;
  }
  if (flag.rollout && flag.rollout.length > 0) {
    const hash = createHash('sha256').update(`${context.key}seed-${flag.key}`).digest('hex');
    const bucket = parseInt(hash.substring(0, 12), 16) % 100;
    let cumulative = 0;
    for (const [variantId, percentage] of flag.rollout) {
      cumulative += percentage;
      if (bucket < cumulative) return variantId;
    }
    return flag.disabledVariantId;
  }
  return flag.enabledVariantId;
}
