/**
 * The instrumented app of the end-to-end tests (real node-sdk, real OTel SDK, the standard OTLP
 * exporters) and what it is compared with: the same calls sent by the SDK on its own.
 */
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { logs } from '@opentelemetry/api';
import { OTLPLogExporter as OTLPLogExporterJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPLogExporterProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { installSdkDeliveryGuard } from '../../src/instrumentation/node-sdk-delivery-guard.js';
import { removeSdkDeliveryGuards } from '../../src/instrumentation/sdk-delivery-guard.js';
import { instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { setupOtel } from './otel.js';
import { waitUntil } from './processes.js';
import { canonical, runScenario, type ServerLikeClient } from './scenario.js';

export type Scenario = (client: ServerLikeClient, step: (name: string, fn: () => void) => void) => void;

/** The scenario for users 1-2 only, or 3-4 only: to split a run around a failure. */
export const firstHalf: Scenario = (client, step) =>
  runScenario(client, (name, fn) => (/[12]$/.test(name) ? step(name, fn) : undefined));
export const secondHalf: Scenario = (client, step) =>
  runScenario(client, (name, fn) => (/[34]$/.test(name) ? step(name, fn) : undefined));
export const ofFirstHalf = (item: string) => /"key":"user-[12]"/.test(item);

const newClient = (standIn: StandIn) =>
  FlagSyncFactory({ sdkKey: STANDIN_DEFAULT_SDK_KEY, urls: { sdk: standIn.url }, sync: { type: 'off' } }).client();

/**
 * What the SDK sends natively for the scenario: the reference for every end-to-end test. Leaves
 * the delivery guard installed for the instrumented runs that follow.
 */
export async function nativeReference(
  standIn: StandIn,
  scenario: Scenario = runScenario,
): Promise<{ impressions: string[]; events: string[] }> {
  standIn.reset();
  removeSdkDeliveryGuards();
  const nativeClient = newClient(standIn);
  await nativeClient.waitForReady();
  scenario(nativeClient as unknown as ServerLikeClient, (_name, fn) => fn());
  await nativeClient.destroy();
  await standIn.waitFor(() => standIn.batches.length >= 2);
  const native = { impressions: canonical(standIn.impressions()), events: canonical(standIn.events()) };
  standIn.reset();
  await installSdkDeliveryGuard();
  return native;
}

/** The app: OTLP exporters to the collector, users 1-2 in spans (span events), 3-4 without (log form), plus unrelated telemetry. */
export async function runApp(
  collectorUrl: string,
  standIn: StandIn,
  encoding: 'proto' | 'json',
  scenario: Scenario = runScenario,
  /** Sent with every OTLP request (a gateway's bearer token). */
  headers: Record<string, string> = {},
): Promise<void> {
  const traces = { url: `${collectorUrl}/v1/traces`, headers };
  const logsUrl = { url: `${collectorUrl}/v1/logs`, headers };
  const otel = setupOtel({
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: encoding === 'proto' ? new OTLPTraceExporterProto(traces) : new OTLPTraceExporterJson(traces),
        scheduledDelayMillis: 50,
      }),
    ],
    logProcessors: [
      new BatchLogRecordProcessor({
        exporter: encoding === 'proto' ? new OTLPLogExporterProto(logsUrl) : new OTLPLogExporterJson(logsUrl),
        scheduledDelayMillis: 50,
      }),
    ],
  });
  // The collector's flagsync exporter delivers: the app says so, as a user must.
  const client = instrumentFlagSyncClient(newClient(standIn), { delivery: 'collector' });
  await client.waitForReady();
  scenario(client as unknown as ServerLikeClient, (name, fn) => {
    if (!/[12]$/.test(name)) return fn();
    otel.tracer.startActiveSpan(name, (span) => {
      fn();
      span.end();
    });
  });
  // Telemetry FlagSync does not need: must reach the backend, never FlagSync's pipelines.
  for (let i = 0; i < 5; i++) otel.tracer.startActiveSpan('GET /health', (span) => span.end());
  otel.tracer.startActiveSpan('GET /broken', (span) => {
    span.addEvent('exception', { 'exception.message': 'boom' });
    span.end();
  });
  for (let i = 0; i < 3; i++) logs.getLogger('app').emit({ body: `app log ${i}` });
  await otel.shutdown();
}

/**
 * The spans and log records the instrumentation writes for `calls` (through the real OTel SDK, in
 * memory), for tests that build OTLP requests from them; `inSpan` runs calls in a request span.
 */
export async function recordCalls(
  standIn: StandIn,
  calls: (client: ServerLikeClient, inSpan: (fn: () => void) => void) => void,
): Promise<{ spans: ReadableSpan[]; logs: ReadableLogRecord[] }> {
  const otel = setupOtel();
  const client = instrumentFlagSyncClient(newClient(standIn), { delivery: 'collector' });
  await client.waitForReady();
  calls(client as unknown as ServerLikeClient, (fn) =>
    otel.tracer.startActiveSpan('GET /recorded', (span) => {
      fn();
      span.end();
    }),
  );
  const recorded = { spans: otel.spans.getFinishedSpans(), logs: otel.logs.getFinishedLogRecords() };
  await otel.shutdown();
  return recorded;
}

export async function arrived(
  standIn: StandIn,
  expected: { impressions: number; events: number },
  timeoutMs: number,
): Promise<void> {
  await waitUntil(
    () => standIn.impressions().length >= expected.impressions && standIn.events().length >= expected.events,
    timeoutMs,
    'impressions and events at the stand-in',
  );
  // Anything extra (duplicates) would arrive in the same breath: give it a moment before comparing.
  await new Promise((r) => setTimeout(r, 500));
}
