/**
 * POST /v1/traces and /v1/logs: decode, convert, drop duplicates, deliver, and only then answer,
 * so the collector's retry and persistent queue hold whatever FlagSync has not accepted yet.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Converter } from '../convert/converter.js';
import type { DerivedEvent, DerivedEvents } from '../convert/derived-events.js';
import { derivedEventId } from '../otlp/event-identity.js';
import type { DecodeFilter } from '../otlp/decode-proto.js';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { EntryOutcome } from '../delivery/lane.js';
import { decodeLogsJson, decodeTracesJson } from '../otlp/decode-json.js';
import { decodeLogsProto, decodeTracesProto } from '../otlp/decode-proto.js';
import { encodeExportResponse, encodeStatus, type Encoding, type Signal } from '../otlp/encode-response.js';
import { OtlpDecodeError, type DecodedRequest } from '../otlp/otlp-event.js';
import { ProtoError } from '../otlp/proto-reader.js';
import type { DedupeWindow } from './dedupe-window.js';
import { BodyError, readBody } from './read-body.js';
import type { ServiceCounters } from './service-metrics.js';

export interface HandlerDeps {
  converter: Converter & DecodeFilter;
  derived: DerivedEvents;
  engine: DeliveryEngine;
  dedupe: DedupeWindow;
  counters: ServiceCounters;
  maxBodyBytes: number;
  ackTimeoutMillis: number;
}

const CONTENT_TYPES: Record<string, Encoding> = { 'application/x-protobuf': 'proto', 'application/json': 'json' };

export class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export async function handleExport(
  signal: Signal,
  req: IncomingMessage,
  res: ServerResponse,
  deps: HandlerDeps,
): Promise<void> {
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const encoding = CONTENT_TYPES[mediaType];
  if (!encoding)
    throw new HttpAnswer(415, `Content-Type must be application/x-protobuf or application/json, got "${mediaType}"`);
  try {
    const body = await readBody(req, deps.maxBodyBytes);
    const decoded = decode(signal, encoding, body, deps.converter);
    const { rejected, errorMessage } = await deliver(signal, decoded, deps);
    respond(res, 200, encoding, encodeExportResponse(signal, encoding, rejected, errorMessage));
  } catch (error) {
    if (error instanceof BodyError) throw new HttpAnswer(error.status, error.message);
    if (error instanceof OtlpDecodeError || error instanceof ProtoError)
      throw new HttpAnswer(400, `cannot decode OTLP ${encoding}: ${error.message}`);
    throw error;
  }
}

function decode(signal: Signal, encoding: Encoding, body: Buffer, converter: Converter): DecodedRequest {
  if (encoding === 'proto')
    return signal === 'traces' ? decodeTracesProto(body, converter) : decodeLogsProto(body, converter);
  return signal === 'traces'
    ? decodeTracesJson(body.toString('utf8'), converter)
    : decodeLogsJson(body.toString('utf8'), converter);
}

/** An item fed to the delivery queue: its dedupe identity (if it has one) and its tag there. */
interface Fresh {
  outcome: { kind: 'impression' | 'event'; json: string };
  id: string | undefined;
  tag: string;
}

/** Tags for items without an identity; U+FFFF never occurs in an identity (latin1 or base64url). */
let anonymous = 0;
const anonymousTag = () => {
  anonymous = (anonymous + 1) % Number.MAX_SAFE_INTEGER;
  return `\uffff${anonymous}`;
};

async function deliver(
  signal: Signal,
  decoded: DecodedRequest,
  deps: HandlerDeps,
): Promise<{ rejected: number; errorMessage: string }> {
  const { counters, dedupe, engine } = deps;
  const deadline = Date.now() + deps.ackTimeoutMillis;
  counters.receivedRecords[signal] += decoded.records;
  counters.receivedEvents += decoded.events.length;

  const rejectedRecords = new Set<number>();
  let firstReason = '';
  const joined: { id: string; settled: Promise<void> }[] = [];
  const fresh: Fresh[] = [];
  const take = (outcome: Fresh['outcome'], id: string | undefined) => {
    const state = id === undefined ? undefined : dedupe.lookup(id);
    if (state === undefined) {
      fresh.push({ outcome, id, tag: id ?? anonymousTag() });
    } else {
      counters.duplicates++;
      // Sent again while the first copy is still on its way: wait for that one.
      if (state !== true) joined.push({ id: id!, settled: state });
    }
  };
  const takeDerived = (event: DerivedEvent) => {
    counters.derived++;
    take({ kind: 'event', json: event.json }, derivedEventId(event.source));
  };
  if (deps.derived.traces.active) deps.derived.traces.tick();
  for (const event of decoded.events) {
    const outcome = deps.converter.convert(event);
    if (outcome.kind === 'rejected') {
      counters.rejected++;
      rejectedRecords.add(event.record);
      firstReason ||= outcome.reason;
    } else if (outcome.kind === 'damaged') {
      counters.damaged++;
    } else if (outcome.kind !== 'ignored') {
      take(outcome, event.id);
      // Spans of this trace matching a rule, here or waiting from earlier requests, are this user's too.
      if (outcome.kind === 'impression')
        deps.derived.noteContext(event.traceId, outcome.item.context.key, outcome.contextText).forEach(takeDerived);
    }
  }
  for (const span of decoded.spans ?? []) {
    if (span.id !== undefined) deps.derived.derive(span.facts, span.id).forEach(takeDerived);
  }

  // FlagSync is refusing for now: answer at once, before queuing anything, so the collector keeps
  // the data and retries after FlagSync's own delay. 429 stays 429 (the collector honours both).
  const backoff = engine.backoff;
  if (fresh.length > 0 && backoff) {
    const seconds = Math.max(1, Math.ceil((backoff.retryAt - Date.now()) / 1000));
    throw new HttpAnswer(
      backoff.status === 429 ? 429 : 503,
      `FlagSync is not accepting data right now (${backoff.lastError})`,
      seconds,
    );
  }

  // One settle function and one promise per request, not per item.
  const failures: Extract<EntryOutcome, { delivered: false }>[] = [];
  let remaining = fresh.length;
  let allSettled!: () => void;
  const settled = new Promise<void>((resolve) => (allSettled = resolve));
  const ids = new Map<string, string>();
  const settle = (outcome: EntryOutcome, tag: string | undefined) => {
    const id = ids.get(tag!);
    if (id !== undefined) dedupe.settle(id, outcome.delivered);
    if (!outcome.delivered) failures.push(outcome);
    if (--remaining === 0) allSettled();
  };
  // A retry of this request, or an overlapping one, waits for these rather than sending them twice.
  for (const item of fresh) {
    if (item.id === undefined) continue;
    ids.set(item.tag, item.id);
    dedupe.begin(item.id, settled);
  }
  // In parts: a request larger than the free room in the queue waits for room as FlagSync takes
  // what is ahead of it, up to the ack deadline. What did not get in is handed back (503).
  let fed = 0;
  while (fed < fresh.length) {
    const item = fresh[fed]!;
    if (engine.tryAdd(item.outcome, settle, item.tag)) {
      if (item.outcome.kind === 'impression') counters.converted.impressions++;
      else counters.converted.events++;
      fed++;
    } else if (!(await engine.roomFreed(deadline - Date.now()))) {
      break;
    }
  }
  for (let i = fed; i < fresh.length; i++)
    settle({ delivered: false, reason: 'not queued before the ack timeout' }, fresh[i]!.tag);

  const waits = [...(fresh.length > 0 ? [settled] : []), ...joined.map((j) => j.settled)];
  const inTime = fed === fresh.length && (await waitFor(waits, deadline - Date.now())) !== undefined;
  if (!inTime && fed > 0) {
    // Hand back what has not left yet: the collector keeps the request and sends it again. What
    // is in a request FlagSync has not answered stays pending here: the retry waits for it.
    engine.withdraw(new Set(fresh.slice(0, fed).map((f) => f.tag)));
    counters.inFlightAtAckTimeout += fresh
      .slice(0, fed)
      .filter((f) => f.id !== undefined && dedupe.lookup(f.id) instanceof Promise).length;
  }
  // Durable before the collector hears of it: a retry after a crash from here on finds them.
  dedupe.persist();
  if (!inTime)
    throw new HttpAnswer(503, `FlagSync did not accept the data within ${deps.ackTimeoutMillis} ms; send it again`, 1);
  // A copy that another request was delivering and that did not make it: retry the whole request.
  const lostElsewhere = joined.find((j) => dedupe.lookup(j.id) !== true);
  // Retry later: a full queue or a refused answer that may change. Other refusals will not.
  const retryable = failures.find((f) => f.status === undefined || f.status === 429);
  if (retryable || lostElsewhere)
    throw new HttpAnswer(
      503,
      `not delivered to FlagSync: ${retryable?.reason ?? 'a copy of this data sent earlier failed'}`,
      5,
    );
  if (failures.length > 0) firstReason ||= failures[0]!.reason;
  const rejected = rejectedRecords.size + failures.length;
  return { rejected, errorMessage: rejected > 0 ? firstReason : '' };
}

function waitFor<T>(promises: Promise<T>[], timeoutMillis: number): Promise<T[] | undefined> {
  if (promises.length === 0) return Promise.resolve([]);
  if (timeoutMillis <= 0) return Promise.resolve(undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMillis);
  });
  return Promise.race([Promise.all(promises), timeout]).finally(() => clearTimeout(timer));
}

function respond(
  res: ServerResponse,
  status: number,
  encoding: Encoding,
  body: Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': encoding === 'proto' ? 'application/x-protobuf' : 'application/json',
    'content-length': String(body.length),
    ...headers,
  });
  res.end(body);
}

export function respondError(res: ServerResponse, req: IncomingMessage, answer: HttpAnswer): void {
  const encoding: Encoding = (req.headers['content-type'] ?? '').includes('json') ? 'json' : 'proto';
  const headers: Record<string, string> =
    answer.retryAfterSeconds !== undefined ? { 'retry-after': String(answer.retryAfterSeconds) } : {};
  if (answer.status === 405) headers.allow = 'POST';
  if (answer.status === 401) headers['www-authenticate'] = 'Bearer';
  respond(res, answer.status, encoding, encodeStatus(encoding, answer.status, answer.message), headers);
}
