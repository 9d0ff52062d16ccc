// Realistic OTLP traffic for the collector-side benchmarks: requests of 512 spans from the real
// instrumentation, 40% of them evaluating 1-3 flags and 10% also tracking an event, encoded as
// OTLP protobuf + gzip with fresh trace and span ids per request (a repeated request would be
// skipped as a duplicate and cost less) and times that advance with the wall clock as an app's do
// (a delivery record's key starts with the call time: repeated times would scatter the records of
// every request over the whole store), and a poster that keeps a few requests in flight.
import { gzipSync } from 'node:zlib';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { Agent, request } from 'undici';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import { createClientInstrumenter } from '../dist/internal.js';

export const SPANS_PER_REQUEST = 512;

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const memory = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
trace.setGlobalTracerProvider(provider);
const tracer = trace.getTracer('bench');
const stub = {
  flag: (_c, key) => ({ 'register-button-copy': 'Join Now', 'new-checkout': true, 'price-multiplier': 1.5 })[key],
  track: () => undefined,
};
// Guarded, as in an app: the calls are this package's to deliver (impressions, not just events).
await installSdkDeliveryGuard();
// The collector delivers: the events say so (flagsync.delivery: collector), as in an app run with
// FLAGSYNC_DELIVERY=collector; with the default the collector would leave them to the SDK. The spans
// are posted for minutes and never receipted here: the receipt timeout must not hand them back.
const client = createClientInstrumenter({ delivery: 'collector', receiptTimeoutMillis: 3_600_000 }, () => true).wrap(
  stub,
);
let seed = 7;
const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
/** FlagSync items (impressions and events) in one request. */
export let FLAG_EVENTS_PER_REQUEST = 0;
for (let i = 0; i < SPANS_PER_REQUEST; i++) {
  tracer.startActiveSpan(
    `GET /page/${i % 17}`,
    { attributes: { 'http.request.method': 'GET', 'url.path': `/page/${i % 17}`, 'http.response.status_code': 200 } },
    (span) => {
      const user = { key: `user-${i}`, attributes: { plan: i % 3 ? 'free' : 'pro' } };
      if (rand() < 0.4) {
        const n = 1 + Math.floor(rand() * 3);
        for (const key of ['register-button-copy', 'new-checkout', 'price-multiplier'].slice(0, n))
          client.flag(user, key);
        FLAG_EVENTS_PER_REQUEST += n;
        if (rand() < 0.25) {
          client.track(user, 'purchase_event', null, { price: 42.5, currency: 'USD' });
          FLAG_EVENTS_PER_REQUEST++;
        }
      }
      span.end();
    },
  );
}
await provider.forceFlush();
const spans = memory.getFinishedSpans();
const nanos = ([s, ns]) => BigInt(s) * 1_000_000_000n + BigInt(ns);
const hrTime = (n) => [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
// Each span's times as recorded, in nanoseconds from the first span's start.
const recorded = spans.map((span) => ({
  start: nanos(span.startTime) - nanos(spans[0].startTime),
  end: nanos(span.endTime) - nanos(spans[0].startTime),
  events: span.events.map((e) => nanos(e.time) - nanos(spans[0].startTime)),
}));

// BENCH_REPEATED_CALL_TIMES=1: every request with the times first recorded (the traffic of the
// benchmarks before 2026-12-06, kept to compare with).
const repeated = process.env.BENCH_REPEATED_CALL_TIMES === '1';
const first = nanos(spans[0].startTime);

/** Request number `n`, OTLP protobuf + gzip, its spans starting now. */
export function payload(n) {
  const now = repeated ? first : BigInt(Date.now()) * 1_000_000n;
  spans.forEach((span, i) => {
    const sc = span.spanContext();
    sc.traceId = n.toString(16).padStart(8, '0') + sc.traceId.slice(8);
    sc.spanId = n.toString(16).padStart(8, '0') + sc.spanId.slice(8);
    span.startTime = hrTime(now + recorded[i].start);
    span.endTime = hrTime(now + recorded[i].end);
    span.events.forEach((e, j) => {
      e.time = hrTime(now + recorded[i].events[j]);
    });
  });
  return gzipSync(ProtobufTraceSerializer.serializeRequest(spans));
}

/** Requests numbered from `offset`. */
export const payloads = (offset, count) => Array.from({ length: count }, (_, i) => payload(offset + i));

const dispatcher = new Agent({ connections: 4 });

/** POST every body to `url` (OTLP/HTTP traces) with `concurrency` in flight; answers by status. */
export async function post(url, bodies, headers = {}, concurrency = 4) {
  let next = 0;
  const statuses = {};
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await request(url, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', ...headers },
        body,
      });
      await res.body.dump();
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}
