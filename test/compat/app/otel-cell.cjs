// The OpenTelemetry setup of one compatibility cell (CELL, JSON in the environment), the way an app
// sets it up: NodeSDK with FlagSyncInstrumentation, or plain providers with the manual wrapper. What
// differs between the OTel JS lines comes in `line` (see each fixture's setup.cjs).
'use strict';
const api = require('@opentelemetry/api');

const SMALL_LIMIT = 32;

module.exports = function createCellOtel(line) {
  const cell = JSON.parse(process.env.CELL);
  if (cell.reference)
    return { reference: true, inRequest: (_name, fn) => fn(), shutdown: async () => undefined, stats: () => null };

  const { FlagSyncSpanExporter, FlagSyncLogRecordExporter } = require('flagsync-otel/exporters');
  // The app's own MeterProvider of the line's sdk-metrics: the exporters' self-metrics, read at the end.
  const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
  class Reader extends MetricReader {
    onForceFlush = () => Promise.resolve();
    onShutdown = () => Promise.resolve();
  }
  const reader = new Reader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const options = { flushIntervalMillis: 50 }; // key and URL from FLAGSYNC_SDK_KEY / FLAGSYNC_EVENTS_URL
  // Plain providers hand the exporters the MeterProvider; NodeSDK apps register it globally (below).
  if (cell.setup !== 'nodesdk') options.meterProvider = meterProvider;
  const traces = cell.signals !== 'logs';
  const logs = cell.signals !== 'traces';
  const spanProcessors = traces ? [line.batchSpanProcessor(new FlagSyncSpanExporter(options))] : undefined;
  const logRecordProcessors = logs ? [line.batchLogRecordProcessor(new FlagSyncLogRecordExporter(options))] : undefined;
  const sampler = {
    on: () => new line.samplers.AlwaysOnSampler(),
    off: () => new line.samplers.AlwaysOffSampler(),
    // Records, never samples: processors do not export such spans.
    record: () => ({
      shouldSample: () => ({ decision: line.samplers.SamplingDecision.RECORD }),
      toString: () => 'RecordOnly',
    }),
    'parent-unsampled': () => new line.samplers.ParentBasedSampler({ root: new line.samplers.AlwaysOnSampler() }),
  }[cell.sampler]();

  let shutdown;
  let instrumentation;
  if (cell.setup === 'nodesdk') {
    // Limits, disabling and unused signals come from the environment, as NodeSDK reads them.
    const { NodeSDK } = require('@opentelemetry/sdk-node');
    const { FlagSyncInstrumentation } = require('flagsync-otel/instrumentation');
    instrumentation = new FlagSyncInstrumentation();
    const sdk = new NodeSDK({ sampler, spanProcessors, logRecordProcessors, instrumentations: [instrumentation] });
    sdk.start();
    // After the exporters were built, as an app registering its metrics setup last does.
    api.metrics.setGlobalMeterProvider(meterProvider);
    shutdown = () => sdk.shutdown();
  } else {
    const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
    const { LoggerProvider } = require('@opentelemetry/sdk-logs');
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const limits = cell.limit === 'small' ? { attributeValueLengthLimit: SMALL_LIMIT } : {};
    const providers = [];
    if (traces) {
      const tracerProvider = new line.TracerProvider({ sampler, spanProcessors, spanLimits: limits });
      api.trace.setGlobalTracerProvider(tracerProvider);
      providers.push(tracerProvider);
    }
    if (logs) {
      const loggerProvider = new LoggerProvider({ processors: logRecordProcessors, logRecordLimits: limits });
      line.setGlobalLoggerProvider(loggerProvider);
      providers.push(loggerProvider);
    }
    shutdown = () => Promise.all(providers.map((p) => p.shutdown()));
  }

  // The request's parent, for the parent-based cell: a remote caller that did not sample the trace.
  const parent = () =>
    cell.sampler === 'parent-unsampled'
      ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          traceFlags: api.TraceFlags.NONE,
          isRemote: true,
        })
      : api.context.active();
  const tracer = api.trace.getTracer('compat-app');
  // flagsync_otel.* data points as `name{attributes}` → value, collected after the exporters shut down.
  const collected = {};
  const collectSelfMetrics = async () => {
    const { resourceMetrics } = await reader.collect();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics)
        for (const point of metric.dataPoints) {
          const attributes = Object.entries(point.attributes).map(([k, v]) => `${k}=${v}`);
          if (metric.descriptor.name.startsWith('flagsync_otel.'))
            collected[`${metric.descriptor.name}{${attributes.sort().join(',')}}`] = point.value;
        }
    await meterProvider.shutdown();
  };
  const shutdownTelemetry = shutdown;
  shutdown = async () => {
    await shutdownTelemetry();
    await collectSelfMetrics();
  };
  return {
    auto: cell.setup === 'nodesdk',
    inRequest: (name, fn) =>
      tracer.startActiveSpan(name, {}, parent(), (span) => {
        fn();
        span.end();
      }),
    shutdown,
    stats: () => instrumentation?.recorderStats ?? null,
    metrics: () => collected,
  };
};
