/**
 * Identities of items FlagSync has accepted, kept for a window, so that an OTLP request the
 * collector sends again (after a timeout, a 503, or a restart with its persistent queue) does not
 * count twice. Items still being delivered are shared: a second request waits for the first.
 */

export class DedupeWindow {
  private readonly _delivered = new Set<string>();
  /** Insertion order and time, for eviction from the oldest end without iterating the set. */
  private _ids: string[] = [];
  private _times: number[] = [];
  private _head = 0;
  private readonly _inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly _windowMillis: number,
    private readonly _maxEntries: number,
  ) {}

  get size(): number {
    return this._delivered.size;
  }

  isDelivered(id: string): boolean {
    return this._delivered.has(id);
  }

  /** The delivery under way for this id (it settles when that request's items are settled). */
  inFlight(id: string): Promise<void> | undefined {
    return this._inFlight.get(id);
  }

  begin(id: string, settled: Promise<void>): void {
    this._inFlight.set(id, settled);
  }

  settle(id: string, delivered: boolean): void {
    this._inFlight.delete(id);
    if (!delivered || this._maxEntries === 0) return;
    const now = Date.now();
    this._delivered.add(id);
    this._ids.push(id);
    this._times.push(now);
    while (this._head < this._ids.length && (now - this._times[this._head]! > this._windowMillis || this._delivered.size > this._maxEntries)) {
      this._delivered.delete(this._ids[this._head]!);
      this._head++;
    }
    if (this._head > 4096 && this._head * 2 > this._ids.length) {
      this._ids = this._ids.slice(this._head);
      this._times = this._times.slice(this._head);
      this._head = 0;
    }
  }
}
