/** One scripted sequence of flag()/track() calls, used to compare delivery paths. */
interface Ctx {
  key: string;
  attributes?: Record<string, unknown>;
}

export interface ServerLikeClient {
  flag(context: Ctx, flagKey: string, defaultValue?: unknown): unknown;
  track(context: Ctx, eventKey: string, value?: number | null, properties?: Record<string, unknown>): void;
}

const USERS: Ctx[] = [
  { key: 'user-1', attributes: { plan: 'pro', email: 'one@example.com' } },
  { key: 'user-2', attributes: { plan: 'free' } },
  { key: 'user-3' },
  { key: 'ユーザー-4', attributes: { tags: ['a', 'b'], beta: true, score: 3.5, nested: { x: null } } },
];

/** Returns how many impressions the SDK itself would record (missing flags record none). */
export function runScenario(
  client: ServerLikeClient,
  step: (name: string, fn: () => void) => void = (_n, fn) => fn(),
): number {
  let impressions = 0;
  for (const user of USERS) {
    step(`request ${user.key}`, () => {
      client.flag(user, 'register-button-copy', 'Register');
      client.flag(user, 'price-multiplier', 1);
      client.flag(user, 'checkout-config');
      client.flag(user, 'string-true', 'false');
      client.flag(user, 'number-one', 0);
      client.flag(user, 'new-checkout', false);
      client.flag(user, 'retired-banner');
      client.flag(user, 'no-such-flag', 'fallback');
      impressions += 7;
      client.track(user, 'page_load_time', 1234.5);
      client.track(user, 'purchase_event', null, {
        price: 42.5,
        discount: 'SPRING',
        items: [{ sku: 'A-1', qty: 2 }],
        gift: false,
        note: null,
        ключ: 'значение',
      });
      client.track(user, 'signup');
      client.track(user, 'clicked', 0, {});
    });
  }
  return impressions;
}

export const EVENTS_PER_SCENARIO = USERS.length * 4;

/** Items without their timestamps, sorted into a canonical order for comparison. */
export function canonical(items: Record<string, unknown>[]): string[] {
  return items.map(({ timestamp: _t, ...rest }) => JSON.stringify(rest)).sort();
}

/** Like canonical(), with object keys sorted: for comparing client-form items (context added by the stand-in) with server-form ones. */
export function canonicalSortedKeys(items: Record<string, unknown>[]): string[] {
  const sortKeys = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sortKeys)
      : value && typeof value === 'object'
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
          )
        : value;
  return canonical(items.map((item) => sortKeys(item) as Record<string, unknown>));
}
