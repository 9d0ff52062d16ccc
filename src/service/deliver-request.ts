/**
 * One OTLP request's FlagSync items, from decoded events to the answer, in named steps:
 *   collect  convert, derive, and set aside what was delivered (or is being delivered) already;
 *   admit    refuse at once while FlagSync refuses, before anything is queued;
 *   feed     into the delivery queue, in parts as FlagSync makes room, until the ack deadline;
 *   settle   wait for FlagSync's answers until the deadline, handing back what has not left;
 *   answer   partial success, or 503/429 so the collector keeps the request and sends it again.
 */
import { evaluatedContext, type Converter } from '../convert/converter.js';
import type { DerivedEvent, DerivedEvents } from '../convert/derived-events.js';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { EntryOutcome } from '../delivery/lane.js';
import type { Signal } from '../otlp/encode-response.js';
import { derivedEventId } from '../otlp/event-identity.js';
import type { DecodedRequest } from '../otlp/otlp-event.js';
import type { DedupeWindow } from './dedupe-window.js';
import { HttpAnswer } from './http-answer.js';
import type { ServiceCounters } from './service-metrics.js';

export interface DeliverDeps {
  converter: Converter;
  derived: DerivedEvents;
  engine: DeliveryEngine;
  dedupe: DedupeWindow;
  counters: ServiceCounters;
  ackTimeoutMillis: number;
}

/** What the request answers when FlagSync has everything it will take. */
export interface Delivered {
  /** Spans or log records with an event that was refused (not converted, or refused by FlagSync). */
  rejected: number;
  errorMessage: string;
}

/** An item for the delivery queue: its dedupe identity (if it has one) and its tag there. */
interface Fresh {
  outcome: { kind: 'impression' | 'event'; json: string };
  id: string | undefined;
  tag: string;
}

interface Collected {
  fresh: Fresh[];
  /** Copies another request is delivering right now: this one waits for them. */
  joined: { id: string; settled: Promise<void> }[];
  rejectedRecords: Set<number>;
  firstReason: string;
}

type Failure = Extract<EntryOutcome, { delivered: false }>;

interface Fed {
  /** How many of the fresh items got into the queue, in order. */
  count: number;
  /** Resolves once every fed item is settled. */
  settled: Promise<void>;
  failures: Failure[];
}

export async function deliverRequest(
  signal: Signal,
  decoded: DecodedRequest,
  deps: DeliverDeps,
  now: () => number = Date.now,
): Promise<Delivered> {
  const deadline = now() + deps.ackTimeoutMillis;
  const collected = collect(signal, decoded, deps);
  admit(collected, deps.engine, now());
  const fed = await feed(collected.fresh, deps, () => deadline - now());
  const inTime = await settle(collected, fed, deps, deadline - now());
  return answer(collected, fed, deps, inTime);
}

/** Tags for items without an identity; U+FFFF never occurs in an identity (latin1 or base64url). */
let anonymous = 0;
const anonymousTag = () => {
  anonymous = (anonymous + 1) % Number.MAX_SAFE_INTEGER;
  return `\uffff${anonymous}`;
};

function collect(signal: Signal, decoded: DecodedRequest, deps: DeliverDeps): Collected {
  const { counters, dedupe, derived, converter } = deps;
  counters.receivedRecords[signal] += decoded.records;
  counters.receivedEvents += decoded.events.length;
  const collected: Collected = { fresh: [], joined: [], rejectedRecords: new Set(), firstReason: '' };
  const take = (outcome: Fresh['outcome'], id: string | undefined) => {
    const state = id === undefined ? undefined : dedupe.lookup(id);
    if (state === undefined) {
      collected.fresh.push({ outcome, id, tag: id ?? anonymousTag() });
    } else {
      counters.duplicates++;
      // Sent again while the first copy is still on its way: wait for that one.
      if (state !== true) collected.joined.push({ id: id!, settled: state });
    }
  };
  const takeDerived = (event: DerivedEvent) => {
    counters.derived++;
    take({ kind: 'event', json: event.json }, derivedEventId(event.source));
  };
  if (derived.traces.active) derived.traces.tick();
  for (const event of decoded.events) {
    const outcome = converter.convert(event);
    if (outcome.kind === 'rejected') {
      counters.rejected++;
      collected.rejectedRecords.add(event.record);
      collected.firstReason ||= outcome.reason;
    } else if (outcome.kind === 'damaged') {
      counters.damaged++;
    } else if (outcome.kind === 'elsewhere') {
      counters.elsewhere++;
    } else if (outcome.kind === 'impression' || outcome.kind === 'event') {
      take(outcome, event.id);
    }
    // Spans of this trace matching a rule, here or waiting from earlier requests, are this user's too.
    const evaluated = evaluatedContext(outcome);
    if (evaluated) derived.noteContext(event.traceId, evaluated.key, evaluated.text).forEach(takeDerived);
  }
  for (const span of decoded.spans ?? []) {
    if (span.id !== undefined) derived.derive(span.facts, span.id).forEach(takeDerived);
  }
  return collected;
}

/**
 * FlagSync is refusing for now: answer before queuing anything, so the collector keeps the data
 * and retries after FlagSync's own delay. 429 stays 429 (the collector honours both).
 */
function admit(collected: Collected, engine: DeliveryEngine, now: number): void {
  const backoff = engine.backoff;
  if (collected.fresh.length === 0 || !backoff) return;
  throw new HttpAnswer(
    backoff.status === 429 ? 429 : 503,
    `FlagSync is not accepting data right now (${backoff.lastError})`,
    Math.max(1, Math.ceil((backoff.retryAt - now) / 1000)),
  );
}

/**
 * Queue the items, registering their identities first so a retry of this request (or an
 * overlapping one) waits for them rather than sending them twice. A request larger than the free
 * room waits for room as FlagSync takes what is ahead of it, until the deadline; what did not get
 * in is settled as not delivered.
 */
async function feed(fresh: Fresh[], deps: DeliverDeps, remainingMillis: () => number): Promise<Fed> {
  const { counters, dedupe, engine } = deps;
  // One settle function and one promise per request, not per item.
  const failures: Failure[] = [];
  let remaining = fresh.length;
  let allSettled!: () => void;
  const settled = new Promise<void>((resolve) => (allSettled = resolve));
  const ids = new Map<string, string>();
  const settleItem = (outcome: EntryOutcome, tag: string | undefined) => {
    const id = ids.get(tag!);
    if (id !== undefined) dedupe.settle(id, outcome.delivered);
    if (!outcome.delivered) failures.push(outcome);
    if (--remaining === 0) allSettled();
  };
  for (const item of fresh) {
    if (item.id === undefined) continue;
    ids.set(item.tag, item.id);
    dedupe.begin(item.id, settled);
  }
  let count = 0;
  while (count < fresh.length) {
    const item = fresh[count]!;
    if (engine.tryAdd(item.outcome, settleItem, item.tag)) {
      if (item.outcome.kind === 'impression') counters.converted.impressions++;
      else counters.converted.events++;
      count++;
    } else if (!(await engine.roomFreed(remainingMillis()))) {
      break;
    }
  }
  for (let i = count; i < fresh.length; i++)
    settleItem({ delivered: false, reason: 'not queued before the ack timeout' }, fresh[i]!.tag);
  return { count, settled, failures };
}

/**
 * Wait for this request's items and the copies it joined, until the deadline. Late: hand back
 * what has not left (the collector keeps the request and sends it again); what is in a request
 * FlagSync has not answered stays pending here, for the retry to wait for. Either way the
 * identities are made durable before the collector hears anything.
 */
async function settle(collected: Collected, fed: Fed, deps: DeliverDeps, remainingMillis: number): Promise<boolean> {
  const { fresh, joined } = collected;
  const { counters, dedupe, engine } = deps;
  const waits = [...(fresh.length > 0 ? [fed.settled] : []), ...joined.map((j) => j.settled)];
  const inTime = fed.count === fresh.length && (await waitFor(waits, remainingMillis));
  if (!inTime && fed.count > 0) {
    const queued = fresh.slice(0, fed.count);
    engine.withdraw(new Set(queued.map((f) => f.tag)));
    counters.inFlightAtAckTimeout += queued.filter(
      (f) => f.id !== undefined && dedupe.lookup(f.id) instanceof Promise,
    ).length;
  }
  dedupe.persist();
  return inTime;
}

function answer(collected: Collected, fed: Fed, deps: DeliverDeps, inTime: boolean): Delivered {
  if (!inTime)
    throw new HttpAnswer(503, `FlagSync did not accept the data within ${deps.ackTimeoutMillis} ms; send it again`, 1);
  // A copy that another request was delivering and that did not make it: retry the whole request.
  const lostElsewhere = collected.joined.find((j) => deps.dedupe.lookup(j.id) !== true);
  // Retry later: a full queue or a refused answer that may change. Other refusals will not.
  const retryable = fed.failures.find((f) => f.status === undefined || f.status === 429);
  if (retryable || lostElsewhere)
    throw new HttpAnswer(
      503,
      `not delivered to FlagSync: ${retryable?.reason ?? 'a copy of this data sent earlier failed'}`,
      5,
    );
  const rejected = collected.rejectedRecords.size + fed.failures.length;
  const reason = collected.firstReason || fed.failures[0]?.reason || '';
  return { rejected, errorMessage: rejected > 0 ? reason : '' };
}

/** True when every promise settled within the time. */
async function waitFor(promises: Promise<unknown>[], timeoutMillis: number): Promise<boolean> {
  if (promises.length === 0) return true;
  if (timeoutMillis <= 0) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMillis);
  });
  try {
    return await Promise.race([Promise.all(promises).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
