// OpenTelemetry JS 2.x (api 1.9): sdk-trace-base providers and span processors (exporter first),
// sdk-logs 0.22x (processors take { exporter }) registered through @opentelemetry/api-logs.
'use strict';
const traceBase = require('@opentelemetry/sdk-trace-base');
const { BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { logs } = require('@opentelemetry/api-logs');
const createCellOtel = require('./otel-cell.cjs');
const createHandoverOtel = require('./handover-otel.cjs');

const line = {
  samplers: traceBase,
  TracerProvider: traceBase.BasicTracerProvider,
  batchSpanProcessor: (exporter) => new traceBase.BatchSpanProcessor(exporter, { scheduledDelayMillis: 50 }),
  batchLogRecordProcessor: (exporter) => new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 50 }),
  setGlobalLoggerProvider: (provider) => logs.setGlobalLoggerProvider(provider),
};
// The compatibility cells (CELL) or the handover cells (HANDOVER) set the app up.
module.exports = process.env.HANDOVER ? createHandoverOtel(line) : createCellOtel(line);
