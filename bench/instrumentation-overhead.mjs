// Added cost per flag()/track() call of this package on @flagsync/node-sdk, measured as
// instrumented minus uninstrumented in one process, against the floor of one bare span.addEvent
// with the same attributes. Spans go to a real TracerProvider whose processor drops them, so the
// cost measured is recording, not exporting.
import { context, logs, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { createClientInstrumenter } from 'flagsync-otel';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import { startStandIn } from 'flagsync-otel/standin';
import { measure, writeResult } from './lib.mjs';

const dropSpans = { export: (_s, cb) => cb({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: dropSpans, maxQueueSize: 1 << 16 })] });
trace.setGlobalTracerProvider(tracerProvider);
logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: dropSpans, maxQueueSize: 1 << 16 })] }));
const tracer = trace.getTracer('bench');
const logger = logs.getLogger('bench');

const standIn = await startStandIn();
await installSdkDeliveryGuard();
// The SDK's own flushes would differ between cases (the delivery guard drops our items before the
// SDK serialises them), so the SDK never flushes during the run: an unreachable queue limit and a
// fixed number of calls per case keep the queue, and memory, bounded.
const noFlush = { maxQueueSize: 1e9, pushRate: 2_000_000 };
const raw = FlagSyncFactory({ sdkKey: 'standin-sdk-key', urls: { sdk: standIn.url }, sync: { type: 'off' }, tracking: { impressions: noFlush, events: noFlush } }).client();
await raw.waitForReady();
const spanClient = createClientInstrumenter({}, () => true).wrap(raw);
const logClient = createClientInstrumenter({ flagSignal: 'log', trackSignal: 'log' }, () => true).wrap(raw);
const dropClient = createClientInstrumenter({ noRecordingSpan: 'drop' }, () => true).wrap(raw);

const user = { key: 'user-123', attributes: { plan: 'pro', country: 'NO' } };
const inSpan = (fn) => () => {
  const span = tracer.startSpan('request');
  context.with(trace.setSpan(context.active(), span), fn);
  span.end();
};
const floorAttributes = () => ({
  'feature_flag.key': 'register-button-copy',
  'feature_flag.provider.name': 'FlagSync',
  'feature_flag.context.id': user.key,
  'feature_flag.result.reason': 'unknown',
  'flagsync.value': JSON.stringify('Join Now'),
  'feature_flag.result.value': 'Join Now',
  'flagsync.context.attributes': JSON.stringify(user.attributes),
});

// The wrapper alone, on a stub client that does no SDK work and retains nothing (guard still on).
const stub = { flag: (_c, _k, d) => (d === undefined ? 'Join Now' : d === 'Register' ? 'Join Now' : d), track: () => undefined };
const stubDrop = createClientInstrumenter({ noRecordingSpan: 'drop' }, () => true).wrap(stub);
const stubSpan = createClientInstrumenter({}, () => true).wrap(stub);

const flag = (c) => c.flag(user, 'register-button-copy', 'Register');
const track = (c) => c.track(user, 'page_load_time', 812.5, { route: '/register' });
const cases = [
  { name: 'flag: uninstrumented, in span', fn: inSpan(() => flag(raw)) },
  { name: 'flag: instrumented, span event', fn: inSpan(() => flag(spanClient)) },
  { name: 'flag: floor (bare addEvent), in span', fn: inSpan(() => { flag(raw); trace.getActiveSpan().addEvent('feature_flag.evaluation', floorAttributes(), Date.now()); }) },
  { name: 'flag: instrumented, log event', fn: inSpan(() => flag(logClient)) },
  { name: 'flag: floor (bare logger.emit), in span', fn: inSpan(() => { flag(raw); logger.emit({ eventName: 'feature_flag.evaluation', timestamp: Date.now(), attributes: floorAttributes(), context: context.active() }); }) },
  { name: 'flag: uninstrumented, no span', fn: () => flag(raw) },
  { name: 'flag: instrumented, no span, drop', fn: () => flag(dropClient) },
  { name: 'flag: instrumented, no span, log fallback', fn: () => flag(spanClient) },
  { name: 'wrapper only: stub flag, no span', fn: () => flag(stub) },
  { name: 'wrapper only: instrumented stub, no span, drop', fn: () => flag(stubDrop) },
  { name: 'wrapper only: stub flag, in span', fn: inSpan(() => flag(stub)) },
  { name: 'wrapper only: instrumented stub, span event', fn: inSpan(() => flag(stubSpan)) },
  { name: 'track: uninstrumented, in span', fn: inSpan(() => track(raw)) },
  { name: 'track: instrumented, span event', fn: inSpan(() => track(spanClient)) },
];
const results = await measure(cases, { rounds: Number(process.env.BENCH_ROUNDS ?? 5), inner: 50, iterations: 600 });

const added = (name, base) => ({ median: +(results[name].median - results[base].median).toFixed(1) });
const summary = {
  'flag() added, span event': added('flag: instrumented, span event', 'flag: uninstrumented, in span'),
  'flag() floor: bare addEvent with the same attributes': added('flag: floor (bare addEvent), in span', 'flag: uninstrumented, in span'),
  'flag() added, log event': added('flag: instrumented, log event', 'flag: uninstrumented, in span'),
  'flag() floor, log form: bare logger.emit with the same attributes': added('flag: floor (bare logger.emit), in span', 'flag: uninstrumented, in span'),
  'flag() added, no span, drop (nothing recorded)': added('flag: instrumented, no span, drop', 'flag: uninstrumented, no span'),
  'flag() added, no span, log fallback': added('flag: instrumented, no span, log fallback', 'flag: uninstrumented, no span'),
  'track() added, span event (the SDK track() is no longer called)': added('track: instrumented, span event', 'track: uninstrumented, in span'),
  'wrapper only (stub SDK): no span, drop (nothing recorded)': added('wrapper only: instrumented stub, no span, drop', 'wrapper only: stub flag, no span'),
  'wrapper only (stub SDK): span event': added('wrapper only: instrumented stub, span event', 'wrapper only: stub flag, in span'),
};
summary['ratio to floor'] = { median: +(summary['flag() added, span event'].median / summary['flag() floor: bare addEvent with the same attributes'].median).toFixed(2) };
summary['ratio to floor, log form'] = { median: +(summary['flag() added, log event'].median / summary['flag() floor, log form: bare logger.emit with the same attributes'].median).toFixed(2) };
writeResult('instrumentation-overhead', { unit: 'ns per call', cases: results, added: summary });
console.log(JSON.stringify(summary, null, 2));
await standIn.close();
process.exit(0);
