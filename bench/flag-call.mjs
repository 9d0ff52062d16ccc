// What the per-call benchmarks share: the user, the flag() call, the floor's attributes (what the
// instrumentation writes, size and delivery markers included, built per call as it is), a span per
// call, node-sdk that never flushes, and a stub SDK client that does no work and retains nothing.
import { context, trace } from '@opentelemetry/api';
import { FlagSyncFactory } from '@flagsync/node-sdk';

export const user = { key: 'user-123', attributes: { plan: 'pro', country: 'NO' } };

export const flag = (client) => client.flag(user, 'register-button-copy', 'Register');

export const floorAttributes = () => ({
  'flagsync.size': 0,
  'flagsync.delivery': 'exporter',
  'feature_flag.key': 'register-button-copy',
  'feature_flag.provider.name': 'FlagSync',
  'feature_flag.context.id': user.key,
  'feature_flag.result.reason': 'unknown',
  'flagsync.value': JSON.stringify('Join Now'),
  'feature_flag.result.value': 'Join Now',
  'flagsync.context': JSON.stringify(user),
});

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
