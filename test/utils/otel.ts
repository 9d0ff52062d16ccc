/** Real OpenTelemetry SDK pipelines for tests, registered globally and torn down after. */
import { context, logs, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type Sampler,
  type SpanLimits,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

export interface TestOtel {
  tracer: Tracer;
  spans: InMemorySpanExporter;
  logs: InMemoryLogRecordExporter;
  tracerProvider: TracerProvider;
  loggerProvider: LoggerProvider;
  shutdown(): Promise<void>;
}

export interface TestOtelOptions {
  sampler?: Sampler;
  spanLimits?: SpanLimits;
  spanProcessors?: SpanProcessor[];
  logProcessors?: LogRecordProcessor[];
  /** Register a LoggerProvider at all (default true). */
  withLogs?: boolean;
}

export function setupOtel(options: TestOtelOptions = {}): TestOtel {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const spans = new InMemorySpanExporter();
  const logExporter = new InMemoryLogRecordExporter();
  const tracerProvider = new TracerProvider({
    sampler: options.sampler ?? new AlwaysOnSampler(),
    ...(options.spanLimits ? { spanLimits: options.spanLimits } : {}),
    spanProcessors: [new SimpleSpanProcessor({ exporter: spans }), ...(options.spanProcessors ?? [])],
  });
  trace.setGlobalTracerProvider(tracerProvider);
  const loggerProvider = new LoggerProvider({
    processors: [new SimpleLogRecordProcessor({ exporter: logExporter }), ...(options.logProcessors ?? [])],
  });
  if (options.withLogs !== false) logs.setGlobalLoggerProvider(loggerProvider);
  return {
    tracer: tracerProvider.getTracer('test'),
    spans,
    logs: logExporter,
    tracerProvider,
    loggerProvider,
    async shutdown() {
      await tracerProvider.shutdown();
      await loggerProvider.shutdown();
      trace.disable();
      logs.disable();
      context.disable();
    },
  };
}
