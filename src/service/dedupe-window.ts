/**
 * Identities of items FlagSync has accepted, kept for a window, so that an OTLP request the
 * collector sends again (after a timeout, a 503, or a restart with its persistent queue) does not
 * count twice. Items still being delivered are shared: a second request waits for the first.
 * One map holds both states, so an event costs one lookup and two writes. Identities are short
 * (event-identity.ts), so the memory is bounded by maxEntries. With a directory, delivered ids
 * also go to a DedupeJournal and survive a restart.
 */
import { DedupeJournal } from './dedupe-journal.js';

const DELIVERED = true;
type State = typeof DELIVERED | Promise<void>;

export class DedupeWindow {
  private readonly _state = new Map<string, State>();
  /** Delivered ids in the order delivered, for eviction from the oldest end. */
  private _ids: string[] = [];
  private _times: number[] = [];
  private _head = 0;
  private readonly _journal: DedupeJournal | undefined;

  constructor(
    private readonly _windowMillis: number,
    private readonly _maxEntries: number,
    dir?: string,
  ) {
    const enabled = _maxEntries > 0 && _windowMillis > 0;
    this._journal =
      dir && enabled
        ? new DedupeJournal(dir, _windowMillis, _maxEntries, (id, time) => this._add(id, time))
        : undefined;
  }

  /** Make the delivered ids durable. Call before acknowledging a request. */
  persist(): void {
    this._journal?.flush();
  }

  close(): void {
    this._journal?.close();
  }

  /** Delivered ids remembered now. */
  get size(): number {
    return this._ids.length - this._head;
  }

  /** `true` when delivered, the settling promise when under way, undefined when new. */
  lookup(id: string): State | undefined {
    return this._state.get(id);
  }

  begin(id: string, settled: Promise<void>): void {
    this._state.set(id, settled);
  }

  settle(id: string, delivered: boolean): void {
    if (!delivered || this._maxEntries === 0) {
      this._state.delete(id);
      return;
    }
    this._journal?.append(id);
    this._add(id, Date.now());
  }

  private _add(id: string, now: number): void {
    this._state.set(id, DELIVERED);
    this._ids.push(id);
    this._times.push(now);
    while (
      this._head < this._ids.length &&
      (now - this._times[this._head]! > this._windowMillis || this.size > this._maxEntries)
    ) {
      const old = this._ids[this._head]!;
      if (this._state.get(old) === DELIVERED) this._state.delete(old);
      this._head++;
    }
    if (this._head > 4096 && this._head * 2 > this._ids.length) {
      this._ids = this._ids.slice(this._head);
      this._times = this._times.slice(this._head);
      this._head = 0;
    }
  }
}
