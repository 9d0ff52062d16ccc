/**
 * The stand-in's flag set, in the node-sdk's `/sdk/rules` shape (FeatureFlagEnvironmentDetailDto).
 * Chosen to cover every value type the SDKs serve and the demo's `register-button-copy` split.
 */

type DataTypeCode = 'BOOL' | 'STR' | 'NUM' | 'JSON';

export interface VariantDef {
  id: number;
  type: DataTypeCode;
  name: string;
  value: unknown;
}

export interface FlagDef {
  key: string;
  enabled: boolean;
  variants: VariantDef[];
  enabledVariantId: number;
  disabledVariantId: number;
  /** Percentage rollout: [variantId, percentage] pairs summing to 100. */
  rollout?: [number, number][];
  /** Targeting: context attribute `attribute` is one of `values` → variant. */
  rules?: { attribute: string; values: string[]; variantId: number }[];
}

export const STANDIN_FLAGS: FlagDef[] = [
  {
    key: 'register-button-copy',
    enabled: true,
    variants: [
      { id: 1, type: 'STR', name: 'Register', value: 'Register' },
      { id: 2, type: 'STR', name: 'Join Now', value: 'Join Now' },
      { id: 3, type: 'STR', name: 'Sign Up', value: 'Sign Up' },
    ],
    enabledVariantId: 1,
    disabledVariantId: 1,
    rollout: [
      [1, 34],
      [2, 33],
      [3, 33],
    ],
  },
  {
    key: 'new-checkout',
    enabled: true,
    variants: [
      { id: 10, type: 'BOOL', name: 'on', value: true },
      { id: 11, type: 'BOOL', name: 'off', value: false },
    ],
    enabledVariantId: 10,
    disabledVariantId: 11,
    rollout: [
      [10, 50],
      [11, 50],
    ],
  },
  {
    key: 'price-multiplier',
    enabled: true,
    variants: [
      { id: 20, type: 'NUM', name: 'standard', value: 1 },
      { id: 21, type: 'NUM', name: 'pro', value: 1.5 },
    ],
    enabledVariantId: 20,
    disabledVariantId: 20,
    rules: [{ attribute: 'plan', values: ['pro'], variantId: 21 }],
  },
  {
    key: 'checkout-config',
    enabled: true,
    variants: [
      {
        id: 30,
        type: 'JSON',
        name: 'grid',
        value: { layout: 'grid', columns: [1, 2, 3], extras: { badge: null, ключ: 'значение' } },
      },
    ],
    enabledVariantId: 30,
    disabledVariantId: 30,
  },
  {
    key: 'string-true',
    enabled: true,
    variants: [{ id: 40, type: 'STR', name: 'text', value: 'true' }],
    enabledVariantId: 40,
    disabledVariantId: 40,
  },
  {
    key: 'number-one',
    enabled: true,
    variants: [{ id: 50, type: 'NUM', name: 'one', value: 1 }],
    enabledVariantId: 50,
    disabledVariantId: 50,
  },
  {
    key: 'retired-banner',
    enabled: false,
    variants: [
      { id: 60, type: 'STR', name: 'on', value: 'banner' },
      { id: 61, type: 'STR', name: 'off', value: 'none' },
    ],
    enabledVariantId: 60,
    disabledVariantId: 61,
  },
  // Unusual but legal: what the SDKs serve as null/undefined, and numbers past 2^53 and 2^63.
  {
    key: 'null-config',
    enabled: true,
    variants: [{ id: 70, type: 'JSON', name: 'nothing', value: null }],
    enabledVariantId: 70,
    disabledVariantId: 70,
  },
  {
    key: 'stale-variant',
    enabled: true,
    variants: [{ id: 80, type: 'STR', name: 'kept', value: 'kept' }],
    // Points at a variant that no longer exists: node-sdk serves undefined (then the default).
    enabledVariantId: 81,
    disabledVariantId: 80,
  },
  {
    key: 'huge-limit',
    enabled: true,
    variants: [{ id: 90, type: 'NUM', name: 'huge', value: 1e21 }],
    enabledVariantId: 90,
    disabledVariantId: 90,
  },
  {
    key: 'big-quota',
    enabled: true,
    variants: [{ id: 100, type: 'NUM', name: 'big', value: 1e19 }],
    enabledVariantId: 100,
    disabledVariantId: 100,
  },
  {
    key: 'long-copy',
    enabled: true,
    variants: [
      {
        id: 110,
        type: 'STR',
        name: 'long',
        value:
          'Join thousands of teams who ship features safely with progressive delivery — start your free trial today',
      },
    ],
    enabledVariantId: 110,
    disabledVariantId: 110,
  },
];

const STAMP = '2026-01-01T00:00:00.000Z';

/** One flag as node-sdk 0.1.x reads it from `POST /sdk/rules`. */
export function toEnvironmentDetail(flag: FlagDef, index: number): Record<string, unknown> {
  return {
    organizationId: 1,
    workspaceId: 1,
    environmentId: 1,
    featureFlag: {
      featureFlagId: index + 1,
      name: flag.key,
      key: flag.key,
      description: `stand-in flag ${flag.key}`,
      createdAt: STAMP,
      updatedAt: STAMP,
      variants: flag.variants.map((v) => ({
        variantId: v.id,
        dataTypeCode: v.type,
        name: v.name,
        description: v.name,
        createdAt: STAMP,
        updatedAt: STAMP,
        jsonValue: v.type === 'JSON' ? v.value : null,
        numberValue: v.type === 'NUM' ? v.value : null,
        stringValue: v.type === 'STR' ? v.value : null,
        booleanValue: v.type === 'BOOL' ? v.value : null,
      })),
    },
    state: {
      featureFlagEnvironmentStateId: index + 1,
      environmentId: 1,
      isEnabled: flag.enabled,
      createdAt: STAMP,
      updatedAt: STAMP,
      enabledSingleVariantId: flag.enabledVariantId,
      disabledSingleVariantId: flag.disabledVariantId,
      seed: `seed-${flag.key}`,
      percentageRollout: (flag.rollout ?? []).map(([variantId, percentage]) => ({ variantId, percentage })),
      targetingRules: (flag.rules ?? []).map((rule, i) => ({
        variantEnvironmentTargetingRuleId: i + 1,
        variantId: rule.variantId,
        name: `rule ${i + 1}`,
        order: i,
        createdAt: STAMP,
        updatedAt: STAMP,
        clauses: [
          {
            targetingRuleClauseId: i + 1,
            order: 0,
            operator: 'IOO',
            attribute: 'CUSTOM',
            customAttribute: { attributeId: i + 1, name: rule.attribute },
            values: rule.values.map((value, j) => ({ targetingRuleClauseValueId: j + 1, value })),
            createdAt: STAMP,
            updatedAt: STAMP,
          },
        ],
      })),
    },
  };
}
