/**
 * Delivered identities on disk, so that duplicate removal survives a SIGKILL and is shared by
 * several instances. Each process appends to its own segment files in one directory and reads
 * everyone else's; nobody writes to a file it did not create, so no locking is needed. Ids are
 * written right after FlagSync accepts a batch and before the OTLP request is answered. Ids a
 * process still has in an unanswered request to FlagSync when it answers 503 are written as held
 * (until an expiry), then as delivered or released, so other instances wait rather than resend.
 *
 * Record: u32 length of the rest, f64 time (ms; for held ids, their expiry), u32 count, u8 kind,
 * then count x (u16 length, UTF-8 id).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';

const SUFFIX = '.ids';
const HEADER = 17;

export const IdKind = { delivered: 0, held: 1, released: 2 } as const;
export type IdKind = (typeof IdKind)[keyof typeof IdKind];
/** Longest id written (bytes); longer ones, rare, are remembered in memory only. */
const MAX_ID_BYTES = 0xffff;
/** A record longer than this is corruption, not data: the file is not read further. */
const MAX_RECORD = 256 * 1024 * 1024;
/** Files are read in chunks of at most this, so a large backlog never needs one huge buffer. */
const READ_CHUNK = 8 * 1024 * 1024;

interface PeerFile {
  fd: number;
  offset: number;
  /** The start of a record whose end is not written yet. */
  partial: Buffer | undefined;
  /** Set once the file is found corrupt: nothing more is read from it. */
  broken: boolean;
}

/** Told of each id read from another process's files: delivered (time), held (until time), released. */
export type Remember = (kind: IdKind, id: string, timeMillis: number) => void;

export class DedupeJournal {
  private readonly _log = diag.createComponentLogger({ namespace: 'flagsync-otel/dedupe' });
  private readonly _peers = new Map<string, PeerFile>();
  private readonly _delivered: string[] = [];
  private readonly _released: string[] = [];
  private _fd = -1;
  private _segment = '';
  private _segmentStart = 0;
  private _segmentIds = 0;
  private _sequence = 0;
  /** This process's earlier segments, oldest first, with how many ids each holds. */
  private readonly _ownClosed: { name: string; ids: number }[] = [];
  private _flushQueued = false;
  private _writeFailed = false;
  private _nextSweep = 0;

  /** Opens the directory (creating it) and hands every id it holds within the window to `remember`. */
  constructor(
    private readonly _dir: string,
    private readonly _windowMillis: number,
    private readonly _maxEntries: number,
    private readonly _remember: Remember,
  ) {
    try {
      mkdirSync(_dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new Error(`cannot create the dedupe directory ${_dir} (FLAGSYNC_SERVICE_DEDUPE_DIR): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    this.catchUp();
    try {
      this._rotate();
    } catch (error) {
      throw new Error(`cannot write to the dedupe directory ${_dir} (FLAGSYNC_SERVICE_DEDUPE_DIR): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }

  /** Note an id FlagSync accepted; written on the next microtask, or by flush(). */
  append(id: string): void {
    this._delivered.push(id);
    this._queueFlush();
  }

  /** Note that a held id was not delivered after all: others may take it. */
  release(id: string): void {
    this._released.push(id);
    this._queueFlush();
  }

  /** Write at once that these ids are in a request to FlagSync this process is still waiting on, until `expiry`. */
  hold(ids: readonly string[], expiry: number): void {
    this.flush();
    this._write(IdKind.held, expiry, ids);
  }

  /** Write what append() and release() noted. Synchronous: once it returns, a SIGKILL cannot lose it. */
  flush(): void {
    this._flushQueued = false;
    const now = Date.now();
    if (this._delivered.length > 0) this._write(IdKind.delivered, now, this._delivered.splice(0));
    if (this._released.length > 0) this._write(IdKind.released, now, this._released.splice(0));
  }

  private _queueFlush(): void {
    if (!this._flushQueued) {
      this._flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private _write(kind: IdKind, time: number, ids: readonly string[]): void {
    if (this._fd < 0 || ids.length === 0) return;
    if (Date.now() - this._segmentStart > this._segmentMillis || this._segmentIds >= this._segmentMaxIds) {
      try {
        this._rotate();
      } catch (error) {
        this._reportWriteFailure(error); // keep appending to the current segment
      }
    }
    let size = HEADER;
    const lengths = ids.map((id) => Buffer.byteLength(id));
    let count = 0;
    for (const length of lengths) {
      if (length <= MAX_ID_BYTES) {
        size += 2 + length;
        count++;
      }
    }
    const record = Buffer.allocUnsafe(size);
    record.writeUInt32LE(size - 4, 0);
    record.writeDoubleLE(time, 4);
    record.writeUInt32LE(count, 12);
    record.writeUInt8(kind, 16);
    let at = HEADER;
    for (let i = 0; i < ids.length; i++) {
      if (lengths[i]! > MAX_ID_BYTES) continue;
      record.writeUInt16LE(lengths[i]!, at);
      at += 2 + record.write(ids[i]!, at + 2, 'utf8');
    }
    this._segmentIds += count;
    try {
      writeSync(this._fd, record);
    } catch (error) {
      this._reportWriteFailure(error);
    }
  }

  /** Duplicate removal falls back to memory; delivery itself is not affected. Said once. */
  private _reportWriteFailure(error: unknown): void {
    if (!this._writeFailed) this._log.error(`cannot write to the dedupe directory ${this._dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; until it can, duplicates are removed in memory only`);
    this._writeFailed = true;
  }

  /** Read what other processes (instances, or this one before a restart) have written since last time. */
  catchUp(): void {
    const now = Date.now();
    let names: string[];
    try {
      names = readdirSync(this._dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (!name.endsWith(SUFFIX) || name === this._segment || this._peers.has(name)) continue;
      try {
        this._peers.set(name, { fd: openSync(join(this._dir, name), 'r'), offset: 0, partial: undefined, broken: false });
      } catch {
        // Deleted meanwhile by another instance's sweep.
      }
    }
    const sweep = now >= this._nextSweep;
    if (sweep) this._nextSweep = now + Math.min(60_000, this._segmentMillis);
    for (const [name, file] of this._peers) {
      let stat;
      try {
        stat = fstatSync(file.fd);
      } catch {
        continue;
      }
      if (stat.size > file.offset && !file.broken) this._read(name, file, stat.size);
      // Everything in a file last written before the window is of no use any more.
      if (sweep && now - stat.mtimeMs > this._windowMillis + this._segmentMillis) this._delete(name);
    }
  }

  close(): void {
    this.flush();
    if (this._fd >= 0) closeSync(this._fd);
    this._fd = -1;
    for (const file of this._peers.values()) closeSync(file.fd);
    this._peers.clear();
  }

  /** Segments are rotated at half the window, so whole files can be deleted once out of it. */
  private get _segmentMillis(): number {
    return Math.max(1000, Math.floor(this._windowMillis / 2));
  }

  /** ...and at a quarter of the entries kept in memory, so files beyond those can go too. */
  private get _segmentMaxIds(): number {
    return Math.max(1000, Math.ceil(this._maxEntries / 4));
  }

  private _delete(name: string): void {
    const file = this._peers.get(name);
    if (file) closeSync(file.fd);
    this._peers.delete(name);
    try {
      unlinkSync(join(this._dir, name));
    } catch {
      // Another instance removed it first.
    }
  }

  /** Start a new segment; the new file is opened before the old one is let go, so a failure changes nothing. */
  private _rotate(): void {
    const start = Date.now();
    // Names sort in creation order (time, then this process's sequence), so files load oldest first.
    const name = `${start}-${process.pid}-${String(this._sequence++).padStart(6, '0')}-${randomBytes(4).toString('hex')}${SUFFIX}`;
    const fd = openSync(join(this._dir, name), 'a', 0o600);
    if (this._fd >= 0) {
      closeSync(this._fd);
      // Our old segment is swept like anyone else's; its ids are already in memory.
      const old = this._segment;
      try {
        const readFd = openSync(join(this._dir, old), 'r');
        this._peers.set(old, { fd: readFd, offset: fstatSync(readFd).size, partial: undefined, broken: false });
      } catch {
        // Already swept.
      }
      // Memory keeps only the newest maxEntries ids: older files would never be consulted.
      this._ownClosed.push({ name: old, ids: this._segmentIds });
      let newer = this._ownClosed.reduce((sum, segment) => sum + segment.ids, 0);
      while (this._ownClosed.length > 0 && newer - this._ownClosed[0]!.ids >= this._maxEntries) {
        const oldest = this._ownClosed.shift()!;
        newer -= oldest.ids;
        this._delete(oldest.name);
      }
    }
    this._fd = fd;
    this._segment = name;
    this._segmentStart = start;
    this._segmentIds = 0;
  }

  private _read(name: string, file: PeerFile, size: number): void {
    while (file.offset < size && !file.broken) {
      const fresh = Buffer.allocUnsafe(Math.min(size - file.offset, READ_CHUNK));
      const read = readSync(file.fd, fresh, 0, fresh.length, file.offset);
      if (read === 0) return;
      file.offset += read;
      this._parse(name, file, fresh.subarray(0, read));
    }
  }

  private _parse(name: string, file: PeerFile, fresh: Buffer): void {
    let data = fresh;
    if (file.partial) data = Buffer.concat([file.partial, data]);
    const now = Date.now();
    const cutoff = now - this._windowMillis;
    let at = 0;
    while (data.length - at >= 4) {
      const length = data.readUInt32LE(at);
      if (length < HEADER - 4 || length > MAX_RECORD || (data.length - at >= HEADER && data.readUInt8(at + 16) > IdKind.released)) {
        file.broken = true;
        this._log.warn(`dedupe file ${name} is corrupt at byte ${file.offset - data.length + at}; ignoring the rest of it`);
        break;
      }
      if (data.length - at < 4 + length) break;
      const end = at + 4 + length;
      const time = data.readDoubleLE(at + 4);
      const count = data.readUInt32LE(at + 12);
      const kind = data.readUInt8(at + 16) as IdKind;
      // Delivered and released ids matter within the window; held ones until their expiry.
      const current = kind === IdKind.held ? time > now : time >= cutoff;
      let p = at + HEADER;
      for (let i = 0; current && i < count && p + 2 <= end; i++) {
        const idLength = data.readUInt16LE(p);
        if (p + 2 + idLength > end) break;
        this._remember(kind, data.toString('utf8', p + 2, p + 2 + idLength), time);
        p += 2 + idLength;
      }
      at = end;
    }
    file.partial = !file.broken && at < data.length ? Buffer.from(data.subarray(at)) : undefined;
  }
}
