// Derived events: what rule matching costs the in-process span exporter per span. Requests of the
// real SDK's spans (a server span, two client spans and a handler span evaluating flags, per
// trace) are converted as FlagSyncSpanExporter does (convertSpans): without rules, with ten rules
// no span meets (the price every span pays), and with ten rules a quarter of the spans meet (the
// cost with derived events made). The component's figures come from its Go benchmark
// (BenchmarkRulesOverhead), run here too.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { FlagSyncSpanExporter } from 'flagsync-otel/exporters';
import { installSdkDeliveryGuard } from 'flagsync-otel/instrumentation';
import { createClientInstrumenter, createConverter, createDerivedEvents, TraceContexts } from '../dist/internal.js';
import { convertSpans } from '../dist/internal.js';
import { measure, summarize, writeResult } from './lib.mjs';
import { CLI, freePort, ROOT, startNode } from './spawn.mjs';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const memory = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
trace.setGlobalTracerProvider(provider);
await installSdkDeliveryGuard();
const values = { 'register-button-copy': 'Join Now', 'new-checkout': true, 'price-multiplier': 1.5 };
const client = createClientInstrumenter({}, () => true).wrap({
  flag: (_c, key) => values[key],
  track: () => undefined,
});
const tracer = trace.getTracer('@opentelemetry/instrumentation-http');
for (let i = 0; i < 128; i++) {
  tracer.startActiveSpan(
    'GET /checkout',
    { kind: SpanKind.SERVER, attributes: { 'url.path': '/checkout', 'http.response.status_code': 200 } },
    (server) => {
      tracer
        .startSpan('GET /inventory', {
          kind: SpanKind.CLIENT,
          attributes: { 'server.address': 'inventory.internal', 'http.response.status_code': 200 },
        })
        .end();
      tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }).end();
      tracer.startActiveSpan('render', (handler) => {
        const user = { key: `user-${i}`, attributes: { plan: i % 2 ? 'pro' : 'free' } };
        for (const key of Object.keys(values).slice(0, 1 + (i % 3))) client.flag(user, key);
        if (i % 4 === 0) client.track(user, 'purchase_event', 42.5, { currency: 'USD' });
        handler.end();
      });
      server.end();
    },
  );
}
await provider.forceFlush();
const spans = memory.getFinishedSpans();

const route = (r) => ({
  eventKey: `latency${r}`,
  match: { kind: 'server', spanName: `GET ${r}` },
  value: { from: 'duration' },
});
const tenRules = [
  {
    eventKey: 'checkout_latency_ms',
    match: { kind: 'server', spanName: 'GET /checkout' },
    value: { from: 'duration' },
    properties: ['http.response.status_code'],
  },
  {
    eventKey: 'checkout_error',
    match: { kind: 'server', spanName: 'GET /checkout' },
    value: { from: 'flag', when: { attribute: { key: 'http.response.status_code', in: [500, 502, 503] } } },
  },
  {
    eventKey: 'inventory_latency_ms',
    match: { kind: 'client', attributes: [{ key: 'server.address', regex: '^inventory\\.' }] },
    value: { from: 'duration' },
  },
  { eventKey: 'db_time_ms', match: { spanNameRegex: '^SELECT ' }, value: { from: 'duration' } },
  ...['/cart', '/search', '/account', '/pay', '/register', '/login'].map(route),
];
const matchingNothing = tenRules.map((r) => ({ ...r, match: { ...r.match, status: 'error' } }));

const converter = createConverter();
const setups = {
  'no rules': createDerivedEvents({}, new TraceContexts()),
  'ten rules, none met': createDerivedEvents({ derivedEvents: matchingNothing }, new TraceContexts()),
  'ten rules, a quarter of the spans meet one': createDerivedEvents({ derivedEvents: tenRules }, new TraceContexts()),
};
let sink = 0;
const onOutcome = (o) => {
  if (o.kind === 'impression' || o.kind === 'event') sink += o.json.length;
};
const onDerived = (d) => {
  sink += d.json.length;
};
// For scale: what a span costs the app itself in the SDK (start, two attributes, end, into a
// BatchSpanProcessor whose exporter drops it), per span.
const appProvider = new TracerProvider({
  spanProcessors: [
    new BatchSpanProcessor({
      exporter: { export: (_s, cb) => cb({ code: 0 }), shutdown: async () => {} },
      maxQueueSize: 1e6,
    }),
  ],
});
const appTracer = appProvider.getTracer('app');
const SDK_SPANS = 512;
const results = await measure(
  [
    ...Object.entries(setups).map(([name, derived]) => ({
      name,
      fn: () => convertSpans(converter, spans, onOutcome, derived, onDerived),
    })),
    {
      name: 'the SDK: a span started and ended by the app',
      fn: () => {
        for (let i = 0; i < SDK_SPANS; i++)
          appTracer
            .startSpan('GET /checkout', {
              kind: SpanKind.SERVER,
              attributes: { 'url.path': '/checkout', 'http.response.status_code': 200 },
            })
            .end();
      },
    },
  ],
  { rounds: 7, inner: 1, iterations: 400 },
);
const perSpan = Object.fromEntries(
  Object.entries(results).map(([name, r]) => [
    name,
    {
      median: +(r.median / spans.length).toFixed(1),
      min: +(r.min / spans.length).toFixed(1),
      max: +(r.max / spans.length).toFixed(1),
    },
  ]),
);
const overhead = +(100 * (results['ten rules, none met'].median / results['no rules'].median - 1)).toFixed(1);
const addedNs = +((results['ten rules, none met'].median - results['no rules'].median) / spans.length).toFixed(1);
const ofSdkSpan = +((100 * addedNs) / perSpan['the SDK: a span started and ended by the app'].median).toFixed(1);

// The whole exporter per span: FlagSyncSpanExporter converting the batch and delivering what it
// makes to the stand-in (its own process); this process's CPU per span, alternating rounds.
const standIn = startNode([CLI, 'standin', '--port', String(await freePort())]);
const eventsUrl = await standIn.first;
const exporterSetups = {
  'no rules': new FlagSyncSpanExporter({ sdkKey: 'standin-sdk-key', eventsUrl }),
  'ten rules, none met': new FlagSyncSpanExporter({
    sdkKey: 'standin-sdk-key',
    eventsUrl,
    derivedEvents: matchingNothing,
  }),
};
const EXPORTS_PER_ROUND = 40;
const exporterRounds = Object.fromEntries(Object.keys(exporterSetups).map((name) => [name, []]));
for (let round = 0; round < 9; round++) {
  const names = Object.keys(exporterSetups);
  for (const name of round % 2 ? names.reverse() : names) {
    const exporter = exporterSetups[name];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < EXPORTS_PER_ROUND; i++) await new Promise((resolve) => exporter.export(spans, resolve));
    await exporter.forceFlush();
    const cpu = process.cpuUsage(cpu0);
    // The first round warms up.
    if (round > 0) exporterRounds[name].push(((cpu.user + cpu.system) * 1000) / (EXPORTS_PER_ROUND * spans.length));
  }
}
for (const exporter of Object.values(exporterSetups)) await exporter.shutdown();
standIn.child.kill('SIGTERM');
const exporterPerSpan = Object.fromEntries(
  Object.entries(exporterRounds).map(([name, values]) => [name, summarize(values)]),
);
const exporterAddedNs = +(exporterPerSpan['ten rules, none met'].median - exporterPerSpan['no rules'].median).toFixed(
  1,
);

// The component: its own alternating benchmark.
let component;
try {
  const out = execFileSync(
    'go',
    ['test', '-run', '^$', '-bench', 'RulesOverhead', '-benchtime', '3s', '-count', '5', '.'],
    { cwd: join(ROOT, 'collector/flagsyncexporter'), encoding: 'utf8' },
  );
  const runs = [...out.matchAll(/([\d.]+) %overhead\s+([\d.]+) ns\/span-no-rules\s+([\d.]+) ns\/span-ten-rules/g)].map(
    (m) => m.slice(1).map(Number),
  );
  const column = (i) => summarize(runs.map((r) => r[i]));
  component = {
    overheadPercent: column(0),
    nsPerSpanNoRules: column(1).median,
    nsPerSpanTenRules: column(2).median,
    runs: runs.length,
  };
} catch (error) {
  component = { error: String(error) };
}

const summary = {
  spans: spans.length,
  spansPerTrace: 4,
  inProcess: {
    nsPerSpan: perSpan,
    overheadPercent: overhead,
    addedNsPerSpan: addedNs,
    addedPercentOfSdkSpan: ofSdkSpan,
    wholeExporter: {
      nsPerSpan: exporterPerSpan,
      addedNsPerSpan: exporterAddedNs,
      overheadPercent: +((100 * exporterAddedNs) / exporterPerSpan['no rules'].median).toFixed(1),
    },
  },
  component,
  target: 'rules add < 10% per span with 10 rules',
};
writeResult('derived-rules', { ...summary, checksum: sink > 0 });
console.log(JSON.stringify(summary, null, 2));
process.exit(0);
