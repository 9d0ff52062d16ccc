// A browser page with @flagsync/js-sdk and OpenTelemetry JS (web), bundled by the fixture's esbuild.
// The test calls window.runSession(mode) in Chromium; the page talks to FlagSync (the stand-in) and
// sends OTLP/HTTP JSON to flagsync-otel's service, both on the page's own origin.
import axios from 'axios';
import { FlagSyncFactory } from '@flagsync/js-sdk';
import { trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import * as otlpExporterBase from '@opentelemetry/otlp-exporter-base';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { StackContextManager, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { installBrowserSdkDeliveryGuard, instrumentFlagSyncClient } from 'flagsync-otel';

const USERS = [{ key: 'browser-1', attributes: { plan: 'pro', locale: 'nb-NO' } }, { key: 'browser-2' }];

function calls(client) {
  client.flag('register-button-copy', 'Register');
  client.flag('checkout-config');
  client.flag('string-true');
  client.flag('no-such-flag', 'fallback');
  client.flag('null-config', 'none');
  client.track('page_load_time', 812.25);
  client.track('purchase_event', null, { price: 42.5, discount: 'SPRING', nested: { list: [1, 'two', null] } });
  client.track('signup');
  client.track('not_a_number', NaN);
}

/**
 * `native`: the SDK alone. `context-manager`: OTel with a context manager, calls in spans (span
 * events). `no-context-manager`: OTel without one: no span is ever active (log-based events).
 * `no-signal`: OTel tracing only, without a context manager: nothing to record on (the SDK delivers).
 */
window.runSession = async (mode) => {
  const providers = [];
  if (mode !== 'native') {
    const tracerProvider = new WebTracerProvider({
      spanProcessors: [
        new BatchSpanProcessor(new OTLPTraceExporter({ url: '/v1/traces' }), { scheduledDelayMillis: 50 }),
      ],
    });
    // register() installs a context manager; without it, spans are never active.
    if (mode === 'context-manager') tracerProvider.register({ contextManager: new StackContextManager() });
    else trace.setGlobalTracerProvider(tracerProvider);
    providers.push(tracerProvider);
    if (mode !== 'no-signal') {
      const loggerProvider = new LoggerProvider({
        processors: [
          new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: '/v1/logs' }), scheduledDelayMillis: 50 }),
        ],
      });
      logs.setGlobalLoggerProvider(loggerProvider);
      providers.push(loggerProvider);
    }
    // The page's OTLP goes to a collector-side FlagSync deliverer: its exporters' answers are the receipts.
    if (!installBrowserSdkDeliveryGuard({ axios, otlpExporterBase }))
      throw new Error('the delivery guard did not install');
  }
  const tracer = trace.getTracer('page');
  for (const core of USERS) {
    const raw = FlagSyncFactory({
      sdkKey: 'standin-sdk-key',
      core,
      urls: { sdk: location.origin },
      sync: { type: 'off' },
    }).client();
    const client = mode === 'native' ? raw : instrumentFlagSyncClient(raw, { delivery: 'collector' });
    await client.waitForReady();
    tracer.startActiveSpan(`render for ${core.key}`, (span) => {
      calls(client);
      span.end();
    });
    // As on page hide: telemetry first (its export answers are the receipts), then the SDK's own
    // flush (kill(): fetch, keepalive), which sends whatever has no receipt.
    await Promise.all(providers.map((p) => p.forceFlush()));
    client.kill();
  }
  await Promise.all(providers.map((p) => p.shutdown()));
  return mode;
};
