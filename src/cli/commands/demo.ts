/**
 * `flagsync-otel demo` (`npm run demo`): the whole in-process path on one machine. Starts the
 * FlagSync stand-in, runs an instrumented example app behind a real OTel SDK with a 50% sampler,
 * plays a scripted session against it over loopback, and prints what FlagSync received, with the
 * variant split the evaluation counter (`feature_flag.evaluations`) reported beside it.
 */
import { parseArgs } from 'node:util';
// No named `logs`: @opentelemetry/api 1.9 (OpenTelemetry JS 2.x) has none, and a named import of it fails to link.
import * as otelApi from '@opentelemetry/api';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { FlagSyncLogRecordExporter } from '../../exporters/flagsync-log-record-exporter.js';
import { FlagSyncSpanExporter } from '../../exporters/flagsync-span-exporter.js';
import { renderReport } from '../../demo/report.js';
import { startDemoApp, type DemoFlagClient } from '../../demo/demo-app.js';
import { installSdkDeliveryGuard } from '../../instrumentation/node-sdk-delivery-guard.js';
import { sdkDeliveryGuardStats } from '../../instrumentation/sdk-delivery-guard.js';
import { createClientInstrumenter } from '../../instrumentation/wrap-client.js';
import type { DerivedEventRule } from '../../convert/derived-rules.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY } from '../../standin/server.js';
import type { Command } from '../command.js';

const HELP = `Usage: flagsync-otel demo [--users 60] [--sample-ratio 0.5]

Runs the FlagSync stand-in and an instrumented example app on loopback, plays a session of
--users visitors, and prints the impressions and events FlagSync received, and the variant split the
evaluation counter reported. Needs @flagsync/node-sdk, @opentelemetry/sdk-trace, @opentelemetry/sdk-logs,
@opentelemetry/sdk-metrics and @opentelemetry/context-async-hooks in the project (and
@opentelemetry/api-logs on OpenTelemetry JS 2.x); it names the ones missing and how to install them.`;

/** Deterministic pseudo-random numbers, so every run tells the same story. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

/** What both lines' Logs APIs (`@opentelemetry/api` 1.10 `logs`, `@opentelemetry/api-logs`) offer here. */
interface LogsApi {
  setGlobalLoggerProvider(provider: object): unknown;
}

const NOT_FOUND = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND']);

/** `load()`, or undefined with `name` added to `missing` when the package itself is not installed. */
async function optional<T>(name: string, load: () => Promise<T>, missing: string[]): Promise<T | undefined> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_FOUND.has(code) && String(error).includes(`'${name}'`)) {
      missing.push(name);
      return undefined;
    }
    throw error;
  }
}

/**
 * The packages the demo runs with, from the project it runs in, on either OpenTelemetry JS line (2.x: api 1.9 with
 * api-logs; 3.x: api 1.10 with its `logs`). What is missing is named in one line, with the command that installs it.
 */
async function loadPeers() {
  const apiLogs = (otelApi as { logs?: LogsApi }).logs;
  const line = apiLogs ? 3 : 2;
  // Ranges of the project's OpenTelemetry JS line, for the install command.
  const ranges: Record<string, string> =
    line === 3
      ? {
          '@opentelemetry/sdk-trace': '@3',
          '@opentelemetry/sdk-logs': '@3',
          '@opentelemetry/sdk-metrics': '@3',
          '@opentelemetry/context-async-hooks': '@3',
        }
      : {
          '@opentelemetry/sdk-trace': '@2',
          '@opentelemetry/sdk-logs': "@'<0.300'",
          '@opentelemetry/api-logs': "@'<0.300'",
          '@opentelemetry/sdk-metrics': '@2',
          '@opentelemetry/context-async-hooks': '@2',
        };
  const missing: string[] = [];
  const [sdk, traceSdk, logsSdk, metricsSdk, asyncHooks, logsApi] = await Promise.all([
    optional('@flagsync/node-sdk', () => import('@flagsync/node-sdk'), missing),
    optional('@opentelemetry/sdk-trace', () => import('@opentelemetry/sdk-trace'), missing),
    optional('@opentelemetry/sdk-logs', () => import('@opentelemetry/sdk-logs'), missing),
    optional('@opentelemetry/sdk-metrics', () => import('@opentelemetry/sdk-metrics'), missing),
    optional('@opentelemetry/context-async-hooks', () => import('@opentelemetry/context-async-hooks'), missing),
    apiLogs ?? optional('@opentelemetry/api-logs', async () => (await import('@opentelemetry/api-logs')).logs, missing),
  ]);
  if (!sdk || !traceSdk || !logsSdk || !metricsSdk || !asyncHooks || !logsApi) {
    missing.sort();
    const install = missing.map((name) => `${name}${ranges[name] ?? ''}`).join(' ');
    throw new Error(
      `the demo needs ${missing.join(', ')} (this project is on OpenTelemetry JS ${line}.x); ` +
        `install with: npm install --save-dev ${install}`,
    );
  }
  return { sdk, traceSdk, logsSdk, metricsSdk, asyncHooks, logsApi };
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run an instrumented example app against the built-in FlagSync stand-in and show what arrived',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        users: { type: 'string', default: '60' },
        'sample-ratio': { type: 'string', default: '0.5' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const users = Number(values.users);
    const ratio = Number(values['sample-ratio']);
    if (!Number.isInteger(users) || users < 1)
      throw new Error(`--users must be a positive integer, got "${values.users}"`);
    if (!(ratio >= 0 && ratio <= 1))
      throw new Error(`--sample-ratio must be between 0 and 1, got "${values['sample-ratio']}"`);
    const { sdk, traceSdk, logsSdk, metricsSdk, asyncHooks, logsApi } = await loadPeers();
    const say = (line: string) => process.stdout.write(`${line}\n`);

    const standIn = await startStandIn();
    say(`FlagSync stand-in on ${standIn.url}`);

    // The team's usual OTel setup, plus the FlagSync exporters beside their usual exporters.
    context.setGlobalContextManager(new asyncHooks.AsyncLocalStorageContextManager().enable());
    // A metric without track(): the register page's server time, from its server spans, for the
    // user whose flag the page evaluated (docs: "Metrics without track()").
    const derivedEvents: DerivedEventRule[] = [
      {
        eventKey: 'register_server_ms',
        match: { kind: 'server', spanName: 'GET /register' },
        value: { from: 'duration' },
      },
    ];
    const exporterOptions = {
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      eventsUrl: standIn.url,
      flushIntervalMillis: 200,
      derivedEvents,
    };
    // Counts the sampled register server spans, the ones a derived event can come from.
    let sampledRegisterSpans = 0;
    const counter = {
      onStart: () => undefined,
      onEnd: (span: { name: string; kind: number }) =>
        void (span.name === 'GET /register' && span.kind === SpanKind.SERVER && sampledRegisterSpans++),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    const tracerProvider = new traceSdk.TracerProvider({
      sampler: new traceSdk.ParentBasedSampler({ root: new traceSdk.TraceIdRatioBasedSampler(ratio) }),
      spanProcessors: [
        new traceSdk.BatchSpanProcessor({ exporter: new FlagSyncSpanExporter(exporterOptions) }),
        counter,
      ],
    });
    const loggerProvider = new logsSdk.LoggerProvider({
      processors: [new logsSdk.BatchLogRecordProcessor({ exporter: new FlagSyncLogRecordExporter(exporterOptions) })],
    });
    trace.setGlobalTracerProvider(tracerProvider);
    logsApi.setGlobalLoggerProvider(loggerProvider);
    // The app's metrics: the evaluation counter (evaluationMetrics), read once at the end.
    class PullReader extends metricsSdk.MetricReader {
      protected override onForceFlush = () => Promise.resolve();
      protected override onShutdown = () => Promise.resolve();
    }
    const reader = new PullReader();
    const meterProvider = new metricsSdk.MeterProvider({ readers: [reader] });
    otelApi.metrics.setGlobalMeterProvider(meterProvider);

    await installSdkDeliveryGuard();
    const instrumenter = createClientInstrumenter({ evaluationMetrics: true }, () => true);
    const client = instrumenter.wrap(
      sdk
        .FlagSyncFactory({ sdkKey: STANDIN_DEFAULT_SDK_KEY, urls: { sdk: standIn.url }, sync: { type: 'off' } })
        .client(),
    );
    await client.waitForReady();
    const app = await startDemoApp(client as unknown as DemoFlagClient);
    say(`example app on ${app.url}; sampling ${Math.round(ratio * 100)}% of traces; ${users} visitors`);

    // Each visitor loads the register page; some buy. Purchase odds differ by the copy they saw.
    const random = seeded(42);
    const odds: Record<string, number> = { Register: 0.2, 'Join Now': 0.45, 'Sign Up': 0.3 };
    let flagCalls = 0;
    let trackCalls = 0;
    for (let i = 0; i < users; i++) {
      const user = `visitor-${String(i + 1).padStart(3, '0')}`;
      const plan = random() < 0.25 ? 'pro' : 'free';
      const loadMs = Math.round(400 + random() * 900);
      const page = await fetch(
        `${app.url}/register?user=${user}&plan=${plan}&loadMs=${loadMs}&renderMs=${4 + ((i * 7) % 9)}`,
      );
      const copy = /<button>(.*)<\/button>/.exec(await page.text())?.[1] ?? '';
      flagCalls++;
      trackCalls++;
      if (random() < (odds[copy] ?? 0)) {
        await fetch(
          `${app.url}/purchase?user=${user}&plan=${plan}&price=${(19 + Math.round(random() * 80)).toFixed(2)}`,
          { method: 'POST' },
        );
        trackCalls++;
      }
    }

    await app.close();
    const { resourceMetrics } = await reader.collect();
    const evaluations = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === 'feature_flag.evaluations')
      .flatMap((m) => m.dataPoints.map((p) => ({ attributes: p.attributes, count: Number(p.value) })));
    await meterProvider.shutdown();
    await tracerProvider.shutdown(); // flushes: exporters deliver what they hold before resolving
    await loggerProvider.shutdown();
    await client.destroy(); // the SDK's own flush: held back by the delivery guard

    const impressions = standIn.impressions() as Parameters<typeof renderReport>[0];
    const allEvents = standIn.events() as Parameters<typeof renderReport>[1];
    const derived = allEvents.filter((e) => e.eventKey === 'register_server_ms');
    const events = allEvents.filter((e) => e.eventKey !== 'register_server_ms');
    say('');
    say(renderReport(impressions, allEvents, evaluations));
    say('');
    const stats = instrumenter.stats;
    say(`flag() calls: ${flagCalls} -> impressions received: ${impressions.length}`);
    say(`track() calls: ${trackCalls} -> events received: ${events.length}`);
    // Only sampled traces have a server span to derive from: about the sample ratio of the visits.
    say(
      `register_server_ms derived from server spans (no track() call): ${derived.length} events, one per sampled ` +
        `visit (${sampledRegisterSpans})`,
    );
    // A sample under head sampling: each event says at what probability, so an analysis can weight it.
    const weighted = derived.reduce(
      (n, e) => n + 1 / Number((e.properties as Record<string, unknown> | undefined)?.['sampling.probability'] ?? 1),
      0,
    );
    say(`  a sample: each carries sampling.probability; weighted by 1/p they stand for ${Math.round(weighted)} visits`);
    const leftToSdk = Object.entries(stats.sdkDelivered)
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => `${reason} ${n}`);
    say(
      `recorded as span events: ${stats.spanEvents}, as log events (no recording span): ${stats.logEvents}; left to ` +
        `the SDK's own delivery: ${leftToSdk.join(', ') || 'none'}`,
    );
    const { handedOver, receipted, returned } = stats.handover;
    const back = Object.entries(returned)
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => `${reason} ${n}`);
    say(
      `handed to the exporters: ${handedOver}, receipted by FlagSync's answer: ${receipted}, returned to the ` +
        `SDK: ${back.join(', ') || 'none'}`,
    );
    const senders = [...new Set(standIn.batches.map((b) => `${b.sdkContext.sdkName}@${b.sdkContext.sdkVersion}`))];
    say(
      `senders seen by FlagSync: ${senders.join(', ')}; ` +
        `SDK copies held back: ${sdkDeliveryGuardStats().filteredItems}; ` +
        `rejected requests: ${standIn.rejections.length}`,
    );
    await standIn.close();
    const ok =
      impressions.length === flagCalls && events.length === trackCalls && derived.length === sampledRegisterSpans;
    say(ok ? 'OK: every call reached FlagSync exactly once.' : 'MISMATCH: see the counts above.');
    // node-sdk 0.1.1 leaves a timer running after destroy(); end the demo explicitly.
    process.exit(ok ? 0 : 1);
  },
};
