/**
 * Acknowledged means kept, when a queue is full: the collector refuses the OTLP request (503) instead
 * of answering 200 and dropping it, so the app's exporter sees the failure and sends it again. Real
 * collectors with small queues: collector-config.yaml (the flagsync exporter's queue, FlagSync down),
 * collector-config.agent.yaml (the agent's queue, its gateway down), collector-config.yaml on a
 * 1 MB disk that fills before its queue's bound (a tmpfs: the test runs as root, as CI does), and
 * on a disk that fails (a loop-mounted ext4 shut down: every write EIO).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { FleetMember, newAgent, newGateway } from '../utils/fleet.js';
import { contextKeys, manyEvaluationsRequest, postTraces, userKeys } from '../utils/otlp-request.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import { freePort, ROOT, waitUntil } from '../utils/processes.js';

/** Shuts down the ext4 filesystem at `dir` (flushed first): every write to it fails with EIO from then on. */
const shutDownExt4 = (dir: string) => execFileSync('go', ['run', join(ROOT, 'test/utils/ext4-shutdown/main.go'), dir]);

let standIn: StandIn;
let backend: OtlpSink;
const started: FleetMember[] = [];

beforeAll(async () => {
  standIn = await startStandIn();
  backend = await startOtlpSink();
});

afterAll(async () => {
  for (const member of started) await member.stop();
  await standIn?.close();
  await backend?.close();
});

/** A collector-config.yaml collector on `queueDir`, FlagSync at the stand-in. */
async function shippedCollector(queueDir: string, more: Record<string, string> = {}): Promise<FleetMember> {
  const collector = new FleetMember(
    'collector',
    join(ROOT, 'collector-config.yaml'),
    { grpc: await freePort(), http: await freePort(), health: await freePort(), metrics: await freePort() },
    queueDir,
    {
      FLAGSYNC_QUEUE_DIR: queueDir,
      FLAGSYNC_ENDPOINT: standIn.url,
      FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
      OTEL_BACKEND_ENDPOINT: backend.url,
      ...more,
    },
  );
  started.push(collector);
  await collector.start();
  return collector;
}

/** 20 spans of 2 evaluations each: 40 impressions, users u<offset>…, about 6 KB of FlagSync JSON. */
const request = (n: number) => manyEvaluationsRequest({ spans: 20, perSpan: 2, offset: n * 40 });

/**
 * Posts requests 0, 1, 2… until one is refused; then FlagSync (or the gateway) comes back, and the
 * app sends the refused one again until it is taken. Every impression of every request arrives once.
 */
async function fillRefuseRecover(target: string, recover: () => Promise<void>): Promise<number> {
  const statuses: number[] = [];
  for (let n = 0; n < 200 && !statuses.includes(503); n++) statuses.push(await postTraces(target, request(n)));
  // Taken until the queue was full, then refused: never 200 for what did not fit.
  expect(statuses.at(-1)).toBe(503);
  expect(statuses.slice(0, -1).every((s) => s === 200)).toBe(true);
  expect(statuses.length).toBeGreaterThan(1);
  await recover();
  const refused = statuses.length - 1;
  await waitUntil(
    async () => (await postTraces(target, request(refused))) === 200,
    120_000,
    'the refused request taken',
  );
  const users = statuses.length * 40;
  await waitUntil(() => standIn.impressions().length >= users, 120_000, 'every impression at FlagSync');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(contextKeys(standIn.impressions())).toEqual(userKeys(users));
  return refused;
}

describe('a full queue refuses the request; what was acknowledged arrives once', () => {
  it('collector-config.yaml: FlagSync down, the flagsync exporter queue full (bytes): 503, then everything once', async () => {
    standIn.reset();
    standIn.addFault({ status: 503, times: Infinity });
    const collector = await shippedCollector(mkdtempSync(join(tmpdir(), 'queue-full-')), {
      FLAGSYNC_QUEUE_BYTES: '20000',
    });
    await fillRefuseRecover(collector.otlpHttp, async () => {
      expect(await collector.metric('otelcol_exporter_enqueue_failed_spans', 'exporter="flagsync"')).toBeGreaterThan(0);
      standIn.clearFaults();
    });
  }, 240_000);

  it('collector-config.agent.yaml: its gateway down, the agent queue full (bytes): 503, then everything once', async () => {
    standIn.reset();
    const gateway = await newGateway('queue-full-gateway', {
      flagsyncEndpoint: standIn.url,
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      derivedEvents: [],
      storeDsn: '',
    });
    started.push(gateway);
    const agent = await newAgent([gateway], { FLAGSYNC_AGENT_QUEUE_BYTES: '200000' });
    started.push(agent);
    await gateway.stop('SIGTERM');
    await fillRefuseRecover(agent.otlpHttp, async () => {
      expect(await agent.metric('otelcol_exporter_enqueue_failed_spans', 'exporter="load_balancing"')).toBeGreaterThan(
        0,
      );
      await gateway.start();
    });
  }, 240_000);

  it('collector-config.yaml on a disk that fills first: 503 once nothing more can be written, then everything once', async () => {
    standIn.reset();
    standIn.addFault({ status: 503, times: Infinity });
    const disk = mkdtempSync(join(tmpdir(), 'queue-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]);
    try {
      // The default bound (2 GiB) is far above the disk: the disk is what fills.
      const collector = await shippedCollector(join(disk, 'queue'));
      await fillRefuseRecover(collector.otlpHttp, async () => {
        // The queue must write to hand out an item: with the disk full, delivery waits for room.
        execFileSync('mount', ['-o', 'remount,size=64m', disk]);
        standIn.clearFaults();
      });
      await collector.stop();
    } finally {
      execFileSync('umount', ['-l', disk]);
    }
  }, 240_000);

  it('collector-config.yaml on a disk that fails (every write EIO): refused while it fails, then everything once', async () => {
    standIn.reset();
    standIn.addFault({ status: 503, times: Infinity });
    const image = join(mkdtempSync(join(tmpdir(), 'queue-eio-image-')), 'disk.img');
    writeFileSync(image, '');
    truncateSync(image, 32 * 2 ** 20);
    execFileSync('mkfs.ext4', ['-q', image]);
    const disk = mkdtempSync(join(tmpdir(), 'queue-eio-'));
    execFileSync('mount', ['-o', 'loop', image, disk]);
    let mounted = true;
    try {
      const collector = await shippedCollector(join(disk, 'queue'));
      // Taken while the disk works (FlagSync away: they wait in the queue, on the disk).
      for (let n = 0; n < 5; n++) expect(await postTraces(collector.otlpHttp, request(n))).toBe(200);
      shutDownExt4(disk);
      // The disk fails: nothing is acknowledged that could not be kept.
      const during: number[] = [];
      for (let n = 5; n < 10; n++) during.push(await postTraces(collector.otlpHttp, request(n)).catch(() => 0));
      // The queue's write fails (bbolt: "write …: input/output error"): each request refused, 503.
      expect(during).toEqual([503, 503, 503, 503, 503]);
      expect(await collector.metric('otelcol_exporter_enqueue_failed_spans', 'exporter="flagsync"')).toBeGreaterThan(0);
      // Repaired: the collector stops, the disk is mounted again (its journal replayed), the
      // collector starts on it and FlagSync comes back; the app sends the refused requests again.
      await collector.stop('SIGKILL');
      execFileSync('umount', [disk]);
      mounted = false;
      execFileSync('mount', ['-o', 'loop', image, disk]);
      mounted = true;
      await collector.start();
      standIn.clearFaults();
      for (let n = 5; n < 10; n++) {
        await waitUntil(
          async () => (await postTraces(collector.otlpHttp, request(n))) === 200,
          60_000,
          `request ${n} taken`,
        );
      }
      await waitUntil(() => standIn.impressions().length >= 400, 120_000, 'every impression at FlagSync');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(contextKeys(standIn.impressions())).toEqual(userKeys(400));
      await collector.stop();
    } finally {
      if (mounted) execFileSync('umount', ['-l', disk]);
      rmSync(dirname(image), { recursive: true, force: true });
    }
  }, 240_000);
});
