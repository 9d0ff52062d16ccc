/**
 * Identities of items FlagSync has accepted, kept for a window, so that an OTLP request the
 * collector sends again (after a timeout, a 503, or a restart with its persistent queue) does not
 * count twice. Items still being delivered are shared: a second request waits for the first.
 * One map holds both states, so an event costs one lookup and two writes. With a directory, the
 * delivered ids also go to a DedupeJournal: they survive a restart and are shared by instances,
 * as are ids an instance still holds in an unanswered request to FlagSync after its ack timeout.
 */
import { DedupeJournal, IdKind } from './dedupe-journal.js';

const DELIVERED = true;
type State = typeof DELIVERED | Promise<void>;

export class DedupeWindow {
  private readonly _state = new Map<string, State>();
  /** Delivered ids in the order delivered, for eviction from the oldest end. */
  private _ids: string[] = [];
  private _times: number[] = [];
  private _head = 0;
  private readonly _journal: DedupeJournal | undefined;
  /** Ids another process holds in an unanswered request to FlagSync, with the expiry of that claim. */
  private readonly _heldElsewhere = new Map<string, number>();
  /** Ids this process announced as held: settling them tells the others. */
  private readonly _announced = new Set<string>();
  private _nextPrune = 0;

  constructor(
    private readonly _windowMillis: number,
    private readonly _maxEntries: number,
    dir?: string,
  ) {
    const enabled = _maxEntries > 0 && _windowMillis > 0;
    this._journal = dir && enabled ? new DedupeJournal(dir, _windowMillis, _maxEntries, (kind, id, time) => this._remember(kind, id, time)) : undefined;
  }

  /** Take in what other instances (or this one before a restart) delivered or hold. Call before lookups. */
  sync(): void {
    if (!this._journal) return;
    this._journal.catchUp();
    const now = Date.now();
    if (this._heldElsewhere.size > 0 && now >= this._nextPrune) {
      // Claims of a process that died before settling them expire.
      this._nextPrune = now + 10_000;
      for (const [id, expiry] of this._heldElsewhere) if (expiry <= now) this._heldElsewhere.delete(id);
    }
  }

  /** True while another process holds the id in a request FlagSync has not answered yet. */
  heldElsewhere(id: string): boolean {
    if (this._heldElsewhere.size === 0) return false;
    const expiry = this._heldElsewhere.get(id);
    return expiry !== undefined && expiry > Date.now();
  }

  /**
   * Tell other processes that these ids (being delivered here) are in a request FlagSync has not
   * answered, until `expiry`: they wait instead of sending them again. No-op without a directory.
   */
  hold(ids: readonly string[], expiry: number): void {
    if (!this._journal) return;
    for (const id of ids) this._announced.add(id);
    this._journal.hold(ids, expiry);
  }

  /** Make this process's delivered ids durable. Call before acknowledging a request. */
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
    const announced = this._announced.size > 0 && this._announced.delete(id);
    if (!delivered || this._maxEntries === 0) {
      this._state.delete(id);
      if (announced) this._journal?.release(id);
      return;
    }
    this._journal?.append(id);
    this._add(id, Date.now());
  }

  private _remember(kind: IdKind, id: string, time: number): void {
    // Being delivered here as well: our own outcome decides.
    if (kind === IdKind.held) {
      if (!this._state.has(id)) this._heldElsewhere.set(id, time);
      return;
    }
    this._heldElsewhere.delete(id);
    if (kind === IdKind.delivered && !this._state.has(id)) this._add(id, time);
  }

  private _add(id: string, now: number): void {
    this._state.set(id, DELIVERED);
    this._ids.push(id);
    this._times.push(now);
    while (this._head < this._ids.length && (now - this._times[this._head]! > this._windowMillis || this.size > this._maxEntries)) {
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
