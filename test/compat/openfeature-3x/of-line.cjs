// OTel JS 3.x: sdk-trace and sdk-logs 3.x. The LoggerProvider is registered with api 1.10's logs
// (where this package and the 3.x SDK look) and with @opentelemetry/api-logs (where EventHook looks).
'use strict';
const api = require('@opentelemetry/api');
const { TracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const apiLogs = require('@opentelemetry/api-logs');

exports.tracerProvider = (exporter) => {
  const provider = new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 50 })],
  });
  api.trace.setGlobalTracerProvider(provider);
  return provider;
};
exports.loggerProvider = (exporter) => {
  const provider = new LoggerProvider({
    processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 50 })],
  });
  api.logs.setGlobalLoggerProvider(provider);
  apiLogs.logs.setGlobalLoggerProvider(provider);
  return provider;
};
