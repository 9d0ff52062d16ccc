/**
 * A stock collector forwarding FlagSync's events to the FlagSync gateway (collector-config.stock-to-gateway.yaml):
 * traces and logs pipelines whose filters keep FlagSync's events end at an OTLP exporter with a persistent queue.
 */
import { EVENT_FEATURE_FLAG_EVALUATION, EVENT_FLAGSYNC_TRACK } from '../../conventions.js';
import {
  type AddLine,
  type CollectorConfig,
  checkPersistentQueue,
  isMap,
  list,
  SIGNALS,
  type Signal,
  shipped,
  signalPipelines,
  typeOf,
} from './config.js';
import { conditionIsTrue, type Item } from './ottl-condition.js';

/** The events flagsync-otel writes, as span events and as log records: the filters must keep both. */
const EVENT_NAMES = [EVENT_FEATURE_FLAG_EVALUATION, EVENT_FLAGSYNC_TRACK];
const OTLP_EXPORTERS = ['otlp_http', 'otlphttp', 'otlp', 'otlp_grpc'];
const EXAMPLE = shipped('collector-config.stock-to-gateway.yaml');

interface Forwarding {
  pipeline: string;
  signal: Signal;
  exporter: string;
  processors: string[];
}

/**
 * Pipelines that forward FlagSync's events: an OTLP exporter in a pipeline named for FlagSync or with a filter that
 * names FlagSync's events, or an OTLP exporter named for FlagSync.
 */
export function forwardingPipelines(config: CollectorConfig): Forwarding[] {
  const found: Forwarding[] = [];
  for (const { id, signal, pipeline } of signalPipelines(config)) {
    const forFlagSync =
      id.includes('flagsync') ||
      pipeline.processors.some(
        (p) =>
          typeOf(p) === 'filter' && EVENT_NAMES.some((e) => (JSON.stringify(config.processors[p]) ?? '').includes(e)),
      );
    for (const exporter of pipeline.exporters) {
      if (!OTLP_EXPORTERS.includes(typeOf(exporter))) continue;
      if (forFlagSync || exporter.includes('flagsync'))
        found.push({ pipeline: id, signal, exporter, processors: pipeline.processors });
    }
  }
  return found;
}

export function checkForwarding(
  config: CollectorConfig,
  forwarding: Forwarding[],
  delivery: string | undefined,
  add: AddLine,
): void {
  const { name } = config;
  // Each filter judged once per pipeline.
  const dropping = new Set<string>();
  for (const pipeline of [...new Set(forwarding.map((f) => f.pipeline))]) {
    const { signal, processors } = forwarding.find((f) => f.pipeline === pipeline)!;
    for (const id of processors.filter((p) => typeOf(p) === 'filter')) {
      if (judgeFilter(config, id, pipeline, signal, add) === 'drops') dropping.add(pipeline);
    }
  }
  const exporters = [...new Set(forwarding.map((f) => f.exporter))];
  for (const id of exporters) {
    const through = forwarding.filter((f) => f.exporter === id && !dropping.has(f.pipeline)).map((f) => f.pipeline);
    if (through.length === 0) continue;
    add(
      'ok',
      `${name}: exporter ${id} forwards FlagSync events to a gateway at ${endpointOf(config, id)} ` +
        `(pipelines ${through.join(', ')})`,
    );
  }
  const missing = SIGNALS.filter((s) => !forwarding.some((f) => f.signal === s));
  if (missing.length > 0) {
    add(
      'fail',
      `${name}: no ${missing[0]} pipeline forwards FlagSync events: calls recorded as ` +
        `${missing[0] === 'logs' ? 'log events (outside sampled spans)' : 'span events'} would not be delivered`,
      `add a ${missing[0]}/flagsync pipeline with the FlagSync filters and exporters: [${exporters[0]}] ` +
        `(see ${EXAMPLE})`,
    );
  }
  for (const id of exporters) {
    checkPersistentQueue(
      config,
      id,
      "this collector answers its apps before their data is on disk, so an app's receipt (FLAGSYNC_DELIVERY=" +
        'collector) means nothing durable: what the gateway has not accepted is lost when this collector restarts',
      EXAMPLE,
      add,
    );
  }
  const batched = [...new Set(forwarding.map((f) => f.pipeline))].filter((pipeline) =>
    forwarding.find((f) => f.pipeline === pipeline)!.processors.some((p) => typeOf(p) === 'batch'),
  );
  if (batched.length > 0) {
    add(
      'info',
      `${name}: a batch processor runs in front of the gateway's exporter in ${batched.join(', ')}: this collector ` +
        'answers the app before its persistent queue has the data, so a crash loses what batch holds; leave batch ' +
        'out of the FlagSync pipelines if that matters',
    );
  }
  if (delivery !== 'collector' && delivery !== undefined) {
    add(
      'info',
      `this collector forwards FlagSync events to the gateway, but the app's delivery setting is ${delivery}: the ` +
        "gateway's flagsync exporter skips events marked sdk or exporter; set FLAGSYNC_DELIVERY=collector in the " +
        'app to have the gateway deliver',
    );
  }
}

function endpointOf(config: CollectorConfig, id: string): string {
  const exporter = isMap(config.exporters[id]) ? config.exporters[id] : {};
  for (const key of ['endpoint', 'traces_endpoint', 'logs_endpoint']) {
    if (typeof exporter[key] === 'string') return exporter[key];
  }
  return '(no endpoint set)';
}

interface Condition {
  /** Where it is written: traces.spanevent, trace_conditions, ... */
  block: string;
  text: string;
  context: Item['context'];
}

/** The filter's conditions that apply to the signal, each with the context it runs in. */
function conditionsOf(filter: Record<string, unknown>, signal: Signal): Condition[] {
  const conditions: Condition[] = [];
  const section = signal === 'traces' ? 'traces' : 'logs';
  const blocks = isMap(filter[section]) ? filter[section] : {};
  for (const [block, value] of Object.entries(blocks)) {
    const context =
      block === 'spanevent' ? 'spanevent' : block === 'span' ? 'span' : block === 'log_record' ? 'log' : 'other';
    // Anything but a list of conditions (the older include/exclude matching) is shown as written: not judged.
    const texts = Array.isArray(value) ? list(value) : [JSON.stringify(value)];
    for (const text of texts) conditions.push({ block: `${section}.${block}`, text, context });
  }
  if (signal === 'traces' && filter.spans !== undefined)
    conditions.push({ block: 'spans', text: JSON.stringify(filter.spans), context: 'other' });
  // Context inference (trace_conditions, log_conditions): the paths' prefixes say where a condition runs.
  const flat = signal === 'traces' ? 'trace_conditions' : 'log_conditions';
  for (const text of list(filter[flat])) {
    const context = /\bspanevent\./.test(text)
      ? 'spanevent'
      : /\bspan\./.test(text)
        ? 'span'
        : /\blog\./.test(text)
          ? 'log'
          : 'other';
    conditions.push({ block: flat, text, context });
  }
  return conditions;
}

/** The FlagSync items a condition in this context is evaluated on. */
function itemsOf(context: Item['context']): { item: Item; what: string }[] {
  if (context === 'spanevent')
    return EVENT_NAMES.map((name) => ({ item: { context, name }, what: `${name} span events` }));
  if (context === 'log')
    return EVENT_NAMES.map((eventName) => ({ item: { context, eventName }, what: `${eventName} log records` }));
  if (context === 'span') return [{ item: { context }, what: "the spans that carry FlagSync's span events" }];
  return [{ item: { context }, what: "FlagSync's events" }];
}

/** ✗ when a condition drops FlagSync's events, · when that cannot be told; nothing when the filter keeps them. */
function judgeFilter(
  config: CollectorConfig,
  id: string,
  pipeline: string,
  signal: Signal,
  add: AddLine,
): 'keeps' | 'drops' | 'unknown' {
  const { name } = config;
  const filter = isMap(config.processors[id]) ? config.processors[id] : {};
  let verdict: 'keeps' | 'drops' | 'unknown' = 'keeps';
  for (const condition of conditionsOf(filter, signal)) {
    const results = itemsOf(condition.context).map(({ item, what }) => ({
      what,
      drops: conditionIsTrue(condition.text, item),
    }));
    const dropped = results.filter((r) => r.drops === true).map((r) => r.what);
    const shown = `${condition.block}: ${condition.text}`;
    if (dropped.length > 0) {
      verdict = 'drops';
      add(
        'fail',
        `${name}: processor ${id} drops ${dropped.join(' and ')} in pipeline ${pipeline} (${shown}): the gateway ` +
          'never gets them',
        'make its conditions false for span events and log records named ' +
          `${EVENT_NAMES.join(' and ')} and for the spans that carry them (see the filters of ${EXAMPLE})`,
      );
    } else if (results.some((r) => r.drops === undefined)) {
      if (verdict === 'keeps') verdict = 'unknown';
      add(
        'info',
        `${name}: cannot tell whether processor ${id} keeps FlagSync's events in pipeline ${pipeline} (${shown}): ` +
          `it must not drop span events or log records named ${EVENT_NAMES.join(' and ')}, nor the spans that ` +
          'carry them',
      );
    }
  }
  return verdict;
}
