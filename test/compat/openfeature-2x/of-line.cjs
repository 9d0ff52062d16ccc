// OTel JS 2.x: sdk-trace-base, sdk-logs 0.22x registered through @opentelemetry/api-logs (where EventHook looks).
'use strict';
const api = require('@opentelemetry/api');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { logs } = require('@opentelemetry/api-logs');

exports.tracerProvider = (exporter) => {
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 50 })],
  });
  api.trace.setGlobalTracerProvider(provider);
  return provider;
};
exports.loggerProvider = (exporter) => {
  const provider = new LoggerProvider({
    processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 50 })],
  });
  logs.setGlobalLoggerProvider(provider);
  return provider;
};
