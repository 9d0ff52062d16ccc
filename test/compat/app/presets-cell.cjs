// The http preset in a user's Express app of either OTel JS line: the line's tracer provider,
// @opentelemetry/instrumentation-http and -express, FlagSyncInstrumentation, and the FlagSync span
// exporter with `derivedEvents: 'http'`. GET /users/:id evaluates a flag for that user in the
// route handler; ?fail=1 answers 500. With SAMPLING_RATIO, the app samples its traces in code
// (ParentBased, root TraceIdRatioBased). Plays VISITORS visitors, then prints one line:
// {"servers": [...], "stats": {...}}.
'use strict';
const { context, trace, SpanStatusCode } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const { FlagSyncInstrumentation } = require('flagsync-otel/instrumentation');
const { FlagSyncSpanExporter } = require('flagsync-otel/exporters');

// The line's SDK: sdk-trace (3.x, processors take { exporter }) or sdk-trace-base (2.x, exporter first).
let sdk;
let TracerProvider;
let processor;
try {
  sdk = require('@opentelemetry/sdk-trace');
  TracerProvider = sdk.TracerProvider;
  processor = (Processor, exporter, config) => new Processor({ exporter, ...config });
} catch {
  sdk = require('@opentelemetry/sdk-trace-base');
  TracerProvider = sdk.BasicTracerProvider;
  processor = (Processor, exporter, config) => new Processor(exporter, config);
}

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new FlagSyncSpanExporter({ flushIntervalMillis: 50, derivedEvents: 'http' });
const recorded = new sdk.InMemorySpanExporter();
const ratio = process.env.SAMPLING_RATIO;
const tracerProvider = new TracerProvider({
  ...(ratio ? { sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(Number(ratio)) }) } : {}),
  spanProcessors: [
    processor(sdk.BatchSpanProcessor, exporter, { scheduledDelayMillis: 50 }),
    processor(sdk.SimpleSpanProcessor, recorded),
  ],
});
trace.setGlobalTracerProvider(tracerProvider);
registerInstrumentations({
  instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation(), new FlagSyncInstrumentation()],
});

// Loaded after the instrumentations, as with --require.
const http = require('node:http');
const express = require('express');
const { FlagSyncFactory } = require('@flagsync/node-sdk');

async function main() {
  const client = FlagSyncFactory({
    sdkKey: process.env.FLAGSYNC_SDK_KEY,
    urls: { sdk: process.env.FLAGSYNC_EVENTS_URL },
    sync: { type: 'off' },
  }).client();
  await client.waitForReady();
  const app = express();
  app.get('/users/:id', (req, res) => {
    const copy = client.flag({ key: req.params.id, attributes: { plan: 'pro' } }, 'register-button-copy', 'Register');
    if (req.query.fail) res.status(500).send('boom');
    else res.send(String(copy));
  });
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const visitors = Number(process.env.VISITORS ?? 6);
  for (let i = 1; i <= visitors; i++) {
    await new Promise((resolve, reject) => {
      http
        .get(`http://127.0.0.1:${port}/users/u${i}${i % 3 === 0 ? '?fail=1' : ''}`, (res) =>
          res.resume().on('end', resolve),
        )
        .on('error', reject);
    });
  }
  server.close();
  await tracerProvider.forceFlush();
  // Read before shutdown, which empties the in-memory exporter: the spans the SDK sampled.
  const spans = recorded.getFinishedSpans().filter((s) => s.kind === 1 /* server */);
  const servers = spans.map((s) => ({
    user: String(s.attributes['url.path']).split('/').pop(),
    durationNanos: (s.endTime[0] - s.startTime[0]) * 1e9 + (s.endTime[1] - s.startTime[1]),
    status: s.status.code === SpanStatusCode.ERROR ? 'error' : 'unset',
    method: s.attributes['http.request.method'],
    route: s.attributes['http.route'],
  }));
  await tracerProvider.shutdown();
  const { derived, derivedSampled } = exporter.stats();
  process.stdout.write(`${JSON.stringify({ servers, stats: { derived, derivedSampled } })}\n`);
  await client.destroy();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
