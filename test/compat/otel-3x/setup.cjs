// OpenTelemetry JS 3.x (api 1.10): sdk-trace providers and processors ({ exporter }), sdk-logs 3.x
// registered through api 1.10's own `logs`.
'use strict';
const sdkTrace = require('@opentelemetry/sdk-trace');
const { BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { logs } = require('@opentelemetry/api');
const createCellOtel = require('./otel-cell.cjs');
const createHandoverOtel = require('./handover-otel.cjs');

const line = {
  samplers: sdkTrace,
  TracerProvider: sdkTrace.TracerProvider,
  batchSpanProcessor: (exporter) => new sdkTrace.BatchSpanProcessor({ exporter, scheduledDelayMillis: 50 }),
  batchLogRecordProcessor: (exporter) => new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 50 }),
  setGlobalLoggerProvider: (provider) => logs.setGlobalLoggerProvider(provider),
};
// The compatibility cells (CELL) or the handover cells (HANDOVER) set the app up.
module.exports = process.env.HANDOVER ? createHandoverOtel(line) : createCellOtel(line);
