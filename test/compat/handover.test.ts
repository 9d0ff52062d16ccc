/**
 * Receipts, proven the way users meet them: the packed tarball in each OpenTelemetry JS line's
 * fixture app (real NodeSDK, real @flagsync/node-sdk), the real collector with the flagsync
 * exporter where there is one, and the FlagSync stand-in. The app makes 4 flag() and 2 track()
 * calls (one of each outside any span) and ends with `client.destroy()` only. Whatever the setup
 * and whatever breaks, FlagSync ends with exactly those 4 impressions and 2 events, field for field
 * what the SDK sends on its own; the test also checks who delivered them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { installFixture } from '../utils/fixture-apps.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import { freePort, startCollector, waitUntil, type Collector, type CollectorOptions } from '../utils/processes.js';
import { canonical } from '../utils/scenario.js';

const LINES = ['otel-2x', 'otel-3x'] as const;
type Line = (typeof LINES)[number];
const dirs: Partial<Record<Line, string>> = {};
let backend: OtlpSink;

beforeAll(async () => {
  backend = await startOtlpSink();
  await Promise.all(LINES.map(async (line) => (dirs[line] = await installFixture(line))));
}, 900_000);
afterAll(() => backend?.close());

interface App {
  child: ChildProcess;
  /** Resolves when the app printed this line (PAUSE mode). */
  printed(line: string): Promise<void>;
  /** Let a paused app go on. */
  resume(): void;
  done: Promise<{ handover: Record<string, unknown> | null; stdout: string; stderr: string }>;
}

function startApp(
  line: Line,
  standIn: StandIn,
  handover: Record<string, unknown>,
  env: Record<string, string> = {},
): App {
  const child = spawn(process.execPath, ['handover.cjs'], {
    cwd: dirs[line]!,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HANDOVER: JSON.stringify(handover),
      FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
      FLAGSYNC_EVENTS_URL: standIn.url,
      OTEL_METRICS_EXPORTER: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { line: string; resolve: () => void }[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const w of waiters.splice(0)) {
      if (stdout.includes(`${w.line}\n`)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ handover: Record<string, unknown> | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      child.once('exit', (code) => {
        const result = stdout
          .split('\n')
          .filter((l) => l.startsWith('{"handover"'))
          .pop();
        if (code !== 0 || !result) reject(new Error(`the app exited ${code}:\n${stdout}\n${stderr}`));
        else
          resolve({ handover: (JSON.parse(result) as { handover: Record<string, unknown> }).handover, stdout, stderr });
      });
    },
  );
  return {
    child,
    done,
    printed: (line) =>
      new Promise((resolve) => {
        if (stdout.includes(`${line}\n`)) resolve();
        else waiters.push({ line, resolve });
      }),
    resume: () => child.kill('SIGUSR2'),
  };
}

/** What reached the stand-in, and from whom. */
function received(standIn: StandIn) {
  const sent = (route: 'impressions' | 'events', sender: string) =>
    standIn.batches
      .filter((b) => b.route === route && b.sdkContext.sdkName === sender)
      .reduce((n, b) => n + b.items.length, 0);
  return {
    impressions: canonical(standIn.impressions()),
    events: canonical(standIn.events()),
    viaPipeline: { impressions: sent('impressions', 'flagsync-otel'), events: sent('events', 'flagsync-otel') },
    viaSdk: { impressions: sent('impressions', '@flagsync/node-sdk'), events: sent('events', '@flagsync/node-sdk') },
  };
}

const ALL = { impressions: 4, events: 2 };
const NONE = { impressions: 0, events: 0 };
/** NodeSDK's exporters from the environment, to a collector (or a closed port) over OTLP/HTTP. */
const otlpEnv = (endpoint: string, protocol: 'http/protobuf' | 'http/json') => ({
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_LOGS_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_BSP_SCHEDULE_DELAY: '200',
  OTEL_BLRP_SCHEDULE_DELAY: '200',
});

describe.each(LINES)('handover on %s', (line) => {
  const protocol = line === 'otel-2x' ? 'http/protobuf' : 'http/json';
  let reference: ReturnType<typeof received>;

  beforeAll(async () => {
    const standIn = await startStandIn();
    try {
      await startApp(line, standIn, { reference: true }).done;
      await standIn.waitFor(() => standIn.impressions().length + standIn.events().length === 6);
      reference = received(standIn);
    } finally {
      await standIn.close();
    }
    expect(reference.viaSdk).toEqual(ALL);
  }, 120_000);

  /** Every call once, as the SDK sends it; `via` says who delivered. */
  async function expectEveryCallOnce(standIn: StandIn, via: 'pipeline' | 'sdk' | 'either', injected?: number) {
    await waitUntil(
      () => standIn.impressions().length >= ALL.impressions && standIn.events().length >= ALL.events,
      30_000,
      'every call at the stand-in',
    );
    await new Promise((r) => setTimeout(r, 500));
    const got = received(standIn);
    expect(got.impressions).toEqual(reference.impressions);
    expect(got.events).toEqual(reference.events);
    if (via === 'pipeline') expect([got.viaPipeline, got.viaSdk]).toEqual([ALL, NONE]);
    if (via === 'sdk') expect([got.viaPipeline, got.viaSdk]).toEqual([NONE, ALL]);
    // Only the answers the test injected were refusals.
    expect(standIn.rejections.filter((r) => r.status !== injected)).toEqual([]);
    return got;
  }

  it.concurrent('no FlagSync path (console exporters), default setting: the SDK delivers every call', async () => {
    const standIn = await startStandIn();
    try {
      const app = startApp(
        line,
        standIn,
        { exporters: 'env' },
        {
          OTEL_TRACES_EXPORTER: 'console',
          OTEL_LOGS_EXPORTER: 'console',
        },
      );
      const { handover } = await app.done;
      await expectEveryCallOnce(standIn, 'sdk');
      expect(handover).toMatchObject({ handedOver: 0 });
    } finally {
      await standIn.close();
    }
  }, 60_000);

  it.concurrent("in-process exporters, the app ending with client.destroy() only: every call by this package's exporters", async () => {
    const standIn = await startStandIn();
    try {
      const { handover } = await startApp(line, standIn, { exporters: 'flagsync' }).done;
      await expectEveryCallOnce(standIn, 'pipeline');
      expect(handover).toMatchObject({ handedOver: 6, receipted: 6, pending: 0 });
    } finally {
      await standIn.close();
    }
  }, 60_000);

  it.concurrent('in-process exporters, FlagSync answering 503 for 60 s, then 200: every call once, by the exporters', async () => {
    const standIn = await startStandIn();
    try {
      standIn.addFault({ status: 503, times: Infinity });
      const app = startApp(line, standIn, { exporters: 'flagsync' }, { PAUSE: '1' });
      await app.printed('part 1 done');
      app.resume();
      await app.printed('part 2 done');
      await new Promise((r) => setTimeout(r, 60_000));
      expect(standIn.impressions()).toHaveLength(0);
      standIn.clearFaults();
      // The exporters' retry delivers; the SDK's copies stay held meanwhile.
      await waitUntil(() => standIn.impressions().length === 4 && standIn.events().length === 2, 60_000, 'retry');
      app.resume();
      const { handover } = await app.done;
      const got = await expectEveryCallOnce(standIn, 'pipeline', 503);
      expect(got.viaSdk).toEqual(NONE);
      expect(standIn.rejections.length).toBeGreaterThan(0);
      expect(handover).toMatchObject({ handedOver: 6, receipted: 6, pending: 0 });
    } finally {
      await standIn.close();
    }
  }, 180_000);

  describe('through the real collector', () => {
    async function withCollector(
      more: Partial<CollectorOptions>,
      body: (standIn: StandIn, collector: Collector) => Promise<void>,
    ) {
      const standIn = await startStandIn();
      const collector = await startCollector({
        flagsyncEndpoint: standIn.url,
        sdkKey: STANDIN_DEFAULT_SDK_KEY,
        backendEndpoint: backend.url,
        ...more,
      } as CollectorOptions);
      try {
        await body(standIn, collector);
      } finally {
        await collector.stop();
        await standIn.close();
      }
    }

    it.concurrent(`FLAGSYNC_DELIVERY=collector, NodeSDK's OTLP exporters from env (${protocol}): every call by the collector`, async () => {
      await withCollector({}, async (standIn, collector) => {
        const { handover } = await startApp(
          line,
          standIn,
          { exporters: 'env' },
          {
            ...otlpEnv(collector.otlpHttp, protocol),
            FLAGSYNC_DELIVERY: 'collector',
          },
        ).done;
        await expectEveryCallOnce(standIn, 'pipeline');
        expect(handover).toMatchObject({ handedOver: 6, receipted: 6, pending: 0 });
      });
    }, 90_000);

    it.concurrent('FLAGSYNC_DELIVERY=collector, the collector port closed for the whole run: every call by the SDK', async () => {
      const standIn = await startStandIn();
      try {
        const closed = `http://127.0.0.1:${await freePort()}`;
        const { handover } = await startApp(
          line,
          standIn,
          { exporters: 'env' },
          {
            ...otlpEnv(closed, protocol),
            FLAGSYNC_DELIVERY: 'collector',
          },
        ).done;
        await expectEveryCallOnce(standIn, 'sdk');
        expect(handover).toMatchObject({ handedOver: 6, receipted: 0, pending: 0 });
      } finally {
        await standIn.close();
      }
    }, 90_000);

    it.concurrent('FLAGSYNC_DELIVERY=collector, the collector down for 30 s in the middle, then back: every call once', async () => {
      await withCollector({}, async (standIn, first) => {
        const port = Number(new URL(first.otlpHttp).port);
        const app = startApp(
          line,
          standIn,
          { exporters: 'env' },
          {
            ...otlpEnv(first.otlpHttp, protocol),
            FLAGSYNC_DELIVERY: 'collector',
            PAUSE: '1',
          },
        );
        await app.printed('part 1 done');
        // Part 1 reached FlagSync through the collector before it goes down.
        await waitUntil(() => standIn.impressions().length === 3 && standIn.events().length === 1, 30_000, 'part 1');
        await first.stop();
        app.resume();
        await app.printed('part 2 done');
        await new Promise((r) => setTimeout(r, 30_000));
        const second = await startCollector({
          flagsyncEndpoint: standIn.url,
          sdkKey: STANDIN_DEFAULT_SDK_KEY,
          backendEndpoint: backend.url,
          otlpHttpPort: port,
          queueDir: first.queueDir,
        });
        try {
          app.resume();
          const { handover } = await app.done;
          const got = await expectEveryCallOnce(standIn, 'either');
          // Part 1 by the collector; part 2's OTLP export failed while it was down: the SDK has it.
          expect(got.viaPipeline).toEqual({ impressions: 3, events: 1 });
          expect(got.viaSdk).toEqual({ impressions: 1, events: 1 });
          expect(handover).toMatchObject({ handedOver: 6, receipted: 4, pending: 0, returned: { 'export-failed': 2 } });
        } finally {
          await second.stop();
        }
      });
    }, 180_000);

    it.concurrent('collector-config.yaml as shipped, default setting: the SDK delivers, the flagsync exporter delivers none of it', async () => {
      await withCollector({}, async (standIn, collector) => {
        await startApp(line, standIn, { exporters: 'env' }, otlpEnv(collector.otlpHttp, protocol)).done;
        await expectEveryCallOnce(standIn, 'sdk');
        // The events did reach the collector: its FlagSync pipelines saw them and left them to the SDK.
        await waitUntil(() => backend.traceBodies.join('').includes('GET /register'), 10_000, 'spans at the backend');
      });
    }, 90_000);

    it.concurrent('a collector without FlagSync pipelines, default setting: the SDK delivers every call', async () => {
      await withCollector(
        {
          // As a team that instrumented its apps before adding FlagSync to its collector: no FlagSync pipelines.
          editConfig: (yaml) => yaml.replace(/\n {4}traces\/flagsync:[\s\S]*$/, '\n'),
        },
        async (standIn, collector) => {
          await startApp(line, standIn, { exporters: 'env' }, otlpEnv(collector.otlpHttp, protocol)).done;
          await expectEveryCallOnce(standIn, 'sdk');
        },
      );
    }, 90_000);
  });
});
