// What the opt-in evaluation counter (`evaluationMetrics: true`, `feature_flag.evaluations`) adds per flag():
// the same node-sdk client (never flushing) wrapped with the counter off and on, side by side in one process,
// rounds alternating, a MeterProvider of sdk-metrics registered globally with a reader that collects. Two
// settings: flag() in a recording span (the event is written either way), and flag() outside any span with no
// LoggerProvider (nothing recorded; with the counter on, the call is still counted).
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { instrumentFlagSyncClient } from 'flagsync-otel';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import { startStandIn } from 'flagsync-otel/testing';
import { flag, inSpan, neverFlushingClient, stubClient } from './flag-call.mjs';
import { measurePaired, writeResult } from './lib.mjs';

const dropSpans = { export: (_s, cb) => cb({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(
  new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: dropSpans, maxQueueSize: 1 << 16 })] }),
);
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
const span = inSpan(trace.getTracer('bench'));

const standIn = await startStandIn();
// The guard also watches node-sdk's /sdk/rules answer: variant names and reasons come from its definitions.
await installSdkDeliveryGuard();
const raw = await neverFlushingClient(standIn);
const off = instrumentFlagSyncClient(raw, { delivery: 'sdk' });
const on = instrumentFlagSyncClient(raw, { delivery: 'sdk', evaluationMetrics: true });
// The wrapper alone (a stub SDK: no definitions, so the variant is the value's string form, found in a Map).
const stub = stubClient();
const stubOff = instrumentFlagSyncClient(stub, { delivery: 'sdk' });
const stubOn = instrumentFlagSyncClient(stub, { delivery: 'sdk', evaluationMetrics: true });

const sdkCases = [
  { name: 'in a span, counter off', fn: span(() => flag(off)) },
  { name: 'in a span, counter on', fn: span(() => flag(on)) },
  { name: 'no span, counter off', fn: () => flag(off) },
  { name: 'no span, counter on', fn: () => flag(on) },
];
const stubCases = [
  { name: 'stub, in a span, counter off', fn: span(() => flag(stubOff)) },
  { name: 'stub, in a span, counter on', fn: span(() => flag(stubOn)) },
  { name: 'stub, no span, counter off', fn: () => flag(stubOff) },
  { name: 'stub, no span, counter on', fn: () => flag(stubOn) },
];
// Fixed iterations with node-sdk, which keeps every queued impression (it never flushes here); timed rounds with
// the stub, which retains nothing.
// Many short rounds: the counter's cost is read round by round (on minus off), which the machine's drift moves less
// than either figure.
const sdk = await measurePaired(sdkCases, { rounds: 31, inner: 100, iterations: 200 });
const stubbed = await measurePaired(stubCases, { rounds: 31, inner: 100, time: 150 });
const results = { ...sdk.results, ...stubbed.results };
const added = {
  'in a span': sdk.paired('in a span, counter on', 'in a span, counter off'),
  'no span': sdk.paired('no span, counter on', 'no span, counter off'),
  'stub, in a span': stubbed.paired('stub, in a span, counter on', 'stub, in a span, counter off'),
  'stub, no span': stubbed.paired('stub, no span, counter on', 'stub, no span, counter off'),
};

await reader.forceFlush();
const points = metricExporter
  .getMetrics()
  .flatMap((r) => r.scopeMetrics)
  .flatMap((s) => s.metrics)
  .filter((m) => m.descriptor.name === 'feature_flag.evaluations')
  .at(-1)?.dataPoints;
const series = (points ?? []).map((p) => ({ ...p.attributes, value: p.value }));
console.log(JSON.stringify({ results, added, series }, null, 2));
writeResult('evaluation-metrics', { results, added, series, target: 150 });
await standIn.close();
process.exit(0);
