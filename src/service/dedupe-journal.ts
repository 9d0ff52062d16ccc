/**
 * The service's delivered identities on disk, so that duplicate removal survives a restart or a
 * SIGKILL: ids are written right after FlagSync accepts a batch and before the OTLP request is
 * answered, and read back when the service starts. One service per directory (a sidecar's local
 * volume); several services never share one: scale-out belongs to the collector fleet.
 *
 * Segment files `<start ms>-<sequence>.ids`, rotated at half the window (or a quarter of the
 * entries kept), deleted once out of the window. Record: u32 length of the rest, f64 time (ms),
 * u32 count, then count x (u8 length, UTF-8 id). Ids are short (event-identity.ts).
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';

const SUFFIX = '.ids';
const HEADER = 16;
/** Longest id written (bytes); identities are far shorter, this only guards the format. */
const MAX_ID_BYTES = 0xff;

export class DedupeJournal {
  private readonly _log = diag.createComponentLogger({ namespace: 'flagsync-otel/dedupe' });
  private readonly _pending: string[] = [];
  private _fd = -1;
  private _segmentStart = 0;
  private _segmentIds = 0;
  private _sequence = 0;
  /** This process's segments, oldest first, with how many ids each holds. */
  private readonly _segments: { name: string; ids: number; start: number }[] = [];
  private _flushQueued = false;
  private _writeFailed = false;

  /** Opens the directory (creating it) and hands every id in it still within the window to `remember`. */
  constructor(
    private readonly _dir: string,
    private readonly _windowMillis: number,
    private readonly _maxEntries: number,
    remember: (id: string, timeMillis: number) => void,
  ) {
    try {
      mkdirSync(_dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new Error(`cannot create the dedupe directory ${_dir} (FLAGSYNC_SERVICE_DEDUPE_DIR): ${code(error)}`);
    }
    this._load(remember);
    try {
      this._rotate();
    } catch (error) {
      throw new Error(`cannot write to the dedupe directory ${_dir} (FLAGSYNC_SERVICE_DEDUPE_DIR): ${code(error)}`);
    }
  }

  /** Note an id FlagSync accepted; written on the next microtask, or by flush(). */
  append(id: string): void {
    this._pending.push(id);
    if (!this._flushQueued) {
      this._flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Write what append() noted. Synchronous: once it returns, a SIGKILL cannot lose it. */
  flush(): void {
    this._flushQueued = false;
    if (this._pending.length === 0 || this._fd < 0) return;
    const ids = this._pending.splice(0);
    if (Date.now() - this._segmentStart > this._segmentMillis || this._segmentIds >= this._segmentMaxIds) {
      try {
        this._rotate();
      } catch (error) {
        this._reportWriteFailure(error); // keep appending to the current segment
      }
    }
    const encoded = ids.map((id) => Buffer.from(id, 'utf8')).filter((bytes) => bytes.length <= MAX_ID_BYTES);
    const record = Buffer.allocUnsafe(HEADER + encoded.reduce((sum, bytes) => sum + 1 + bytes.length, 0));
    record.writeUInt32LE(record.length - 4, 0);
    record.writeDoubleLE(Date.now(), 4);
    record.writeUInt32LE(encoded.length, 12);
    let at = HEADER;
    for (const bytes of encoded) {
      record.writeUInt8(bytes.length, at);
      at += 1 + bytes.copy(record, at + 1);
    }
    this._segmentIds += encoded.length;
    this._segments.at(-1)!.ids = this._segmentIds;
    try {
      writeSync(this._fd, record);
    } catch (error) {
      this._reportWriteFailure(error);
    }
  }

  close(): void {
    this.flush();
    if (this._fd >= 0) closeSync(this._fd);
    this._fd = -1;
  }

  /** Segments are rotated at half the window, so whole files can be deleted once out of it... */
  private get _segmentMillis(): number {
    return Math.max(1000, Math.floor(this._windowMillis / 2));
  }

  /** ...and at a quarter of the entries kept in memory, so files beyond those can go too. */
  private get _segmentMaxIds(): number {
    return Math.max(1000, Math.ceil(this._maxEntries / 4));
  }

  /** Duplicate removal falls back to memory; delivery itself is not affected. Said once. */
  private _reportWriteFailure(error: unknown): void {
    if (!this._writeFailed)
      this._log.error(
        `cannot write to the dedupe directory ${this._dir}: ${code(error)}; until it can, duplicates are removed in ` +
          `memory only`,
      );
    this._writeFailed = true;
  }

  private _load(remember: (id: string, timeMillis: number) => void): void {
    const cutoff = Date.now() - this._windowMillis;
    // Names sort by start time, so ids are remembered oldest first.
    const names = readdirSync(this._dir)
      .filter((name) => name.endsWith(SUFFIX))
      .sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b));
    for (const name of names) {
      const file = join(this._dir, name);
      let data: Buffer;
      try {
        // Written at most within the window, and bounded by maxEntries: small enough to read whole.
        if (statSync(file).mtimeMs < cutoff) {
          unlinkSync(file);
          continue;
        }
        data = readFileSync(file);
      } catch (error) {
        this._log.warn(`cannot read dedupe file ${file}: ${code(error)}; its ids may be delivered again`);
        continue;
      }
      const count = this._parse(name, data, cutoff, remember);
      this._segments.push({ name, ids: count, start: parseInt(name, 10) || 0 });
    }
  }

  /** Reads the records of one file; a torn last record (a kill mid-write) ends it quietly. */
  private _parse(
    name: string,
    data: Buffer,
    cutoff: number,
    remember: (id: string, timeMillis: number) => void,
  ): number {
    let remembered = 0;
    let at = 0;
    while (data.length - at >= 4) {
      const length = data.readUInt32LE(at);
      const end = at + 4 + length;
      if (length < HEADER - 4) {
        this._log.warn(`dedupe file ${name} is corrupt at byte ${at}; ignoring the rest of it`);
        break;
      }
      if (end > data.length) break;
      const time = data.readDoubleLE(at + 4);
      const count = data.readUInt32LE(at + 12);
      let p = at + HEADER;
      for (let i = 0; i < count && p < end; i++) {
        const idLength = data.readUInt8(p);
        if (p + 1 + idLength > end) break;
        if (time >= cutoff) {
          remember(data.toString('utf8', p + 1, p + 1 + idLength), time);
          remembered++;
        }
        p += 1 + idLength;
      }
      at = end;
    }
    return remembered;
  }

  /** Start a new segment; the new file is opened before the old one is let go, so a failure changes nothing. */
  private _rotate(): void {
    const start = Date.now();
    const name = `${start}-${String(this._sequence++).padStart(6, '0')}${SUFFIX}`;
    const fd = openSync(join(this._dir, name), 'a', 0o600);
    if (this._fd >= 0) closeSync(this._fd);
    this._fd = fd;
    this._segmentStart = start;
    this._segmentIds = 0;
    this._segments.push({ name, ids: 0, start });
    // Out of the window, or older than the newest maxEntries ids (memory keeps only those): of no further use.
    const cutoff = start - this._windowMillis - this._segmentMillis;
    let newer = this._segments.reduce((sum, segment) => sum + segment.ids, 0);
    while (
      this._segments.length > 1 &&
      (this._segments[0]!.start < cutoff || newer - this._segments[0]!.ids >= this._maxEntries)
    ) {
      const oldest = this._segments.shift()!;
      newer -= oldest.ids;
      try {
        unlinkSync(join(this._dir, oldest.name));
      } catch {
        // Already gone.
      }
    }
  }
}

function code(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
