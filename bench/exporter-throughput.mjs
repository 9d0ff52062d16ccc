// Exporter throughput: span events from the real instrumentation, converted to FlagSync payload
// items and encoded as the delivery engine sends them, per second on one core; beside the floor,
// a plain JSON.stringify of the same output items.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { instrumentFlagSyncClient } from 'flagsync-otel';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import { createConverter, payloadSize } from '../dist/internal.js';
import { measure, writeResult } from './lib.mjs';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const memory = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
trace.setGlobalTracerProvider(provider);
// As in an app with the guard in place: the impressions are this package's to deliver.
await installSdkDeliveryGuard();
const values = {
  'register-button-copy': 'Join Now',
  'new-checkout': true,
  'checkout-config': { layout: 'grid', columns: [1, 2, 3] },
};
const client = instrumentFlagSyncClient({ flag: (_c, key) => values[key], track: () => undefined });
trace.getTracer('bench').startActiveSpan('request', (span) => {
  for (let i = 0; i < 100; i++) {
    const user = { key: `user-${i}`, attributes: { plan: i % 2 ? 'pro' : 'free', country: 'NO' } };
    for (const key of Object.keys(values)) client.flag(user, key);
    client.track(user, 'purchase_event', 42.5, { currency: 'USD', items: [{ sku: 'A', qty: 1 }] });
  }
  span.end();
});
await provider.forceFlush();
const events = memory.getFinishedSpans()[0].events.map((e) => ({
  name: e.name,
  timeMs: e.time[0] * 1000 + Math.floor(e.time[1] / 1e6),
  attributes: e.attributes,
}));
const converter = createConverter();
const items = events.map((e) => converter.convert(e).item);
// Worst case for the converter's memo of parsed texts: every event's context text is new.
const UNIQUE = 20_000;
const uniqueEvents = Array.from({ length: UNIQUE }, (_, n) => {
  const e = events[n % events.length];
  const attributes = {
    ...e.attributes,
    'flagsync.context': `{"key":"u-${n}","attributes":{"plan":"pro","country":"NO"}}`,
  };
  // Keep the size marker true to the changed context (the converter ignores a mismatched event).
  attributes['flagsync.size'] = payloadSize(attributes);
  return { ...e, attributes };
});
const uniqueItems = uniqueEvents.map((e) => createConverter().convert(e).item);

let sink = 0;
let offset = 0;
const results = await measure(
  [
    // What the exporter does per event: convert to the item and its wire JSON, as the engine queues it.
    {
      name: 'convert + encode',
      fn: (i) => {
        const outcome = converter.convert(events[i % events.length]);
        sink += outcome.json.length;
      },
    },
    {
      name: 'floor: JSON.stringify of the output item',
      fn: (i) => {
        sink += JSON.stringify(items[i % items.length]).length;
      },
    },
    {
      name: 'convert + encode, every context new',
      fn: (i) => {
        const outcome = converter.convert(uniqueEvents[(i + offset++) % UNIQUE]);
        sink += outcome.json.length;
      },
    },
    {
      name: 'floor, every context new',
      fn: (i) => {
        sink += JSON.stringify(uniqueItems[(i + offset++) % UNIQUE]).length;
      },
    },
  ],
  { rounds: 5, inner: events.length },
);
const perSecond = Math.round(1e9 / results['convert + encode'].median);
const floorPerSecond = Math.round(1e9 / results['floor: JSON.stringify of the output item'].median);
const uniquePerSecond = Math.round(1e9 / results['convert + encode, every context new'].median);
const uniqueFloorPerSecond = Math.round(1e9 / results['floor, every context new'].median);
const summary = {
  itemsPerSecond: perSecond,
  floorItemsPerSecond: floorPerSecond,
  ratioToFloor: +(perSecond / floorPerSecond).toFixed(2),
  everyContextNew: {
    itemsPerSecond: uniquePerSecond,
    floorItemsPerSecond: uniqueFloorPerSecond,
    ratioToFloor: +(uniquePerSecond / uniqueFloorPerSecond).toFixed(2),
  },
  targets: { itemsPerSecond: 500000, ratioToFloor: 0.5 },
};
writeResult('exporter-throughput', { unit: 'ns per item', cases: results, summary, checksum: sink > 0 });
console.log(JSON.stringify(summary, null, 2));
