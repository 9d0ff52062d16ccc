/**
 * Unusual but legal values, through the real collector (with the flagsync exporter, and a stock
 * collector forwarding to the FlagSync gateway: collector-config.stock-to-gateway.yaml) from the standard OTLP/JSON and OTLP/protobuf exporters: FlagSync receives exactly what @flagsync/node-sdk sends for the same
 * calls (field by field, the SDK's refusals included), and the app's other spans and logs in the
 * same OTLP requests still reach its backend: nothing this package writes makes a receiver refuse
 * a request (OTLP/JSON writes integral numbers as int64, and NaN as null, which a receiver refuses).
 */
import { createRequire } from 'node:module';
import { FlagSyncFactory } from '@flagsync/node-sdk';
import { logs, trace } from '@opentelemetry/api';
import { OTLPLogExporter as OTLPLogExporterJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPLogExporterProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installSdkDeliveryGuard } from '../../src/instrumentation/node-sdk-delivery-guard.js';
import { removeSdkDeliveryGuards } from '../../src/instrumentation/sdk-delivery-guard.js';
import { instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { setupOtel } from '../utils/otel.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import { startCollector, waitUntil, type Collector } from '../utils/processes.js';
import { canonical } from '../utils/scenario.js';

type Client = ReturnType<ReturnType<typeof FlagSyncFactory>['client']>;
const { USERS, calls, refusedCalls } = createRequire(import.meta.url)('../compat/app/scenario.cjs') as {
  USERS: { key: string }[];
  calls: (client: Client, user: object) => void;
  refusedCalls: (client: Client) => void;
};

const TOKEN = 'fidelity-token-0123456789';
let standIn: StandIn;
let gateway: Collector;
let collectors: Record<'component' | 'gateway', Collector>;
let backend: OtlpSink;
let native: { impressions: string[]; events: string[]; rejections: string[] };

const newClient = () =>
  FlagSyncFactory({ sdkKey: STANDIN_DEFAULT_SDK_KEY, urls: { sdk: standIn.url }, sync: { type: 'off' } }).client();
const rejections = () => standIn.rejections.map((r) => `${r.path} ${r.status} ${r.message}`).sort();

/** The app's sessions: the scenario (users 1 and 4 in request spans), then the refused calls alone. */
async function sessions(wrap: (client: Client) => Client, inRequest: (name: string, fn: () => void) => void) {
  const client = wrap(newClient());
  await client.waitForReady();
  USERS.forEach((user, i) => {
    if (i === 0 || i === 3) inRequest(`GET /page/${i}`, () => calls(client, user));
    else calls(client, user);
  });
  await client.destroy();
  const refusing = wrap(newClient());
  await refusing.waitForReady();
  refusedCalls(refusing);
  await refusing.destroy();
}

beforeAll(async () => {
  standIn = await startStandIn();
  backend = await startOtlpSink();
  gateway = await startCollector({
    gateway: { token: TOKEN },
    flagsyncEndpoint: standIn.url,
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    backendEndpoint: '',
  });
  collectors = {
    component: await startCollector({
      flagsyncEndpoint: standIn.url,
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      backendEndpoint: backend.url,
    }),
    // The app's collector is a stock one: the FlagSync pipelines forward to the gateway.
    gateway: await startCollector({ gatewayEndpoint: gateway.otlpHttp, backendEndpoint: backend.url, token: TOKEN }),
  };

  removeSdkDeliveryGuards();
  await sessions(
    (c) => c,
    (_name, fn) => fn(),
  );
  await standIn.waitFor(() => standIn.batches.length >= 2 && standIn.rejections.length >= 2);
  native = {
    impressions: canonical(standIn.impressions()),
    events: canonical(standIn.events()),
    rejections: rejections(),
  };
  expect(native.rejections).toHaveLength(2);
  await installSdkDeliveryGuard();
}, 600_000);

afterAll(async () => {
  await collectors?.component.stop();
  await collectors?.gateway.stop();
  await gateway?.stop();
  await standIn?.close();
  await backend?.close();
});

const cases = (['component', 'gateway'] as const).flatMap((via) =>
  (['json', 'proto'] as const).map((encoding) => ({ via, encoding })),
);

describe.each(cases)(
  'unusual values through the real collector ($via), app exporters OTLP/$encoding',
  ({ via, encoding }) => {
    it("FlagSync gets exactly what the SDK sends, and the app's other telemetry in the same requests still arrives", async () => {
      const collector = collectors[via];
      standIn.reset();
      backend.traceBodies.length = 0;
      backend.logBodies.length = 0;
      const traces = `${collector.otlpHttp}/v1/traces`;
      const logsUrl = `${collector.otlpHttp}/v1/logs`;
      const otel = setupOtel({
        spanProcessors: [
          new BatchSpanProcessor({
            exporter:
              encoding === 'json'
                ? new OTLPTraceExporterJson({ url: traces })
                : new OTLPTraceExporterProto({ url: traces }),
            scheduledDelayMillis: 50,
          }),
        ],
        logProcessors: [
          new BatchLogRecordProcessor({
            exporter:
              encoding === 'json'
                ? new OTLPLogExporterJson({ url: logsUrl })
                : new OTLPLogExporterProto({ url: logsUrl }),
            scheduledDelayMillis: 50,
          }),
        ],
      });
      const appLogger = logs.getLogger('app');
      const tracer = trace.getTracer('app');
      await sessions(
        (c) => instrumentFlagSyncClient(c, { delivery: 'collector' }),
        (name, fn) =>
          otel.tracer.startActiveSpan(name, (span) => {
            fn();
            // The app's own telemetry, in the same trace and the same export batches.
            tracer.startActiveSpan(`db query for ${name}`, (child) => child.end());
            appLogger.emit({ body: `served ${name}` });
            span.end();
          }),
      );
      await otel.shutdown();

      await waitUntil(
        () =>
          standIn.impressions().length >= native.impressions.length && standIn.events().length >= native.events.length,
        60_000,
        'items at the stand-in',
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(canonical(standIn.impressions())).toEqual(native.impressions);
      expect(canonical(standIn.events())).toEqual(native.events);
      expect(rejections()).toEqual(native.rejections);
      // Both paths carried some: this package (through the collector) and the SDK (what it keeps).
      const senders = new Set(standIn.batches.map((b) => b.sdkContext.sdkName));
      expect(senders).toEqual(new Set(['flagsync-otel', '@flagsync/node-sdk']));

      await waitUntil(
        () =>
          backend.traceBodies.join('').includes('db query for GET /page/3') &&
          backend.logBodies.join('').includes('served GET /page/3'),
        20_000,
        "the app's own telemetry at its backend",
      );
      for (const name of ['GET /page/0', 'GET /page/3']) {
        expect(backend.traceBodies.join('')).toContain(`db query for ${name}`);
        expect(backend.logBodies.join('')).toContain(`served ${name}`);
      }
    });
  },
);
