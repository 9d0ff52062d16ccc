/** test/fixtures/http-app.cjs, run as its own process: an HTTP app with server spans and a flag in its handler. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DerivedEventRule } from '../../src/convert/derived-rules.js';
import { STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';

const run = promisify(execFile);
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface ServerSpan {
  traceId: string;
  user: string;
  durationNanos: number;
  status: string;
  attributes: Record<string, unknown>;
}

const HTTP_SCOPE = '@opentelemetry/instrumentation-http';

/** Latency of /checkout with two allow-listed properties, and an error rate: the rules both paths run. */
export const CHECKOUT_RULES: DerivedEventRule[] = [
  {
    eventKey: 'checkout_latency_ms',
    match: { kind: 'server', scope: HTTP_SCOPE, attributes: [{ key: 'url.path', equals: '/checkout' }] },
    value: { from: 'duration' },
    properties: ['http.request.method', 'http.response.status_code'],
  },
  {
    eventKey: 'checkout_error',
    match: { kind: 'server', scope: HTTP_SCOPE },
    value: { from: 'flag', when: { status: 'error' } },
  },
];

/** The same rules as the collector's YAML takes them (snake_case). */
export const CHECKOUT_RULES_YAML = [
  {
    event_key: 'checkout_latency_ms',
    match: { kind: 'server', scope: HTTP_SCOPE, attributes: [{ key: 'url.path', equals: '/checkout' }] },
    value: { from: 'duration' },
    properties: ['http.request.method', 'http.response.status_code'],
  },
  {
    event_key: 'checkout_error',
    match: { kind: 'server', scope: HTTP_SCOPE },
    value: { from: 'flag', when: { status: 'error' } },
  },
];

/** Runs the app: in-process with `rules`, or exporting OTLP to `otlpEndpoint`. Users 3 and 6 get a 500. */
export async function runHttpApp(
  standIn: StandIn,
  target: { rules: DerivedEventRule[] } | { otlpEndpoint: string },
  visitors = 6,
) {
  const { stdout } = await run(process.execPath, ['http-app.cjs'], {
    cwd: fixtures,
    env: {
      ...process.env,
      FLAGSYNC_SDK_KEY: STANDIN_DEFAULT_SDK_KEY,
      FLAGSYNC_EVENTS_URL: standIn.url,
      VISITORS: String(visitors),
      ...('rules' in target
        ? { DERIVED_EVENTS: JSON.stringify(target.rules) }
        : // A collector with the flagsync exporter delivers: the app says so, as a user must.
          { OTLP_ENDPOINT: target.otlpEndpoint, FLAGSYNC_DELIVERY: 'collector' }),
    },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as {
    servers: ServerSpan[];
    stats?: { derived: number; unattributed: number; derivedDropped: Record<string, number> };
  };
}

/**
 * The events CHECKOUT_RULES must give for these server spans (without timestamps), sorted. In the
 * app's process, the app's sampler is known (`sampling.probability`: 1 for the default AlwaysOn).
 */
export function expectedCheckoutEvents(servers: ServerSpan[], samplingProbability?: number) {
  const context = (user: string) => ({ key: user, attributes: { plan: 'pro' } });
  const sampling = samplingProbability === undefined ? {} : { 'sampling.probability': samplingProbability };
  return sortEvents(
    servers.flatMap((s) => [
      {
        context: context(s.user),
        eventKey: 'checkout_latency_ms',
        value: s.durationNanos / 1e6,
        properties: {
          'http.request.method': 'GET',
          'http.response.status_code': s.attributes['http.response.status_code'],
          ...sampling,
        },
      },
      {
        context: context(s.user),
        eventKey: 'checkout_error',
        value: s.status === 'error' ? 1 : 0,
        ...(samplingProbability === undefined ? {} : { properties: sampling }),
      },
    ]),
  );
}

/** What the stand-in received, timestamps dropped (each checked to be there), sorted like the expectation. */
export function receivedEvents(standIn: StandIn) {
  return sortEvents(
    standIn.events().map(({ timestamp, ...rest }) => {
      if (typeof timestamp !== 'string') throw new Error('an event without a timestamp');
      return rest;
    }),
  );
}

function sortEvents<T extends Record<string, unknown>>(events: T[]): T[] {
  const key = (e: T) => `${(e.context as { key: string }).key} ${String(e.eventKey)}`;
  return events.sort((a, b) => key(a).localeCompare(key(b)));
}
