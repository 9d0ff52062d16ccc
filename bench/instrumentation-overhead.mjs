// Added cost per flag()/track() call of this package on @flagsync/node-sdk, measured as
// instrumented minus uninstrumented in one process, against the floor of one bare span.addEvent
// with the same attributes. Spans go to a real TracerProvider whose processor drops them, so the
// cost measured is recording, not exporting.
import { context, logs, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { instrumentFlagSyncClient } from 'flagsync-otel';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import { startStandIn } from 'flagsync-otel/testing';
import { logs as logsApi } from '@opentelemetry/api-logs';
import { OpenFeature, InMemoryProvider } from '@openfeature/server-sdk';
import { EventHook, SpanEventHook } from '@openfeature/open-telemetry-hooks';
import { init as ldInit, integrations as ldIntegrations } from '@launchdarkly/node-server-sdk';
import { TracingHook } from '@launchdarkly/node-server-sdk-otel';
import { flag, floorAttributes, inSpan, neverFlushingClient, stubClient, user } from './flag-call.mjs';
import { measure, writeResult } from './lib.mjs';

const dropSpans = { export: (_s, cb) => cb({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracerProvider = new TracerProvider({
  spanProcessors: [new BatchSpanProcessor({ exporter: dropSpans, maxQueueSize: 1 << 16 })],
});
trace.setGlobalTracerProvider(tracerProvider);
const loggerProvider = new LoggerProvider({
  processors: [new BatchLogRecordProcessor({ exporter: dropSpans, maxQueueSize: 1 << 16 })],
});
logs.setGlobalLoggerProvider(loggerProvider);
// OpenFeature's EventHook writes through @opentelemetry/api-logs 0.205, which keeps its own global.
logsApi.setGlobalLoggerProvider(loggerProvider);
const tracer = trace.getTracer('bench');
const logger = logs.getLogger('bench');

const standIn = await startStandIn();
await installSdkDeliveryGuard();
const raw = await neverFlushingClient(standIn);
const spanClient = instrumentFlagSyncClient(raw);
const logClient = instrumentFlagSyncClient(raw, { flagSignal: 'log', trackSignal: 'log' });
const sdkClient = instrumentFlagSyncClient(raw, { noRecordingSpan: 'sdk' });

const inTracerSpan = inSpan(tracer);

// The wrapper alone, on a stub client that does no SDK work and retains nothing (guard still on).
const stub = stubClient();
const stubSdk = instrumentFlagSyncClient(stub, { noRecordingSpan: 'sdk' });
const stubSpan = instrumentFlagSyncClient(stub);

// Peers, each on its own SDK with the same flag: OpenFeature server SDK with an in-memory provider,
// and LaunchDarkly's server SDK offline with test data.
await OpenFeature.setProviderAndWait(
  new InMemoryProvider({
    'register-button-copy': { variants: { a: 'Register', b: 'Join Now' }, defaultVariant: 'b', disabled: false },
  }),
);
const ofBare = OpenFeature.getClient('bare');
const ofSpanHook = OpenFeature.getClient('span-hook');
ofSpanHook.addHooks(new SpanEventHook());
const ofEventHook = OpenFeature.getClient('event-hook');
ofEventHook.addHooks(new EventHook());
const ofContext = { targetingKey: user.key, plan: 'pro', country: 'NO' };
const ofFlag = (c) => c.getStringValue('register-button-copy', 'Register', ofContext);

const td = new ldIntegrations.TestData();
td.update(td.flag('register-button-copy').variations('Register', 'Join Now').fallthroughVariation(1));
const quietLd = { debug() {}, info() {}, warn() {}, error() {} };
const ldBare = ldInit('sdk-key', { updateProcessor: td.getFactory(), sendEvents: false, logger: quietLd });
const ldTracing = ldInit('sdk-key', {
  updateProcessor: td.getFactory(),
  sendEvents: false,
  logger: quietLd,
  hooks: [new TracingHook({ includeValue: true })],
});
await ldBare.waitForInitialization({ timeout: 10 });
await ldTracing.waitForInitialization({ timeout: 10 });
const ldContext = { kind: 'user', key: user.key, plan: 'pro', country: 'NO' };
const ldFlag = (c) => c.variation('register-button-copy', ldContext, 'Register');
const inSpanAsync = (fn) => async () => {
  const span = tracer.startSpan('request');
  await context.with(trace.setSpan(context.active(), span), fn);
  span.end();
};
const track = (c) => c.track(user, 'page_load_time', 812.5, { route: '/register' });
const cases = [
  { name: 'flag: uninstrumented, in span', fn: inTracerSpan(() => flag(raw)) },
  { name: 'flag: instrumented, span event', fn: inTracerSpan(() => flag(spanClient)) },
  {
    name: 'flag: floor (bare addEvent), in span',
    fn: inTracerSpan(() => {
      flag(raw);
      trace.getActiveSpan().addEvent('feature_flag.evaluation', floorAttributes(), Date.now());
    }),
  },
  { name: 'flag: instrumented, log event', fn: inTracerSpan(() => flag(logClient)) },
  {
    name: 'flag: floor (bare logger.emit), in span',
    fn: inTracerSpan(() => {
      flag(raw);
      logger.emit({
        eventName: 'feature_flag.evaluation',
        timestamp: Date.now(),
        attributes: floorAttributes(),
        context: context.active(),
      });
    }),
  },
  { name: 'flag: uninstrumented, no span', fn: () => flag(raw) },
  { name: 'flag: instrumented, no span, left to the SDK', fn: () => flag(sdkClient) },
  { name: 'flag: instrumented, no span, log fallback', fn: () => flag(spanClient) },
  { name: 'openfeature: no hook, in span', fn: inTracerSpan(() => ofFlag(ofBare)), async: true },
  { name: 'openfeature: SpanEventHook, in span', fn: inTracerSpan(() => ofFlag(ofSpanHook)), async: true },
  { name: 'openfeature: EventHook (log event), in span', fn: inTracerSpan(() => ofFlag(ofEventHook)), async: true },
  { name: 'launchdarkly: no hook, in span', fn: inSpanAsync(() => ldFlag(ldBare)), async: true },
  { name: 'launchdarkly: TracingHook, in span', fn: inSpanAsync(() => ldFlag(ldTracing)), async: true },
  { name: 'wrapper only: stub flag, no span', fn: () => flag(stub) },
  { name: 'wrapper only: instrumented stub, no span, left to the SDK', fn: () => flag(stubSdk) },
  { name: 'wrapper only: stub flag, in span', fn: inTracerSpan(() => flag(stub)) },
  { name: 'wrapper only: instrumented stub, span event', fn: inTracerSpan(() => flag(stubSpan)) },
  { name: 'track: uninstrumented, in span', fn: inTracerSpan(() => track(raw)) },
  { name: 'track: instrumented, span event', fn: inTracerSpan(() => track(spanClient)) },
];
const results = await measure(cases, { rounds: Number(process.env.BENCH_ROUNDS ?? 5), inner: 50, iterations: 600 });

const added = (name, base) => ({ median: +(results[name].median - results[base].median).toFixed(1) });
const summary = {
  'flag() added, span event': added('flag: instrumented, span event', 'flag: uninstrumented, in span'),
  'flag() floor: bare addEvent with the same attributes': added(
    'flag: floor (bare addEvent), in span',
    'flag: uninstrumented, in span',
  ),
  'flag() added, log event': added('flag: instrumented, log event', 'flag: uninstrumented, in span'),
  'flag() floor, log form: bare logger.emit with the same attributes': added(
    'flag: floor (bare logger.emit), in span',
    'flag: uninstrumented, in span',
  ),
  'flag() added, no span, left to the SDK (nothing recorded)': added(
    'flag: instrumented, no span, left to the SDK',
    'flag: uninstrumented, no span',
  ),
  'flag() added, no span, log fallback': added(
    'flag: instrumented, no span, log fallback',
    'flag: uninstrumented, no span',
  ),
  'track() added, span event (the SDK track() is no longer called)': added(
    'track: instrumented, span event',
    'track: uninstrumented, in span',
  ),
  'OpenFeature SpanEventHook added': added('openfeature: SpanEventHook, in span', 'openfeature: no hook, in span'),
  'OpenFeature EventHook (log event) added': added(
    'openfeature: EventHook (log event), in span',
    'openfeature: no hook, in span',
  ),
  'LaunchDarkly TracingHook added': added('launchdarkly: TracingHook, in span', 'launchdarkly: no hook, in span'),
  'wrapper only (stub SDK): no span, left to the SDK (nothing recorded)': added(
    'wrapper only: instrumented stub, no span, left to the SDK',
    'wrapper only: stub flag, no span',
  ),
  'wrapper only (stub SDK): span event': added(
    'wrapper only: instrumented stub, span event',
    'wrapper only: stub flag, in span',
  ),
};
summary['ratio to floor'] = {
  median: +(
    summary['flag() added, span event'].median / summary['flag() floor: bare addEvent with the same attributes'].median
  ).toFixed(2),
};
summary['ratio to floor, log form'] = {
  median: +(
    summary['flag() added, log event'].median /
    summary['flag() floor, log form: bare logger.emit with the same attributes'].median
  ).toFixed(2),
};
writeResult('instrumentation-overhead', { unit: 'ns per call', cases: results, added: summary });
console.log(JSON.stringify(summary, null, 2));
await standIn.close();
process.exit(0);
