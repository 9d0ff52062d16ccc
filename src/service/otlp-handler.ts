/**
 * POST /v1/traces and /v1/logs: decode, convert, drop duplicates, deliver, and only then answer,
 * so the collector's retry and persistent queue hold whatever FlagSync has not accepted yet.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConversionOutcome, Converter } from '../convert/converter.js';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { EntryOutcome } from '../delivery/lane.js';
import { decodeLogsJson, decodeTracesJson } from '../otlp/decode-json.js';
import { decodeLogsProto, decodeTracesProto } from '../otlp/decode-proto.js';
import { encodeExportResponse, encodeStatus, type Encoding, type Signal } from '../otlp/encode-response.js';
import { OtlpDecodeError, type DecodedRequest, type OtlpEvent } from '../otlp/otlp-event.js';
import { ProtoError } from '../otlp/proto-reader.js';
import type { DedupeWindow } from './dedupe-window.js';
import { BodyError, readBody } from './read-body.js';
import type { ServiceCounters } from './self-metrics.js';

export interface HandlerDeps {
  converter: Converter;
  engine: DeliveryEngine;
  dedupe: DedupeWindow;
  counters: ServiceCounters;
  maxBodyBytes: number;
  ackTimeoutMillis: number;
  /** How long other instances wait for items held here in an unanswered request (the longest a FlagSync request can take). */
  holdMillis: number;
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

export async function handleExport(signal: Signal, req: IncomingMessage, res: ServerResponse, deps: HandlerDeps): Promise<void> {
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const encoding = CONTENT_TYPES[mediaType];
  if (!encoding) throw new HttpAnswer(415, `Content-Type must be application/x-protobuf or application/json, got "${mediaType}"`);
  try {
    const body = await readBody(req, deps.maxBodyBytes);
    const decoded = decode(signal, encoding, body, deps.converter);
    const { rejected, errorMessage } = await deliver(signal, decoded, deps);
    respond(res, 200, encoding, encodeExportResponse(signal, encoding, rejected, errorMessage));
  } catch (error) {
    if (error instanceof BodyError) throw new HttpAnswer(error.status, error.message);
    if (error instanceof OtlpDecodeError || error instanceof ProtoError) throw new HttpAnswer(400, `cannot decode OTLP ${encoding}: ${error.message}`);
    throw error;
  }
}

function decode(signal: Signal, encoding: Encoding, body: Buffer, converter: Converter): DecodedRequest {
  if (encoding === 'proto') return signal === 'traces' ? decodeTracesProto(body, converter) : decodeLogsProto(body, converter);
  return signal === 'traces' ? decodeTracesJson(body.toString('utf8'), converter) : decodeLogsJson(body.toString('utf8'), converter);
}

async function deliver(signal: Signal, decoded: DecodedRequest, deps: HandlerDeps): Promise<{ rejected: number; errorMessage: string }> {
  const { counters, dedupe, engine } = deps;
  counters.receivedRecords[signal] += decoded.records;
  counters.receivedEvents += decoded.events.length;

  // Ids other instances (or this one before a restart) delivered since the last request.
  dedupe.sync();
  const rejectedRecords = new Set<number>();
  let firstReason = '';
  const joined: { id: string; settled: Promise<void> }[] = [];
  let heldElsewhere = 0;
  const fresh: { event: OtlpEvent; outcome: Extract<ConversionOutcome, { kind: 'impression' | 'event' }> }[] = [];
  for (const event of decoded.events) {
    const outcome = deps.converter.convert(event);
    if (outcome.kind === 'rejected') {
      counters.rejected++;
      rejectedRecords.add(event.record);
      firstReason ||= outcome.reason;
    } else if (outcome.kind === 'damaged') {
      counters.damaged++;
    } else if (outcome.kind !== 'ignored') {
      const state = dedupe.lookup(event.id);
      if (state === undefined) {
        if (dedupe.heldElsewhere(event.id)) heldElsewhere++;
        else fresh.push({ event, outcome });
      } else {
        counters.duplicates++;
        // Sent again while the first copy is still on its way: wait for that one.
        if (state !== true) joined.push({ id: event.id, settled: state });
      }
    }
  }

  // Admission: refuse early, before queuing anything, so the collector keeps the data and retries.
  if (heldElsewhere > 0) throw new HttpAnswer(503, `${heldElsewhere} items of this request are in another instance's request to FlagSync, not answered yet`, 1);
  const backoff = engine.backoff;
  if (fresh.length > 0 && backoff) {
    const seconds = Math.max(1, Math.ceil((backoff.retryAt - Date.now()) / 1000));
    throw new HttpAnswer(backoff.lastError.includes(' 429') ? 429 : 503, `FlagSync is not accepting data right now (${backoff.lastError})`, seconds);
  }
  if (fresh.length > engine.freeCapacity) throw new HttpAnswer(429, 'delivery queue is full', 1);

  // One settle function and one promise per request, not per item.
  const failures: Extract<EntryOutcome, { delivered: false }>[] = [];
  let remaining = fresh.length;
  let allSettled!: () => void;
  const settled = new Promise<void>((resolve) => (allSettled = resolve));
  const settle = (outcome: EntryOutcome, id: string | undefined) => {
    dedupe.settle(id!, outcome.delivered);
    if (!outcome.delivered) failures.push(outcome);
    if (--remaining === 0) allSettled();
  };
  for (const { event, outcome } of fresh) {
    dedupe.begin(event.id, settled);
    if (!engine.add(outcome, settle, event.id)) settle({ delivered: false, reason: 'delivery queue is full', status: 429 }, event.id);
    if (outcome.kind === 'impression') counters.converted.impressions++;
    else counters.converted.events++;
  }

  const waits = [...(fresh.length > 0 ? [settled] : []), ...joined.map((j) => j.settled)];
  const inTime = await waitFor(waits, deps.ackTimeoutMillis);
  if (!inTime && fresh.length > 0) {
    // Hand back what has not left yet: the collector keeps the request and sends it again, maybe
    // to another instance, which would otherwise deliver it a second time alongside this queue.
    engine.withdraw(new Set(fresh.map((f) => f.event.id)));
    // What is left is in a request FlagSync has not answered. Other instances sharing the dedupe
    // directory are told to wait for it (without one, a retry elsewhere may duplicate it)...
    const inFlight = fresh.filter((f) => dedupe.lookup(f.event.id) instanceof Promise).map((f) => f.event.id);
    if (inFlight.length > 0) {
      counters.inFlightAtAckTimeout += inFlight.length;
      dedupe.hold(inFlight, Date.now() + deps.holdMillis);
      // ...and whatever of it FlagSync does not take in that request is handed back as well.
      void engine.sendsEnded().then(() => engine.withdraw(new Set(inFlight)));
    }
  }
  // Durable before the collector hears of it: a retry after a crash from here on finds them.
  dedupe.persist();
  if (!inTime) throw new HttpAnswer(503, `FlagSync did not accept the data within ${deps.ackTimeoutMillis} ms; send it again`, 1);
  // A copy that another request was delivering and that did not make it: retry the whole request.
  const lostElsewhere = joined.find((j) => dedupe.lookup(j.id) !== true);
  // Retry later: a refused SDK key or a full queue may be fixed. Other refusals will not change.
  const retryable = failures.find((f) => f.status === undefined || f.status === 401 || f.status === 403 || f.status === 429);
  if (retryable || lostElsewhere) throw new HttpAnswer(503, `not delivered to FlagSync: ${retryable?.reason ?? 'a copy of this data sent earlier failed'}`, 5);
  if (failures.length > 0) firstReason ||= failures[0]!.reason;
  const rejected = rejectedRecords.size + failures.length;
  return { rejected, errorMessage: rejected > 0 ? firstReason : '' };
}

function waitFor<T>(promises: Promise<T>[], timeoutMillis: number): Promise<T[] | undefined> {
  if (promises.length === 0) return Promise.resolve([]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMillis);
  });
  return Promise.race([Promise.all(promises), timeout]).finally(() => clearTimeout(timer));
}

export function respond(res: ServerResponse, status: number, encoding: Encoding, body: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': encoding === 'proto' ? 'application/x-protobuf' : 'application/json', 'content-length': String(body.length), ...headers });
  res.end(body);
}

export function respondError(res: ServerResponse, req: IncomingMessage, answer: HttpAnswer): void {
  const encoding: Encoding = (req.headers['content-type'] ?? '').includes('json') ? 'json' : 'proto';
  const headers: Record<string, string> = answer.retryAfterSeconds !== undefined ? { 'retry-after': String(answer.retryAfterSeconds) } : {};
  if (answer.status === 405) headers.allow = 'POST';
  if (answer.status === 401) headers['www-authenticate'] = 'Bearer';
  respond(res, answer.status, encoding, encodeStatus(encoding, answer.status, answer.message), headers);
}
