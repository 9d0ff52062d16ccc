/**
 * The collector-side service: an OTLP/HTTP receiver that sits behind an OpenTelemetry Collector's
 * otlp_http exporter and forwards FlagSync's share to FlagSync, acknowledging only after delivery.
 * State: the delivery queue and the delivered identities (in memory, or also in a directory that
 * survives restarts). One service per collector: a sidecar, never shared by several.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { diag } from '@opentelemetry/api';
import { createDecodeFilter } from '../otlp/decode-filter.js';
import { createConverter } from '../convert/converter.js';
import { createDerivedEvents, TraceContexts } from '../convert/derived-events.js';
import { DeliveryEngine, type DeliveryStats } from '../delivery/delivery-engine.js';
import type { Transport } from '../delivery/transport.js';
import { DedupeWindow } from './dedupe-window.js';
import { HttpAnswer } from './http-answer.js';
import { handleExport, respondError, type HandlerDeps } from './otlp-handler.js';
import { newCounters, serviceMetricsRegistry, type ServiceCounters } from './service-metrics.js';
import { resolveServiceConfig, type FlagSyncServiceOptions } from './service-config.js';

const OTLP_PATHS = new Set(['/v1/traces', '/v1/logs']);

export interface FlagSyncService {
  readonly url: string;
  readonly port: number;
  readonly counters: ServiceCounters;
  deliveryStats(): DeliveryStats;
  /** Stop accepting, let requests in flight finish, deliver what is queued; all within the deadline. */
  close(timeoutMillis?: number): Promise<void>;
}

export async function startFlagSyncService(
  options: FlagSyncServiceOptions & { transport?: Transport } = {},
): Promise<FlagSyncService> {
  const config = resolveServiceConfig(options);
  const log = diag.createComponentLogger({ namespace: 'flagsync-otel/service' });
  const engine = new DeliveryEngine(config.delivery, options.transport);
  const counters = newCounters();
  const derived = createDerivedEvents(config.derived, new TraceContexts(config.derived));
  const converter = createConverter(config.converter);
  const deps: HandlerDeps = {
    converter,
    // The decoders read spans (with the attributes rules need) only when there are rules.
    filter: createDecodeFilter(converter, derived.rules.length > 0 ? derived.attributeNames : undefined),
    derived,
    engine,
    dedupe: new DedupeWindow(config.dedupeWindowMillis, config.dedupeMaxEntries, config.dedupeDir),
    counters,
    maxBodyBytes: config.maxBodyBytes,
    ackTimeoutMillis: config.ackTimeoutMillis,
  };
  const metrics = serviceMetricsRegistry(counters, engine, () => derived.traces.unattributed);
  const tokenDigest = config.bearerToken ? digest(config.bearerToken) : undefined;
  let active = 0;
  let shuttingDown = false;
  const idle = new Set<() => void>();

  async function route(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return plain(res, 200, 'ok\n');
    if (req.method === 'GET' && path === '/readyz')
      return plain(res, shuttingDown ? 503 : 200, shuttingDown ? 'shutting down\n' : 'ready\n');
    if (req.method === 'GET' && path === '/metrics')
      return plain(res, 200, await metrics.metrics(), metrics.contentType);
    const signal = path === '/v1/traces' ? 'traces' : path === '/v1/logs' ? 'logs' : undefined;
    if (!signal) throw new HttpAnswer(404, `no route ${path}`);
    if (req.method !== 'POST') throw new HttpAnswer(405, `${req.method} is not allowed; OTLP/HTTP uses POST`);
    if (tokenDigest && !authorized(req.headers.authorization, tokenDigest))
      throw new HttpAnswer(401, 'missing or wrong bearer token');
    if (shuttingDown) throw new HttpAnswer(503, 'shutting down', 5);
    if (active >= config.maxConcurrentRequests) throw new HttpAnswer(503, 'too many requests in flight', 1);
    active++;
    try {
      await handleExport(signal, req, res, deps);
      return 200;
    } finally {
      active--;
      if (active === 0) for (const resolve of idle) resolve();
    }
  }

  const listener: RequestListener = (req, res) => {
    route(req, res)
      .catch((error: unknown) => {
        const answer = error instanceof HttpAnswer ? error : new HttpAnswer(500, 'internal error');
        if (!(error instanceof HttpAnswer)) log.error('unexpected error handling an OTLP request', error);
        // An unread body is not worth reading: close the connection after answering.
        if (!req.complete) res.setHeader('connection', 'close');
        if (!res.headersSent) respondError(res, req, answer);
        return answer.status;
      })
      .then((status) => {
        // OTLP answers only: health checks and metric scrapes would swamp them.
        if (OTLP_PATHS.has((req.url ?? '/').split('?')[0]!))
          counters.responses[status] = (counters.responses[status] ?? 0) + 1;
      });
  };
  // Node checks request timeouts only this often (30 s by default): check often enough to enforce them.
  const serverOptions = { connectionsCheckingInterval: Math.min(1000, Math.ceil(config.requestTimeoutMillis / 4)) };
  const server: Server = config.tls
    ? createHttpsServer(
        {
          ...serverOptions,
          cert: readTlsFile(config.tls.certFile, 'certificate'),
          key: readTlsFile(config.tls.keyFile, 'key'),
        },
        listener,
      )
    : createServer(serverOptions, listener);
  // Slow-loris uploads: a request must arrive whole within requestTimeout (Node answers 408 and closes).
  server.requestTimeout = config.requestTimeoutMillis;
  server.headersTimeout = Math.min(30_000, config.requestTimeoutMillis);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`${config.host}:${config.port} is already in use (FLAGSYNC_SERVICE_PORT)`)
          : error,
      ),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const scheme = config.tls ? 'https' : 'http';
  log.info(`listening on ${scheme}://${host}:${port} (OTLP/HTTP /v1/traces, /v1/logs)`);
  if (!tokenDigest && !isLoopback(config.host)) {
    log.warn(
      `listening on ${config.host} beyond loopback without a bearer token: anyone who can reach this port can send ` +
        `data to FlagSync under your SDK key. Set FLAGSYNC_SERVICE_BEARER_TOKEN (and the same token in the ` +
        `collector's headers).`,
    );
  }

  let closing: Promise<void> | undefined;
  return {
    url: `${scheme}://${host}:${port}`,
    port,
    counters,
    deliveryStats: () => engine.stats(),
    close(timeoutMillis = config.delivery.shutdownTimeoutMillis) {
      closing ??= (async () => {
        const deadline = Date.now() + timeoutMillis;
        shuttingDown = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (active > 0) {
          await Promise.race([new Promise<void>((resolve) => idle.add(resolve)), sleep(deadline - Date.now())]);
        }
        await engine.shutdown(Math.max(0, deadline - Date.now()));
        deps.dedupe.close();
        server.closeAllConnections();
        await stopped;
        log.info('stopped');
      })();
      return closing;
    },
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function readTlsFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(
      `cannot read the TLS ${what} file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time: both sides are hashed to the same length before comparing. */
function authorized(header: string | undefined, tokenDigest: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), tokenDigest);
}

function plain(res: ServerResponse, status: number, body: string, type = 'text/plain'): number {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
  return status;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
