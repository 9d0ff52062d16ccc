/**
 * Identities of items FlagSync has accepted, kept for a window, so that an OTLP request the
 * collector sends again (after a timeout, a 503, or a restart with its persistent queue) does not
 * count twice. Items still being delivered are shared: the second request waits for the first.
 */
import type { EntryOutcome } from '../delivery/lane.js';

export class DedupeWindow {
  /** id → time delivered; Map keeps insertion order, so the oldest are first. */
  private readonly _delivered = new Map<string, number>();
  private readonly _inFlight = new Map<string, Promise<EntryOutcome>>();

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

  inFlight(id: string): Promise<EntryOutcome> | undefined {
    return this._inFlight.get(id);
  }

  /** Track a delivery under way; remembered as delivered once it succeeds. */
  track(id: string, outcome: Promise<EntryOutcome>): Promise<EntryOutcome> {
    this._inFlight.set(id, outcome);
    return outcome.then((result) => {
      this._inFlight.delete(id);
      if (result.delivered) this._remember(id);
      return result;
    });
  }

  private _remember(id: string): void {
    const now = Date.now();
    this._delivered.set(id, now);
    // Evict by age, then by count; both from the oldest end.
    for (const [oldest, at] of this._delivered) {
      if (now - at <= this._windowMillis && this._delivered.size <= this._maxEntries) break;
      this._delivered.delete(oldest);
    }
  }
}
