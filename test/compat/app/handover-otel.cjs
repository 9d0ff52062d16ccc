// The OpenTelemetry setup of one handover cell (HANDOVER, JSON in the environment): NodeSDK with
// FlagSyncInstrumentation and either this package's exporters (`flagsync`) or the exporters NodeSDK
// builds from OTEL_TRACES_EXPORTER / OTEL_LOGS_EXPORTER (console, otlp: `env`). `reference`: no OTel.
'use strict';
const api = require('@opentelemetry/api');

module.exports = function createHandoverOtel(line) {
  const cell = JSON.parse(process.env.HANDOVER);
  if (cell.reference) return { reference: true, inRequest: (_name, fn) => fn() };
  const { NodeSDK } = require('@opentelemetry/sdk-node');
  const { FlagSyncInstrumentation } = require('flagsync-otel/instrumentation');
  const config = { instrumentations: [new FlagSyncInstrumentation()] };
  if (cell.exporters === 'flagsync') {
    const { FlagSyncSpanExporter, FlagSyncLogRecordExporter } = require('flagsync-otel/exporters');
    const options = { flushIntervalMillis: 50 }; // key and URL from FLAGSYNC_SDK_KEY / FLAGSYNC_EVENTS_URL
    config.spanProcessors = [line.batchSpanProcessor(new FlagSyncSpanExporter(options))];
    config.logRecordProcessors = [line.batchLogRecordProcessor(new FlagSyncLogRecordExporter(options))];
  }
  new NodeSDK(config).start();
  const tracer = api.trace.getTracer('handover-app');
  return {
    inRequest: (name, fn) =>
      tracer.startActiveSpan(name, (span) => {
        fn();
        span.end();
      }),
  };
};
