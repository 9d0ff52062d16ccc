/**
 * One bounded queue and its sender, per FlagSync route (impressions, events). Items wait here,
 * already serialised, until FlagSync accepts them; a batch leaves the queue only when settled.
 */
import type { Transport } from './transport.js';
import { backoffMillis, type BackoffOptions } from './retry-policy.js';

export type EntryOutcome =
  | { delivered: true }
  | { delivered: false; reason: string /** FlagSync's answer, when it refused the items. */; status?: number };

const DELIVERED: EntryOutcome = { delivered: true };

/** After timeouts, a request's timeout grows to at most this multiple of the configured one. */
const MAX_TIMEOUT_FACTOR = 4;

export interface LaneEntry {
  json: string;
  bytes: number;
  /** Told once, when the entry is delivered or given up, with the entry's tag and ref. */
  settle?: (outcome: EntryOutcome, tag: string | undefined, ref: unknown) => void;
  /** Caller's identity for the entry, passed back to settle (one settle function can serve many entries). */
  tag?: string;
  /**
   * Its sender can still deliver it another way (a FlagSync SDK holds the call): given up at once
   * when FlagSync refuses the settings, rather than kept queued until they are fixed.
   */
  returnable?: boolean;
  /** True once its call was given back to its SDK meanwhile (the app ended): the entry is dropped unsent. */
  cancelled?: (ref: unknown) => boolean;
  /** The caller's object for the entry (a handed-over call's claim), passed to settle and cancelled. */
  ref?: unknown;
}

export interface LaneOptions {
  /** Payload field name and route: `impressions` → `/track/impressions/server`. */
  kind: 'impressions' | 'events';
  sdkContextJson: string;
  maxBatchSize: number;
  maxBatchBytes: number;
  maxQueueSize: number;
  maxQueueBytes: number;
  flushIntervalMillis: number;
  /**
   * Per-request timeout; doubled (up to MAX_TIMEOUT_FACTOR) after a request timed out, so a slow FlagSync gets answered
   * instead of sent everything twice.
   */
  timeoutMillis: number;
  backoff: BackoffOptions;
  /** Pause after an answer that means a setting is wrong (the batch stays queued). */
  configErrorRetryDelayMillis: number;
}

export interface LaneBackoff {
  retryAt: number;
  lastError: string;
  /** FlagSync's answer, when there was one (429 is passed on as 429). */
  status: number | undefined;
}

export interface LaneStats {
  /** Items accepted into the queue. */
  accepted: number;
  delivered: number;
  /** Refused because the queue was full (by count or by bytes). */
  dropped: number;
  /** Refused by FlagSync (4xx other than 429), or undeliverable at shutdown. */
  failed: number;
  /** Requests sent, and how many of them are retries. */
  requests: number;
  retries: number;
  /**
   * Items sent again after an attempt that got no answer once it may have reached FlagSync
   * (timeout, connection lost). FlagSync has no idempotency key: at most this many may count twice.
   */
  unconfirmed: number;
  /**
   * Of `failed`: items given up at shutdown while a request carrying them was unanswered; FlagSync may have stored
   * them.
   */
  unanswered: number;
  /** Given back before delivery (their calls went back to their SDK): the SDK sends them. */
  withdrawn: number;
}

export interface LaneEvents {
  onRetry(
    lane: LaneOptions['kind'],
    message: string,
    delayMillis: number,
    unconfirmed: boolean,
    configProblem: boolean,
  ): void;
  onFailure(lane: LaneOptions['kind'], count: number, status: number, message: string): void;
  onDelivered(lane: LaneOptions['kind'], count: number): void;
}

export class Lane {
  readonly stats: LaneStats = {
    accepted: 0,
    delivered: 0,
    dropped: 0,
    failed: 0,
    requests: 0,
    retries: 0,
    unconfirmed: 0,
    unanswered: 0,
    withdrawn: 0,
  };
  private readonly _path: string;
  private readonly _prefix: string;
  /** Entries from `_head` on; the slots before it are emptied as entries are sent. */
  private _queue: (LaneEntry | undefined)[] = [];
  private _head = 0;
  private _queuedBytes = 0;
  private _sending: Promise<void> | undefined;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _retryAt = 0;
  private _attempt = 0;
  private _timeoutFactor = 1;
  /** Entries at the head of the queue in the request now waiting for FlagSync's answer. */
  private _inFlight = 0;
  private _batchLimit: number;
  private _lastError: string | undefined;
  private _lastStatus: number | undefined;
  private _closed = false;

  constructor(
    private readonly _options: LaneOptions,
    private readonly _transport: Transport,
    private readonly _events: LaneEvents,
  ) {
    this._path = `/track/${_options.kind}/server`;
    this._prefix = `{"${_options.kind}":[`;
    this._batchLimit = _options.maxBatchSize;
  }

  get size(): number {
    return this._queue.length - this._head;
  }

  /** Set while FlagSync is failing: when the next attempt is due and what went wrong. */
  get backoff(): LaneBackoff | undefined {
    return this._retryAt > Date.now() && this._lastError
      ? { retryAt: this._retryAt, lastError: this._lastError, status: this._lastStatus }
      : undefined;
  }

  /** Whether an entry of this size fits now. An empty queue takes any entry, however large. */
  hasRoom(bytes: number): boolean {
    return (
      !this._closed &&
      this.size < this._options.maxQueueSize &&
      (this.size === 0 || this._queuedBytes + bytes <= this._options.maxQueueBytes)
    );
  }

  /** Queue an entry; false (counted as dropped) when the queue is full or closed. */
  offer(entry: LaneEntry): boolean {
    if (!this.hasRoom(entry.bytes)) {
      this.stats.dropped++;
      return false;
    }
    this._queue.push(entry);
    this._queuedBytes += entry.bytes;
    this.stats.accepted++;
    if (this.size >= this._batchLimit || this._queuedBytes >= this._options.maxBatchBytes) this._kick();
    else this._schedule(this._options.flushIntervalMillis);
    return true;
  }

  /**
   * Send what is queued, retrying within the deadline; ignores a pending backoff once, as a flush
   * is an explicit request. Resolves with how many entries are still queued at the deadline.
   */
  async drain(deadline: number): Promise<number> {
    this._retryAt = 0;
    while (this.size > 0 || this._sending) {
      const now = Date.now();
      if (now >= deadline) break;
      this._kick();
      // This wait keeps the process alive on purpose (the caller asked to wait for delivery), and
      // is cleared as soon as the send settles so it never outlives the drain.
      const until = this._sending ? deadline : Math.min(Math.max(this._retryAt, now + 1), deadline);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race(
        [this._sending, new Promise<void>((resolve) => (timer = setTimeout(resolve, until - now)))].filter(Boolean),
      );
      clearTimeout(timer);
    }
    return this.size;
  }

  /** Settle every returnable entry as not delivered (their calls go back to their SDK); the rest stay queued. */
  private _giveBackReturnable(reason: string, status: number | undefined): void {
    const kept: LaneEntry[] = [];
    const given: LaneEntry[] = [];
    for (let i = this._head; i < this._queue.length; i++) {
      const entry = this._queue[i]!;
      (entry.returnable ? given : kept).push(entry);
    }
    if (given.length === 0) return;
    this._queue = kept;
    this._head = 0;
    for (const entry of given) this._queuedBytes -= entry.bytes;
    this.stats.withdrawn += given.length;
    for (const entry of given) entry.settle?.({ delivered: false, reason, status }, entry.tag, entry.ref);
  }

  /** Stop accepting; entries still queued are settled as not delivered. */
  close(reason: string): { lost: number; unanswered: number } {
    this._closed = true;
    if (this._timer) clearTimeout(this._timer);
    const remaining = this._queue.slice(this._head) as LaneEntry[];
    const unanswered = Math.min(this._inFlight, remaining.length);
    this._queue = [];
    this._head = 0;
    this._queuedBytes = 0;
    this.stats.failed += remaining.length;
    this.stats.unanswered += unanswered;
    for (const entry of remaining) entry.settle?.({ delivered: false, reason }, entry.tag, entry.ref);
    return { lost: remaining.length, unanswered };
  }

  private _schedule(delayMillis: number): void {
    if (this._timer || this._closed) return;
    this._timer = setTimeout(() => {
      this._timer = undefined;
      this._kick();
    }, delayMillis);
    // Queued telemetry must not keep the app alive; shutdown() delivers it.
    this._timer.unref?.();
  }

  private _kick(): void {
    if (this._sending || this.size === 0) return;
    const wait = this._retryAt - Date.now();
    if (wait > 0) {
      this._schedule(wait);
      return;
    }
    if (this._timer) {
      clearTimeout(this._timer);
      this._timer = undefined;
    }
    this._sending = this._sendAll().finally(() => {
      this._sending = undefined;
      if (this.size > 0) this._schedule(Math.max(0, this._retryAt - Date.now()));
    });
  }

  /** Send batches until the queue is empty or FlagSync asks us to wait. */
  private async _sendAll(): Promise<void> {
    while (this.size > 0 && this._retryAt <= Date.now()) {
      this._dropCancelled();
      if (this.size === 0) break;
      const count = this._nextBatchCount();
      const entries = this._queue.slice(this._head, this._head + count) as LaneEntry[];
      let body = this._prefix;
      for (let i = 0; i < entries.length; i++) body += (i === 0 ? '' : ',') + entries[i]!.json;
      body += `],"sdkContext":${this._options.sdkContextJson}}`;

      this.stats.requests++;
      if (this._attempt > 0) this.stats.retries++;
      this._inFlight = count;
      const result = await this._transport.post(this._path, body, this._options.timeoutMillis * this._timeoutFactor);
      this._inFlight = 0;
      // Closed meanwhile: these entries were settled and counted then (as unanswered).
      if (this._closed) return;
      if (result.kind === 'success') {
        this._attempt = 0;
        this._timeoutFactor = 1;
        this._lastError = undefined;
        this._lastStatus = undefined;
        this._remove(count);
        // A batch halved after 413 stays small for the rest of the backlog, not re-probed per request.
        if (this.size === 0) this._batchLimit = this._options.maxBatchSize;
        this.stats.delivered += count;
        for (const entry of entries) entry.settle?.(DELIVERED, entry.tag, entry.ref);
        this._events.onDelivered(this._options.kind, count);
      } else if (result.kind === 'retryable') {
        const delay = result.configProblem
          ? this._options.configErrorRetryDelayMillis
          : Math.max(backoffMillis(this._attempt, this._options.backoff), result.retryAfterMillis ?? 0);
        this._attempt++;
        this._lastError = result.message;
        this._lastStatus = result.status;
        this._retryAt = Date.now() + delay;
        if (result.configProblem) this._giveBackReturnable(result.message, result.status);
        if (result.unconfirmed) {
          // The batch stays first in the queue, so the next attempt resends exactly these items.
          this.stats.unconfirmed += count;
          this._timeoutFactor = Math.min(this._timeoutFactor * 2, MAX_TIMEOUT_FACTOR);
        }
        this._events.onRetry(
          this._options.kind,
          result.message,
          delay,
          result.unconfirmed === true,
          result.configProblem === true,
        );
        return;
      } else if (count > 1) {
        // Too large for FlagSync (413), or refused for some item in it: halve the batch and try again
        // at once, until the refused items stand alone; the rest of the batch is delivered.
        this._batchLimit = Math.ceil(count / 2);
      } else {
        this._remove(count);
        this.stats.failed += count;
        for (const entry of entries)
          entry.settle?.({ delivered: false, reason: result.message, status: result.status }, entry.tag, entry.ref);
        this._events.onFailure(this._options.kind, count, result.status, result.message);
      }
    }
  }

  /** Drop entries of the next batch whose call went back to its SDK, so they are never sent twice. */
  private _dropCancelled(): void {
    let seen = 0;
    for (let i = this._head; i < this._queue.length && seen < this._batchLimit; ) {
      const entry = this._queue[i]!;
      if (entry.cancelled?.(entry.ref)) {
        this._queue.splice(i, 1);
        this._queuedBytes -= entry.bytes;
        this.stats.withdrawn++;
      } else {
        i++;
        seen++;
      }
    }
  }

  private _nextBatchCount(): number {
    const available = Math.min(this.size, this._batchLimit);
    let bytes = 0;
    let count = 0;
    while (count < available) {
      bytes += this._queue[this._head + count]!.bytes + 1;
      if (count > 0 && bytes > this._options.maxBatchBytes) break;
      count++;
    }
    return count;
  }

  private _remove(count: number): void {
    for (let i = 0; i < count; i++) {
      this._queuedBytes -= this._queue[this._head]!.bytes;
      // Let a sent entry go at once (its JSON, its call's claim): a backlog would otherwise keep as many again.
      this._queue[this._head++] = undefined;
    }
    if (this._head > 1024 && this._head * 2 > this._queue.length) {
      this._queue = this._queue.slice(this._head);
      this._head = 0;
    }
  }
}
