// What the per-call benchmarks share: the user, the flag() call, the floor's attributes (what the
// instrumentation writes, the size marker and the variant included, the JSON built per call as it is), a span per
// call, node-sdk that never flushes, and a stub SDK client that does no work and retains nothing.
import { context, trace } from '@opentelemetry/api';
import { FlagSyncFactory } from '@flagsync/node-sdk';

export const user = { key: 'user-123', attributes: { plan: 'pro', country: 'NO' } };

export const flag = (client) => client.flag(user, 'register-button-copy', 'Register');

/**
 * The floor's attributes of a build that writes no variant (before issue 20), built per call as the
 * instrumentation builds them. The floor's event must be converted and delivered by an exporter like the
 * instrumentation's own: so its size marker is written as the instrumentation writes it (1 per attribute
 * plus each string's length; an event whose marker does not match is ignored), and it carries no delivery
 * marker (an event marked for the exporters with no call handed over is left to the SDK). The marker's own
 * cost is thereby counted in the instrumentation's.
 */
export const floorAttributesWithoutVariant = () => ({
  'flagsync.size': floorSize,
  'feature_flag.key': 'register-button-copy',
  'feature_flag.provider.name': 'FlagSync',
  'feature_flag.context.id': user.key,
  'feature_flag.result.reason': 'unknown',
  'flagsync.value': JSON.stringify('Join Now'),
  'feature_flag.result.value': 'Join Now',
  'flagsync.context': JSON.stringify(user),
});
let floorSize = 0;
floorSize = Object.entries(floorAttributesWithoutVariant())
  .filter(([name]) => name !== 'flagsync.size')
  .reduce((n, [, v]) => n + 1 + (typeof v === 'string' ? v.length : 0), 0);

/** The floor's attributes: this build's, the variant added last as the instrumentation adds it (not sized). */
export const floorAttributes = () => {
  const attributes = floorAttributesWithoutVariant();
  attributes['feature_flag.result.variant'] = 'Join Now';
  return attributes;
};

/** `fn` inside a new active span of `tracer`, ended after. */
export const inSpan = (tracer) => (fn) => () => {
  const span = tracer.startSpan('request');
  context.with(trace.setSpan(context.active(), span), fn);
  span.end();
};

/**
 * node-sdk against the stand-in, never flushing during the run: the SDK's own flushes would differ
 * between cases (the delivery guard drops our items before the SDK serialises them), so an
 * unreachable queue limit and a fixed number of calls per case keep the queue, and memory, bounded.
 */
export async function neverFlushingClient(standIn) {
  const noFlush = { maxQueueSize: 1e9, pushRate: 2_000_000 };
  const raw = FlagSyncFactory({
    sdkKey: 'standin-sdk-key',
    urls: { sdk: standIn.url },
    sync: { type: 'off' },
    tracking: { impressions: noFlush, events: noFlush },
  }).client();
  await raw.waitForReady();
  return raw;
}

/**
 * A client of node-sdk's shape that does no SDK work and retains nothing: the wrapper alone. It serves
 * the flag's value whatever default it is given (the wrapper passes its own fallback sentinel), so the
 * wrapper takes the path of a served flag, hand-over included.
 */
export const stubClient = () => ({
  flag: () => 'Join Now',
  track: () => undefined,
});

/**
 * The stub, keeping what node-sdk keeps of each call: its context (the wrapper's claim, for a call
 * handed over) until its queue of 50 items is sent, then dropping them, as a send does. Without it
 * the claim's life looks shorter than in an app, where the SDK's queue holds it anyway.
 */
export const queueingStubClient = () => {
  const queue = [];
  return {
    flag: (context) => {
      queue.push(context);
      if (queue.length >= 50) queue.length = 0;
      return 'Join Now';
    },
    track: () => undefined,
  };
};
