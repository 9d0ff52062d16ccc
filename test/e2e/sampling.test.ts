/**
 * Derived events that survive sampling: the real collector with collector-config.yaml and
 * collector-config.sampling.yaml over it (a 10% probabilistic_sampler in the `traces` pipeline
 * only). An app exporting every span: FlagSync gets the derived events of every request, while the
 * tracing backend keeps about a tenth of the traces.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { receivedEvents, runHttpApp, type ServerSpan } from '../utils/http-app.js';
import { startOtlpSink, type OtlpSink } from '../utils/otlp-sink.js';
import { ROOT, startCollector, waitUntil, type Collector } from '../utils/processes.js';

const VISITORS = 20;
let standIn: StandIn;
let backend: OtlpSink;
let collector: Collector;
let scratch: string | undefined;

beforeAll(async () => {
  standIn = await startStandIn();
  backend = await startOtlpSink();
  // For the test only: the backend exporter sends JSON, so its trace ids can be counted.
  scratch = mkdtempSync(join(tmpdir(), 'flagsync-sampling-'));
  const readable = join(scratch, 'backend-json.yaml');
  writeFileSync(readable, 'exporters:\n  otlp_http/backend:\n    encoding: json\n    compression: none\n');
  collector = await startCollector({
    flagsyncEndpoint: standIn.url,
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    backendEndpoint: backend.url,
    derivedEvents: [{ preset: 'http' }],
    moreConfigs: [join(ROOT, 'collector-config.sampling.yaml'), readable],
  });
}, 600_000);

afterAll(async () => {
  await collector?.stop();
  await standIn?.close();
  await backend?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The http preset's global events for these server spans (the app has no router: no http.route, no per-route events). */
function expectedHttpEvents(servers: ServerSpan[]) {
  return servers
    .flatMap((s) => {
      const context = { key: s.user, attributes: { plan: 'pro' } };
      return [
        { context, eventKey: 'otel.http.error', value: s.status === 'error' ? 1 : 0 },
        { context, eventKey: 'otel.http.latency', value: s.durationNanos / 1e6 },
      ];
    })
    .sort((a, b) => `${a.context.key} ${a.eventKey}`.localeCompare(`${b.context.key} ${b.eventKey}`));
}

/** The spans the backend got, by trace id. */
function backendTraces(): Map<string, { traceState?: string }[]> {
  const traces = new Map<string, { traceState?: string }[]>();
  for (const body of backend.traceBodies) {
    const request = JSON.parse(body) as {
      resourceSpans: { scopeSpans: { spans: { traceId: string; traceState?: string }[] }[] }[];
    };
    for (const r of request.resourceSpans)
      for (const s of r.scopeSpans)
        for (const span of s.spans) traces.set(span.traceId, [...(traces.get(span.traceId) ?? []), span]);
  }
  return traces;
}

describe('a 10% tracing sampler in the collector, every span exported by the app', () => {
  it('FlagSync gets the derived events of all 20 requests; the backend far fewer traces', async () => {
    const { servers } = await runHttpApp(standIn, { otlpEndpoint: collector.otlpHttp }, VISITORS);
    expect(servers).toHaveLength(VISITORS);
    await waitUntil(() => standIn.events().length >= 2 * VISITORS, 60_000, 'the derived events of every request');
    // Stopped, the collector has flushed its batch to the backend: everything it will send is there.
    await collector.stop();
    // 20/20: every request's latency and error events, for its user, once, with no sampling
    // property (the FlagSync pipeline saw the spans before the sampler, at probability 1).
    expect(receivedEvents(standIn)).toEqual(expectedHttpEvents(servers));
    expect(standIn.impressions()).toHaveLength(VISITORS);
    // The requests' traces the backend got (the SDK's own HTTP calls to FlagSync are traces too).
    const sampled = backendTraces();
    const kept = servers.filter((s) => sampled.has(s.traceId));
    // About 2 of 20 at 10%; all 20 kept would have a chance of 1e-20.
    expect(kept.length).toBeLessThan(VISITORS);
    // The kept spans say at what probability (proportional mode): the backend can weight them.
    for (const s of kept) for (const span of sampled.get(s.traceId)!) expect(span.traceState).toMatch(/(^|,)ot=th:/);
  }, 180_000);
});
