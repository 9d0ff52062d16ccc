/**
 * `doctor --collector-config`: the exact ✓/✗/· lines for the three configurations this package ships (the flagsync
 * exporter in your collector, the FlagSync gateway, a stock collector forwarding to it) and for a broken variant of
 * each, made by editing the shipped file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCollectorConfig } from '../../src/cli/collector-config/check.js';
import { ROOT } from '../utils/processes.js';

/** A `${env:NAME:-default}` reference as written in a collector configuration. */
const env = (name: string, fallback?: string) => `\${env:${name}${fallback === undefined ? '' : `:-${fallback}`}}`;

const MARK = { ok: '✓', fail: '✗', info: '·' } as const;
const scratch = mkdtempSync(join(tmpdir(), 'flagsync-collector-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The lines doctor prints for a configuration file. */
function linesOf(file: string, name: string, delivery: string | undefined = 'collector'): string[] {
  const lines: string[] = [];
  checkCollectorConfig(file, name, delivery, (status, text, fix) => {
    lines.push(`${MARK[status]} ${text}`);
    if (fix) lines.push(`  fix: ${fix}`);
  });
  return lines;
}

const shipped = (name: string) => linesOf(join(ROOT, name), name);

/** A shipped file with edits, each of which must change it; checked under the name `variant.yaml`. */
function variant(name: string, edits: [from: string | RegExp, to: string][], delivery?: string): string[] {
  let text = readFileSync(join(ROOT, name), 'utf8');
  for (const [from, to] of edits) {
    const edited = text.replace(from, to);
    expect(edited, `edit ${String(from)}`).not.toBe(text);
    text = edited;
  }
  const file = join(scratch, 'variant.yaml');
  writeFileSync(file, text);
  return linesOf(file, 'variant.yaml', delivery);
}

const QUEUE_FIX = (id: string, example: string) =>
  '  fix: add a file_storage extension (on a volume), list it in service.extensions, and set ' +
  `exporters.${id}.sending_queue.storage to it (see ${example} in the flagsync-otel package)`;

describe('collector-config.yaml: the flagsync exporter in your collector', () => {
  it('as shipped: its FlagSync pipelines export to flagsync, through a persistent queue', () => {
    expect(shipped('collector-config.yaml')).toEqual([
      '✓ collector-config.yaml: pipelines traces/flagsync, logs/flagsync export to flagsync',
      '✓ collector-config.yaml: exporter flagsync has a persistent queue (sending_queue.storage: file_storage/flagsync)',
    ]);
  });

  it('without sending_queue.storage: ✗ with the fix', () => {
    expect(variant('collector-config.yaml', [['      storage: file_storage/flagsync\n', '']])).toEqual([
      '✓ variant.yaml: pipelines traces/flagsync, logs/flagsync export to flagsync',
      '✗ variant.yaml: exporter flagsync has no persistent queue (sending_queue.storage): what FlagSync has not ' +
        'accepted is lost when the collector restarts',
      QUEUE_FIX('flagsync', 'collector-config.yaml'),
    ]);
  });

  it('with the app on another delivery setting: · says the exporter skips its events', () => {
    expect(linesOf(join(ROOT, 'collector-config.yaml'), 'collector-config.yaml', 'sdk').slice(2)).toEqual([
      "· this collector delivers to FlagSync, but the app's delivery setting is sdk: the flagsync exporter skips " +
        'events marked sdk or exporter; set FLAGSYNC_DELIVERY=collector in the app to have the collector deliver',
    ]);
  });
});

describe('collector-config.gateway.yaml: the FlagSync gateway', () => {
  const GATEWAY_OK = [
    '✓ collector-config.gateway.yaml: the FlagSync gateway: pipelines traces, logs take OTLP from receiver otlp and ' +
      'export to flagsync',
    '✓ collector-config.gateway.yaml: exporter flagsync has a persistent queue (sending_queue.storage: ' +
      'file_storage/flagsync)',
    '✓ collector-config.gateway.yaml: receiver otlp authenticates senders on grpc (bearertokenauth/gateway), http ' +
      '(bearertokenauth/gateway)',
  ];
  const NO_AUTH: [RegExp, string] = [/ {8}auth:\n {10}authenticator: bearertokenauth\/gateway\n/g, ''];
  const AUTH_FIX = (protocol: string) =>
    '  fix: add a bearertokenauth extension with the token senders present, list it in service.extensions, and set ' +
    `receivers.otlp.protocols.${protocol}.auth.authenticator to it (see collector-config.gateway.yaml in the ` +
    'flagsync-otel package); or listen on loopback only';

  it('as shipped: fed by the otlp receiver, a persistent queue, senders authenticated', () => {
    expect(shipped('collector-config.gateway.yaml')).toEqual(GATEWAY_OK);
  });

  it('without auth on its receiver, listening on all interfaces: ✗ for each protocol, with the fix', () => {
    expect(variant('collector-config.gateway.yaml', [NO_AUTH])).toEqual([
      '✓ variant.yaml: the FlagSync gateway: pipelines traces, logs take OTLP from receiver otlp and export to flagsync',
      '✓ variant.yaml: exporter flagsync has a persistent queue (sending_queue.storage: file_storage/flagsync)',
      '✗ variant.yaml: receiver otlp takes OTLP/gRPC on ' +
        env('OTELCOL_OTLP_GRPC_ENDPOINT', '0.0.0.0:4317') +
        ' without ' +
        'authentication: anyone who reaches it can send events that the gateway delivers to FlagSync under your SDK key',
      AUTH_FIX('grpc'),
      '✗ variant.yaml: receiver otlp takes OTLP/HTTP on ' +
        env('OTELCOL_OTLP_HTTP_ENDPOINT', '0.0.0.0:4318') +
        ' without ' +
        'authentication: anyone who reaches it can send events that the gateway delivers to FlagSync under your SDK key',
      AUTH_FIX('http'),
    ]);
  });

  it('without auth on loopback, or on an endpoint the file leaves to the environment: nothing said about auth', () => {
    const loopback = variant('collector-config.gateway.yaml', [
      NO_AUTH,
      [env('OTELCOL_OTLP_GRPC_ENDPOINT', '0.0.0.0:4317'), '127.0.0.1:4317'],
      [env('OTELCOL_OTLP_HTTP_ENDPOINT', '0.0.0.0:4318'), 'localhost:4318'],
    ]);
    // On loopback only, it is a collector that delivers to FlagSync and nothing else.
    expect(loopback).toEqual([
      '✓ variant.yaml: pipelines traces, logs export to flagsync',
      '✓ variant.yaml: exporter flagsync has a persistent queue (sending_queue.storage: file_storage/flagsync)',
    ]);
    const fromEnvironment = variant('collector-config.gateway.yaml', [
      NO_AUTH,
      [env('OTELCOL_OTLP_GRPC_ENDPOINT', '0.0.0.0:4317'), env('OTELCOL_OTLP_GRPC_ENDPOINT')],
      [env('OTELCOL_OTLP_HTTP_ENDPOINT', '0.0.0.0:4318'), env('OTELCOL_OTLP_HTTP_ENDPOINT')],
    ]);
    expect(fromEnvironment).toEqual([
      '✓ variant.yaml: the FlagSync gateway: pipelines traces, logs take OTLP from receiver otlp and export to flagsync',
      '✓ variant.yaml: exporter flagsync has a persistent queue (sending_queue.storage: file_storage/flagsync)',
    ]);
  });

  it('an authenticator not enabled in service.extensions, and no persistent queue: ✗ each, with the fix', () => {
    expect(
      variant('collector-config.gateway.yaml', [
        ['extensions: [health_check, bearertokenauth/gateway, file_storage/flagsync]', 'extensions: [health_check]'],
        ['      storage: file_storage/flagsync\n', ''],
      ]),
    ).toEqual([
      '✓ variant.yaml: the FlagSync gateway: pipelines traces, logs take OTLP from receiver otlp and export to flagsync',
      '✗ variant.yaml: exporter flagsync has no persistent queue (sending_queue.storage): what FlagSync has not ' +
        'accepted is lost when the collector restarts',
      QUEUE_FIX('flagsync', 'collector-config.gateway.yaml'),
      '✗ variant.yaml: receiver otlp (grpc) authenticates with bearertokenauth/gateway, which is not listed in ' +
        'service.extensions: the collector does not start',
      AUTH_FIX('grpc'),
      '✗ variant.yaml: receiver otlp (http) authenticates with bearertokenauth/gateway, which is not listed in ' +
        'service.extensions: the collector does not start',
      AUTH_FIX('http'),
    ]);
  });

  it('a pipeline without the otlp receiver: ✗ with the fix', () => {
    const lines = variant('collector-config.gateway.yaml', [
      ['    logs:\n      receivers: [otlp]\n', '    logs:\n      receivers: [filelog]\n'],
    ]);
    expect(lines.slice(0, 2)).toEqual([
      "✗ variant.yaml: pipeline logs exports to flagsync but has no otlp receiver: senders' OTLP never reaches it",
      '  fix: set its receivers to [otlp] (see collector-config.gateway.yaml in the flagsync-otel package)',
    ]);
  });
});

describe('collector-config.stock-to-gateway.yaml: a stock collector forwarding to the gateway', () => {
  const name = 'collector-config.stock-to-gateway.yaml';
  const FORWARDS =
    'exporter otlp_http/flagsync_gateway forwards FlagSync events to a gateway at ' +
    env('FLAGSYNC_GATEWAY_ENDPOINT', 'http://127.0.0.1:4318');
  const QUEUE_OK =
    'exporter otlp_http/flagsync_gateway has a persistent queue (sending_queue.storage: file_storage/flagsync)';
  const FILTER_FIX =
    '  fix: make its conditions false for span events and log records named feature_flag.evaluation and ' +
    'flagsync.track and for the spans that carry them (see the filters of collector-config.stock-to-gateway.yaml ' +
    'in the flagsync-otel package)';

  it('as shipped: forwards FlagSync events to the gateway, through a persistent queue', () => {
    expect(shipped(name)).toEqual([
      `✓ ${name}: ${FORWARDS} (pipelines traces/flagsync, logs/flagsync)`,
      `✓ ${name}: ${QUEUE_OK}`,
    ]);
  });

  it("without sending_queue.storage: ✗, the app's receipt would mean nothing durable", () => {
    expect(variant(name, [['      storage: file_storage/flagsync\n', '']])).toEqual([
      `✓ variant.yaml: ${FORWARDS} (pipelines traces/flagsync, logs/flagsync)`,
      '✗ variant.yaml: exporter otlp_http/flagsync_gateway has no persistent queue (sending_queue.storage): this ' +
        "collector answers its apps before their data is on disk, so an app's receipt (FLAGSYNC_DELIVERY=collector) " +
        'means nothing durable: what the gateway has not accepted is lost when this collector restarts',
      QUEUE_FIX('otlp_http/flagsync_gateway', 'collector-config.stock-to-gateway.yaml'),
    ]);
  });

  it('a span-event filter that drops flag evaluations: ✗ naming the filter and the condition', () => {
    const condition = `name != "flagsync.track"`;
    expect(
      variant(name, [
        [
          `'name != "feature_flag.evaluation" and name != "feature_flag" and name != "flagsync.track"'`,
          `'${condition}'`,
        ],
      ]),
    ).toEqual([
      '✗ variant.yaml: processor filter/flagsync_span_events drops feature_flag.evaluation span events in pipeline ' +
        `traces/flagsync (traces.spanevent: ${condition}): the gateway never gets them`,
      FILTER_FIX,
      `✓ variant.yaml: ${FORWARDS} (pipelines logs/flagsync)`,
      `✓ variant.yaml: ${QUEUE_OK}`,
    ]);
  });

  it('a span filter that drops the spans carrying flag events, a log filter that drops track events: ✗ each', () => {
    expect(
      variant(name, [
        ['"Len(span.events) == 0"', '"Len(span.events) > 0"'],
        [' and log.event_name != "flagsync.track"', ''],
      ]),
    ).toEqual([
      "✗ variant.yaml: processor filter/flagsync_spans drops the spans that carry FlagSync's span events in pipeline " +
        'traces/flagsync (traces.span: Len(span.events) > 0): the gateway never gets them',
      FILTER_FIX,
      '✗ variant.yaml: processor filter/flagsync_logs drops flagsync.track log records in pipeline logs/flagsync ' +
        '(logs.log_record: log.event_name != "feature_flag.evaluation" and log.event_name != "feature_flag"): the ' +
        'gateway never gets them',
      FILTER_FIX,
      `✓ variant.yaml: ${QUEUE_OK}`,
    ]);
  });

  it('a condition doctor cannot judge: · saying so; a missing logs pipeline: ✗ with the fix', () => {
    expect(
      variant(name, [
        ['"Len(span.events) == 0"', '\'Len(span.events) == 0 or attributes["http.route"] == "/health"\''],
        [/ {4}logs\/flagsync:\n(?: {6}.*\n)+/, ''],
      ]),
    ).toEqual([
      "· variant.yaml: cannot tell whether processor filter/flagsync_spans keeps FlagSync's events in pipeline " +
        'traces/flagsync (traces.span: Len(span.events) == 0 or attributes["http.route"] == "/health"): it must not ' +
        'drop span events or log records named feature_flag.evaluation and flagsync.track, nor the spans that carry ' +
        'them',
      `✓ variant.yaml: ${FORWARDS} (pipelines traces/flagsync)`,
      '✗ variant.yaml: no logs pipeline forwards FlagSync events: calls recorded as log events (outside sampled ' +
        'spans) would not be delivered',
      '  fix: add a logs/flagsync pipeline with the FlagSync filters and exporters: [otlp_http/flagsync_gateway] ' +
        '(see collector-config.stock-to-gateway.yaml in the flagsync-otel package)',
      `✓ variant.yaml: ${QUEUE_OK}`,
    ]);
  });

  it('an include/exclude filter (the older matching): · shown as written, not judged', () => {
    expect(
      variant(name, [
        [
          / {2}filter\/flagsync_logs:\n(?: {4}.*\n)+/,
          '  filter/flagsync_logs:\n    logs:\n      exclude:\n        match_type: strict\n        bodies: [healthy]\n',
        ],
      ]).slice(0, 1),
    ).toEqual([
      "· variant.yaml: cannot tell whether processor filter/flagsync_logs keeps FlagSync's events in pipeline " +
        'logs/flagsync (logs.exclude: {"match_type":"strict","bodies":["healthy"]}): it must not drop span events or ' +
        'log records named feature_flag.evaluation and flagsync.track, nor the spans that carry them',
    ]);
  });

  it('with the app on another delivery setting: · says the gateway skips its events', () => {
    expect(linesOf(join(ROOT, name), name, 'exporter').slice(2)).toEqual([
      "· this collector forwards FlagSync events to the gateway, but the app's delivery setting is exporter: the " +
        "gateway's flagsync exporter skips events marked sdk or exporter; set FLAGSYNC_DELIVERY=collector in the app " +
        'to have the gateway deliver',
    ]);
  });

  it('without its FlagSync pipelines: ✗ no flagsync exporter and nothing forwarded', () => {
    expect(variant(name, [[/ {4}(traces|logs)\/flagsync:\n(?: {6}.*\n)+/g, '']])).toEqual([
      '✗ variant.yaml: no exporter of type flagsync, and no pipeline forwarding FlagSync events to the FlagSync ' +
        'gateway: this collector delivers nothing to FlagSync',
      '  fix: add the flagsync exporter and the traces/flagsync and logs/flagsync pipelines of collector-config.yaml ' +
        'in the flagsync-otel package (a collector built with collector/manifest.yaml); on a stock image forward to ' +
        'the FlagSync gateway (collector-config.stock-to-gateway.yaml)',
      '✗ FLAGSYNC_DELIVERY=collector, but this collector does not deliver to FlagSync: its receipts would lose calls',
      '  fix: unset FLAGSYNC_DELIVERY until the collector has the FlagSync pipelines',
    ]);
  });
});
