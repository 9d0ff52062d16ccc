/**
 * A local stand-in for FlagSync's API: the flag download routes both SDKs need, and the track
 * routes, validated strictly, recorded, and able to misbehave on request (status codes,
 * Retry-After, delays, dropped connections). Loopback only by default.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { evaluateFlag } from './evaluate.js';
import { STANDIN_FLAGS, toEnvironmentDetail, type FlagDef } from './flags.js';
import { validateContext, validateTrackBody, type Audience, type Route } from './validate.js';

export const STANDIN_DEFAULT_SDK_KEY = 'standin-sdk-key';
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface StandInOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Keys accepted in `x-ridgeline-key`. Default `['standin-sdk-key']`. */
  sdkKeys?: readonly string[];
  /** Largest request body; above it 413. Default 1 MiB. */
  maxBodyBytes?: number;
  flags?: readonly FlagDef[];
}

export interface Fault {
  /** Which track route misbehaves. Default: both. */
  route?: Route;
  /** Answer with this status (with a FlagSync error body) instead of accepting. */
  status?: number;
  /** `Retry-After` header value sent with `status`. */
  retryAfter?: string;
  /**
   * Wait this long before handling the request (whatever the answer is). A client that gives up
   * meanwhile leaves nothing stored, like a server that had not committed the batch yet.
   */
  delayMs?: number;
  /**
   * Store the batch, then wait this long before answering 201: a client that gives up meanwhile
   * sends it again, and FlagSync (no idempotency key) counts it twice.
   */
  lateAnswerMs?: number;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** How many requests this fault applies to. Default 1; `Infinity` until clearFaults(). */
  times?: number;
}

export interface ReceivedBatch {
  route: Route;
  audience: Audience;
  sdkContext: { sdkName: string; sdkVersion: string };
  /** Items as posted; client batches get the batch context copied into each item. */
  items: Record<string, unknown>[];
  /** When the batch arrived (ms since the epoch), for delay measurements. */
  receivedAt: number;
}

export interface Rejection {
  path: string;
  status: number;
  errorCode: string;
  message: string;
}

export interface StandIn {
  readonly url: string;
  readonly port: number;
  readonly batches: ReceivedBatch[];
  readonly rejections: Rejection[];
  impressions(): Record<string, unknown>[];
  events(): Record<string, unknown>[];
  addFault(fault: Fault): void;
  /** Replace the SDK keys accepted from now on (a key rotated, or a wrong one fixed). */
  setSdkKeys(keys: readonly string[]): void;
  clearFaults(): void;
  reset(): void;
  /** Resolves once the predicate holds (checked after every request), or rejects after timeoutMs. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  let sdkKeys = new Set(options.sdkKeys ?? [STANDIN_DEFAULT_SDK_KEY]);
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const flags = options.flags ?? STANDIN_FLAGS;
  const batches: ReceivedBatch[] = [];
  const rejections: Rejection[] = [];
  let faults: (Fault & { left: number })[] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();

  const notify = () => {
    for (const check of [...waiters]) check();
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const path = url.pathname;
    if (path.startsWith('/__standin/')) return control(req, res, path);

    const track = /^\/track\/(impressions|events)\/(server|client)$/.exec(path);
    const fault = track ? takeFault(track[1] as Route) : undefined;
    if (fault?.reset || fault?.status) {
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.reset) {
        req.socket.destroy();
        return;
      }
      // Read the body first, as a real server would: answering early can leave a kept-alive
      // connection in a state the client then waits on.
      for await (const _chunk of req) void _chunk;
      if (fault.retryAfter) res.setHeader('retry-after', fault.retryAfter);
      throw new HttpError(
        fault.status!,
        fault.status === 401 ? 'INVALID_SDK_KEY' : 'UNKNOWN_ERROR',
        `injected fault ${fault.status}`,
      );
    }

    if (req.method === 'GET' && /^\/sse\/sdk-updates\/(server|client)$/.test(path)) {
      checkKey(req);
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.write(': stand-in stream; flags do not change\n\n');
      return;
    }
    if (req.method !== 'POST') throw new HttpError(404, 'UNKNOWN_ERROR', `Cannot ${req.method} ${path}`);
    checkKey(req);
    const body = await readJson(req);

    switch (path) {
      case '/sdk/init-server':
      case '/sdk/init-client':
        return sendJson(res, 201, {});
      case '/sdk/rules':
        return sendJson(res, 201, {
          flags: Object.fromEntries(flags.map((f, i) => [f.key, toEnvironmentDetail(f, i)])),
        });
      case '/sdk/flags': {
        const context = (body as { context?: unknown }).context;
        const problem = validateContext(context, 'context');
        if (problem) throw new HttpError(400, 'USER_CONTEXT_NOT_FOUND', problem);
        const ctx = context as { key: string; attributes?: Record<string, unknown> };
        return sendJson(res, 201, {
          flags: Object.fromEntries(flags.map((f) => [f.key, evaluateFlag(f, ctx)])),
          context: ctx,
        });
      }
    }
    if (!track) throw new HttpError(404, 'UNKNOWN_ERROR', `Cannot POST ${path}`);
    const [, route, audience] = track as unknown as [string, Route, Audience];
    const problem = validateTrackBody(route, audience, body);
    if (problem) throw new HttpError(400, 'INVALID_REQUEST', problem);
    const payload = body as Record<string, unknown> & { sdkContext: ReceivedBatch['sdkContext'] };
    const items = (payload[route] as Record<string, unknown>[]).map((item) =>
      audience === 'client' ? { ...item, context: payload.context } : item,
    );
    if (fault?.delayMs) {
      // The body is read, so a client that has gone meanwhile shows as a closed connection.
      await sleep(fault.delayMs);
      if (res.destroyed || req.socket.destroyed) return;
    }
    batches.push({ route, audience, sdkContext: payload.sdkContext, items, receivedAt: Date.now() });
    if (fault?.lateAnswerMs) {
      notify();
      await sleep(fault.lateAnswerMs);
      if (res.destroyed || req.socket.destroyed) return;
    }
    sendJson(res, 201, {});
  }

  function takeFault(route: Route): Fault | undefined {
    const fault = faults.find((f) => !f.route || f.route === route);
    if (!fault) return undefined;
    if (--fault.left <= 0) faults = faults.filter((f) => f !== fault);
    return fault;
  }

  function checkKey(req: IncomingMessage): void {
    const key = req.headers['x-ridgeline-key'];
    if (typeof key !== 'string' || !sdkKeys.has(key)) throw new HttpError(401, 'INVALID_SDK_KEY', 'Invalid SDK key');
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type))
      throw new HttpError(415, 'UNKNOWN_ERROR', `Content-Type must be application/json, got "${type}"`);
    if (req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity') {
      throw new HttpError(415, 'UNKNOWN_ERROR', 'FlagSync does not accept compressed bodies');
    }
    const tooLarge = new HttpError(413, 'UNKNOWN_ERROR', `body larger than ${maxBodyBytes} bytes`);
    if (Number(req.headers['content-length']) > maxBodyBytes) throw tooLarge;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      // Keep reading (and discarding) so the client gets the 413 rather than a broken pipe.
      if (size <= maxBodyBytes) chunks.push(chunk as Buffer);
    }
    if (size > maxBodyBytes) throw tooLarge;
    try {
      // JSON must be UTF-8 (RFC 8259): bytes that are not are refused, never read as U+FFFD.
      return JSON.parse(STRICT_UTF8.decode(Buffer.concat(chunks)));
    } catch {
      throw new HttpError(400, 'INVALID_REQUEST', 'body is not valid JSON in UTF-8');
    }
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/__standin/received' && req.method === 'GET') {
      return sendJson(res, 200, { impressions: standIn.impressions(), events: standIn.events(), batches, rejections });
    }
    if (path === '/__standin/counts' && req.method === 'GET') {
      return sendJson(res, 200, {
        impressions: standIn.impressions().length,
        events: standIn.events().length,
        batches: batches.length,
        rejections: rejections.length,
      });
    }
    if (path === '/__standin/delays' && req.method === 'GET') {
      // Arrival time minus call time (the item's timestamp), per item, in ms.
      return sendJson(
        res,
        200,
        batches.flatMap((b) => b.items.map((i) => b.receivedAt - Date.parse(i.timestamp as string))),
      );
    }
    if (path === '/__standin/reset' && req.method === 'POST') {
      standIn.reset();
      return sendJson(res, 200, {});
    }
    if (path === '/__standin/faults' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const fault = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Fault & { times?: number | null };
      standIn.addFault({ ...fault, times: fault.times === null ? Infinity : fault.times });
      return sendJson(res, 200, {});
    }
    if (path === '/__standin/faults' && req.method === 'DELETE') {
      standIn.clearFaults();
      return sendJson(res, 200, {});
    }
    throw new HttpError(404, 'UNKNOWN_ERROR', `no control route ${req.method} ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res)
      .catch((error: unknown) => {
        const e = error instanceof HttpError ? error : new HttpError(500, 'UNKNOWN_ERROR', 'stand-in error');
        const path = (req.url ?? '/').split('?')[0]!;
        // Track requests, also under a wrong prefix (a misconfigured events URL).
        if (path.includes('/track/'))
          rejections.push({ path, status: e.status, errorCode: e.errorCode, message: e.message });
        if (!res.headersSent && !req.socket?.destroyed)
          sendJson(res, e.status, { errorCode: e.errorCode, message: e.message, statusCode: e.status, path });
      })
      .finally(notify);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';

  const standIn: StandIn = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    batches,
    rejections,
    impressions: () => batches.filter((b) => b.route === 'impressions').flatMap((b) => b.items),
    events: () => batches.filter((b) => b.route === 'events').flatMap((b) => b.items),
    addFault: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    setSdkKeys: (keys) => {
      sdkKeys = new Set(keys);
    },
    clearFaults: () => {
      faults = [];
    },
    reset: () => {
      batches.length = 0;
      rejections.length = 0;
      faults = [];
    },
    waitFor: (predicate, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate()) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`stand-in: condition not met within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (!predicate()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return standIn;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
