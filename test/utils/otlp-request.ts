/**
 * A hand-built OTLP/JSON traces request (one span per user, each with a flag evaluation and a
 * track call), and how tests read the users of what reached the stand-in.
 */

import { payloadSize } from '../../src/convert/payload-size.js';

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** OTLP/JSON attributes for string values, led by the size marker, as the instrumentation writes them. */
function attributes(values: Record<string, string>) {
  return [
    { key: 'flagsync.size', value: { intValue: String(payloadSize(values)) } },
    ...Object.entries(values).map(([key, value]) => ({ key, value: { stringValue: value } })),
  ];
}

/** `users` spans; span i carries an impression and an event for user `key(i)` (`u<from + i>`). */
export function flagSpansRequest(users: number, from = 0, key = (i: number) => `u${i}`): string {
  return JSON.stringify({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: Array.from({ length: users }, (_, k) => k + from).map((i) => ({
              traceId: hex(i + 1, 32),
              spanId: hex(i + 1, 16),
              name: 'GET /checkout',
              startTimeUnixNano: '1795000000000000000',
              endTimeUnixNano: '1795000001000000000',
              events: [
                {
                  name: 'feature_flag.evaluation',
                  timeUnixNano: String(1795000000000000000n + BigInt(i) * 1_000_000n),
                  attributes: attributes({
                    'feature_flag.key': 'register-button-copy',
                    'feature_flag.provider.name': 'FlagSync',
                    'feature_flag.context.id': key(i),
                    'flagsync.value': '"Join Now"',
                    'flagsync.context': `{"key":"${key(i)}"}`,
                  }),
                },
                {
                  name: 'flagsync.track',
                  timeUnixNano: String(1795000000500000000n + BigInt(i) * 1_000_000n),
                  attributes: attributes({
                    'flagsync.event.key': 'purchase',
                    'flagsync.context': `{"key":"${key(i)}"}`,
                  }),
                },
              ],
            })),
          },
        ],
      },
    ],
  });
}

/** The keys `u<from>`… of `users` users, sorted as contextKeys() sorts. */
export const userKeys = (users: number, from = 0) => Array.from({ length: users }, (_, i) => `u${from + i}`).sort();

/** The context keys of items received by the stand-in, sorted (duplicates kept). */
export const contextKeys = (items: Record<string, unknown>[]) =>
  items.map((i) => (i.context as { key: string }).key).sort();

/** How many different users the items are for. */
export const distinctKeys = (items: Record<string, unknown>[]) => new Set(contextKeys(items)).size;

/** POST an OTLP/JSON traces request to `${baseUrl}/v1/traces`; the answer's status. */
export async function postTraces(baseUrl: string, body: string): Promise<number> {
  const response = await fetch(`${baseUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * A large OTLP/JSON traces request: `spans` spans of `perSpan` evaluations each, one user per
 * evaluation (`u<offset + n>`), so every impression is distinct. With `deepOther`, each span also
 * carries another provider's evaluation whose attribute is nested that many levels (legal OTLP).
 * With `ids`, the spans have no ids, or all-zero ones.
 */
export function manyEvaluationsRequest(options: {
  spans: number;
  perSpan: number;
  offset?: number;
  deepOther?: number;
  ids?: 'none' | 'zero';
}): string {
  const offset = options.offset ?? 0;
  // Spans without ids (legal from some senders) or with all-zero ids.
  const id = (n: number, width: number) =>
    options.ids === 'none' ? '' : options.ids === 'zero' ? '0'.repeat(width) : hex(n, width);
  // Built as text: JSON.stringify itself recurses, and gives out before the depths tested.
  let deep = '{"stringValue":"x"}';
  for (let d = 0; d < (options.deepOther ?? 0); d++) deep = `{"kvlistValue":{"values":[{"key":"k","value":${deep}}]}}`;
  const DEEP = '"<deep value>"';
  return JSON.stringify({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: Array.from({ length: options.spans }, (_, s) => ({
              traceId: id(offset + s + 1, 32),
              spanId: id(offset + s + 1, 16),
              name: 'GET /register',
              startTimeUnixNano: '1795000000000000000',
              endTimeUnixNano: '1795000001000000000',
              events: [
                ...Array.from({ length: options.perSpan }, (_, e) => {
                  const user = `u${offset + s * options.perSpan + e}`;
                  return {
                    name: 'feature_flag.evaluation',
                    timeUnixNano: String(1795000000000000000n + BigInt(e) * 1_000_000n),
                    attributes: attributes({
                      'feature_flag.key': 'register-button-copy',
                      'feature_flag.provider.name': 'FlagSync',
                      'feature_flag.context.id': user,
                      'flagsync.value': '"Join Now"',
                      'flagsync.context': `{"key":"${user}"}`,
                    }),
                  };
                }),
                ...(options.deepOther
                  ? [
                      {
                        name: 'feature_flag.evaluation',
                        timeUnixNano: '1795000000000000000',
                        attributes: [
                          { key: 'feature_flag.provider.name', value: { stringValue: 'AnotherVendor' } },
                          { key: 'feature_flag.key', value: { stringValue: 'f' } },
                          { key: 'vendor.detail', value: '<deep value>' },
                        ],
                      },
                    ]
                  : []),
              ],
            })),
          },
        ],
      },
    ],
  }).replaceAll(DEEP, deep);
}
