/**
 * A collector with the flagsync exporter (collector-config.yaml), or the FlagSync gateway
 * (collector-config.gateway.yaml: its pipelines export to flagsync only, and it takes OTLP from beyond loopback):
 * traces and logs pipelines export to it through a persistent queue; the gateway's take OTLP from an otlp receiver
 * that authenticates senders when it listens beyond loopback.
 */
import {
  type AddLine,
  type CollectorConfig,
  checkPersistentQueue,
  isMap,
  SIGNALS,
  type Signal,
  shipped,
  signalPipelines,
  typeOf,
} from './config.js';

export function checkFlagSyncPipelines(
  config: CollectorConfig,
  flagsyncExporters: string[],
  delivery: string | undefined,
  add: AddLine,
): void {
  const { name } = config;
  const all = signalPipelines(config);
  const routed = all.filter(({ pipeline }) => pipeline.exporters.some((e) => flagsyncExporters.includes(e)));
  const otlpReceivers = [...new Set(routed.flatMap((p) => p.pipeline.receivers.filter((r) => typeOf(r) === 'otlp')))];
  // A gateway delivers to FlagSync only, and takes OTLP from beyond loopback (or authenticates it).
  const gateway =
    all.every(({ pipeline }) => pipeline.exporters.every((e) => flagsyncExporters.includes(e))) &&
    otlpReceivers.some((id) =>
      listenersOf(config, id).some((l) => l.authenticator !== undefined || beyondLoopback(l.endpoint) !== false),
    );
  const example = shipped(gateway ? 'collector-config.gateway.yaml' : 'collector-config.yaml');
  const exportersText = flagsyncExporters.join(', ');
  const missing = SIGNALS.filter((s) => !routed.some((p) => p.signal === s));
  if (missing.length > 0) {
    const why =
      missing.length === 2
        ? 'no pipeline exports to it'
        : missing[0] === 'logs'
          ? 'no logs pipeline exports to it: calls recorded as log events (outside sampled spans) would not ' +
            'be delivered'
          : 'no traces pipeline exports to it: calls recorded as span events would not be delivered';
    const pipelineOf = (s: Signal) => (gateway ? `a ${s} pipeline` : `a ${s}/flagsync pipeline`);
    add(
      'fail',
      `${name}: exporter ${exportersText} is defined, but ${why}`,
      `add ${missing.map(pipelineOf).join(' and ')} with exporters: [${flagsyncExporters[0]}] (see ${example})`,
    );
  } else if (!gateway) {
    add('ok', `${name}: pipelines ${routed.map((p) => p.id).join(', ')} export to ${exportersText}`);
  } else {
    const deaf = routed.filter(({ pipeline }) => !pipeline.receivers.some((r) => typeOf(r) === 'otlp'));
    for (const { id } of deaf) {
      add(
        'fail',
        `${name}: pipeline ${id} exports to ${exportersText} but has no otlp receiver: senders' OTLP never reaches it`,
        `set its receivers to [otlp] (see ${example})`,
      );
    }
    if (deaf.length === 0) {
      add(
        'ok',
        `${name}: the FlagSync gateway: pipelines ${routed.map((p) => p.id).join(', ')} take OTLP from receiver ` +
          `${otlpReceivers.join(', ')} and export to ${exportersText}`,
      );
    }
  }
  for (const id of flagsyncExporters) {
    checkPersistentQueue(
      config,
      id,
      'what FlagSync has not accepted is lost when the collector restarts',
      example,
      add,
    );
  }
  if (gateway) for (const id of otlpReceivers) checkReceiverAuth(config, id, example, add);
  const batched = routed.filter(({ pipeline }) => pipeline.processors.some((p) => typeOf(p) === 'batch'));
  if (batched.length > 0) {
    add(
      'info',
      `${name}: a batch processor runs in front of the flagsync exporter in ${batched.map((p) => p.id).join(', ')}: ` +
        'the collector answers the app before the persistent queue has the data, so a collector crash loses what ' +
        'batch holds; leave batch out of the FlagSync pipelines if that matters',
    );
  }
  if (delivery !== 'collector' && delivery !== undefined) {
    add(
      'info',
      `this collector delivers to FlagSync, but the app's delivery setting is ${delivery}: the flagsync exporter ` +
        'skips events marked sdk or exporter; set FLAGSYNC_DELIVERY=collector in the app to have the collector deliver',
    );
  }
}

const PROTOCOLS = { grpc: 'OTLP/gRPC', http: 'OTLP/HTTP' } as const;

/**
 * The gateway delivers whatever reaches it under the SDK key: beyond loopback, its receiver must authenticate
 * senders. An endpoint the file leaves to the environment without a default cannot be told, and is not judged.
 */
function checkReceiverAuth(config: CollectorConfig, id: string, example: string, add: AddLine): void {
  const { name } = config;
  const authenticated: string[] = [];
  let failed = false;
  for (const { protocol, endpoint, authenticator } of listenersOf(config, id)) {
    const fix =
      'add a bearertokenauth extension with the token senders present, list it in service.extensions, and set ' +
      `receivers.${id}.protocols.${protocol}.auth.authenticator to it (see ${example}); or listen on loopback only`;
    if (authenticator === undefined) {
      if (beyondLoopback(endpoint) !== true) continue;
      failed = true;
      add(
        'fail',
        `${name}: receiver ${id} takes ${PROTOCOLS[protocol]} on ${endpoint} without authentication: anyone who ` +
          'reaches it can send events that the gateway delivers to FlagSync under your SDK key',
        fix,
      );
    } else if (!(authenticator in config.extensions) || !config.enabled.includes(authenticator)) {
      failed = true;
      add(
        'fail',
        `${name}: receiver ${id} (${protocol}) authenticates with ${authenticator}, which is not ` +
          `${authenticator in config.extensions ? 'listed in service.extensions' : 'defined under extensions'}: ` +
          'the collector does not start',
        fix,
      );
    } else {
      authenticated.push(`${protocol} (${authenticator})`);
    }
  }
  if (!failed && authenticated.length > 0)
    add('ok', `${name}: receiver ${id} authenticates senders on ${authenticated.join(', ')}`);
}

interface Listener {
  protocol: keyof typeof PROTOCOLS;
  endpoint: string | undefined;
  authenticator: string | undefined;
}

/** The protocols an otlp receiver serves, each with its endpoint and authenticator as the file gives them. */
function listenersOf(config: CollectorConfig, id: string): Listener[] {
  const receiver = isMap(config.receivers[id]) ? config.receivers[id] : {};
  const protocols = isMap(receiver.protocols) ? receiver.protocols : {};
  return (Object.keys(PROTOCOLS) as Listener['protocol'][])
    .filter((protocol) => protocol in protocols)
    .map((protocol) => {
      const settings = isMap(protocols[protocol]) ? protocols[protocol] : {};
      const auth = isMap(settings.auth) ? settings.auth : {};
      return {
        protocol,
        endpoint: typeof settings.endpoint === 'string' ? settings.endpoint : undefined,
        authenticator: typeof auth.authenticator === 'string' ? auth.authenticator : undefined,
      };
    });
}

/**
 * Whether an endpoint (host:port) listens beyond loopback: as written, or the default of `${env:VAR:-default}`.
 * Without an endpoint the otlp receiver listens on localhost; undefined when the file cannot tell.
 */
function beyondLoopback(endpoint: string | undefined): boolean | undefined {
  if (endpoint === undefined) return false;
  const template = /^\$\{(?:env:)?[A-Za-z_][A-Za-z0-9_]*(?::-(.*))?\}$/.exec(endpoint);
  const value = template ? template[1] : endpoint;
  if (value === undefined || value.includes('${')) return undefined;
  const colon = value.lastIndexOf(':');
  const host = (colon < 0 ? value : value.slice(0, colon)).replace(/^\[|\]$/g, '');
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host));
}
