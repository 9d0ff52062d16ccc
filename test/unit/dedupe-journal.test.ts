/** The on-disk duplicate window: shared by instances, kept across restarts, robust to torn and corrupt files. */
import { appendFileSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DedupeJournal, IdKind } from '../../src/service/dedupe-journal.js';
import { DedupeWindow } from '../../src/service/dedupe-window.js';
import { captureDiag, type CapturedDiag } from '../utils/diag-capture.js';

let dir: string;
let logs: CapturedDiag;
const open: { close(): void }[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flagsync-dedupe-'));
  logs = captureDiag();
});
afterEach(() => {
  for (const o of open.splice(0)) o.close();
  logs.restore();
  rmSync(dir, { recursive: true, force: true });
});

function journal(windowMillis = 60_000, maxEntries = 100_000) {
  const seen: [IdKind, string, number][] = [];
  const j = new DedupeJournal(dir, windowMillis, maxEntries, (kind, id, time) => seen.push([kind, id, time]));
  open.push(j);
  return { j, seen, ids: () => seen.filter(([kind]) => kind === IdKind.delivered).map(([, id]) => id) };
}

/** A record as the journal writes it. */
function record(time: number, ids: string[], kind: IdKind = IdKind.delivered): Buffer {
  const parts = ids.map((id) => {
    const bytes = Buffer.from(id, 'utf8');
    const length = Buffer.alloc(2);
    length.writeUInt16LE(bytes.length);
    return Buffer.concat([length, bytes]);
  });
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(17);
  header.writeUInt32LE(13 + body.length, 0);
  header.writeDoubleLE(time, 4);
  header.writeUInt32LE(ids.length, 12);
  header.writeUInt8(kind, 16);
  return Buffer.concat([header, body]);
}

// Span ids are raw trace/span id bytes as latin1 characters; log ids are arbitrary text.
const SPAN_ID = '\x00\xff\x80abc\x7f' + String.fromCharCode(200, 201) + '#0';
const LOG_ID = 'l-trace-span-1.2-3.4-feature_flag.evaluation-call-Ω-😀';

describe('DedupeJournal', () => {
  it('hands one instance the ids another wrote, exactly, and not its own', () => {
    const a = journal();
    const b = journal();
    a.j.append(SPAN_ID);
    a.j.append(LOG_ID);
    a.j.flush();
    b.j.append('b-only');
    b.j.flush();
    b.j.catchUp();
    a.j.catchUp();
    expect(b.ids()).toEqual([SPAN_ID, LOG_ID]);
    expect(a.ids()).toEqual(['b-only']);
    // Nothing is read twice.
    b.j.catchUp();
    expect(b.ids()).toEqual([SPAN_ID, LOG_ID]);
  });

  it('writes on the next microtask without an explicit flush', async () => {
    const a = journal();
    const b = journal();
    a.j.append('x1');
    await Promise.resolve();
    b.j.catchUp();
    expect(b.ids()).toEqual(['x1']);
  });

  it('a new process finds what an earlier one wrote before it was killed (never closed)', () => {
    const killed = new DedupeJournal(dir, 60_000, 100_000, () => undefined);
    killed.append('delivered-before-kill');
    killed.flush();
    const restarted = journal();
    expect(restarted.ids()).toEqual(['delivered-before-kill']);
  });

  it('waits for the rest of a record being written, and ignores a corrupt file', () => {
    const full = record(Date.now(), ['torn-1', 'torn-2']);
    writeFileSync(join(dir, '1-torn.ids'), full.subarray(0, 22));
    writeFileSync(join(dir, '2-garbage.ids'), Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    const reader = journal();
    expect(reader.ids()).toEqual([]);
    appendFileSync(join(dir, '1-torn.ids'), full.subarray(22));
    reader.j.catchUp();
    expect(reader.ids()).toEqual(['torn-1', 'torn-2']);
    expect(logs.lines.filter((l) => l.level === 'warn').map((l) => l.text)).toEqual([expect.stringContaining('dedupe file 2-garbage.ids is corrupt at byte 0')]);
  });

  it('skips ids older than the window and deletes files nobody needs any more', () => {
    const now = Date.now();
    writeFileSync(join(dir, '1-old.ids'), Buffer.concat([record(now - 120_000, ['stale']), record(now - 1_000, ['recent'])]));
    writeFileSync(join(dir, '2-expired.ids'), record(now - 600_000, ['expired']));
    const old = (now - 600_000) / 1000;
    utimesSync(join(dir, '2-expired.ids'), old, old);
    const reader = journal(60_000);
    expect(reader.ids()).toEqual(['recent']);
    expect(readdirSync(dir).sort()).not.toContain('2-expired.ids');
    expect(readdirSync(dir)).toContain('1-old.ids');
  });

  it('rotates its own segment and does not read its own ids back', async () => {
    const a = journal(2000); // segments of 1 s
    a.j.append('first');
    a.j.flush();
    await new Promise((r) => setTimeout(r, 1100));
    a.j.append('second');
    a.j.flush();
    a.j.catchUp();
    expect(readdirSync(dir).filter((n) => n.endsWith('.ids'))).toHaveLength(2);
    expect(a.ids()).toEqual([]);
    const b = journal(2000);
    expect(b.ids()).toEqual(['first', 'second']);
  });

  it('keeps on disk only about as many ids as memory does (maxEntries), deleting its oldest segments', () => {
    const a = journal(600_000, 4000); // segments of at most 1000 ids
    for (let batch = 0; batch < 7; batch++) {
      for (let i = 0; i < 1000; i++) a.j.append(`id-${batch * 1000 + i}`);
      a.j.flush();
    }
    expect(readdirSync(dir).filter((n) => n.endsWith('.ids'))).toHaveLength(5);
    const reader = journal(600_000, 4000);
    expect(reader.ids()).toEqual(Array.from({ length: 5000 }, (_, i) => `id-${2000 + i}`));
  });

  it('reads a large file in chunks', () => {
    const big = Array.from({ length: 40 }, (_, r) => record(Date.now(), Array.from({ length: 1000 }, (_, i) => `${r}-${i}-${'x'.repeat(200)}`)));
    writeFileSync(join(dir, '1-big.ids'), Buffer.concat(big)); // about 8.6 MB: more than one chunk
    expect(journal().ids()).toHaveLength(40_000);
  });

  it('passes on held ids until their expiry, then releases and deliveries', () => {
    const a = journal();
    const b = journal();
    a.j.hold(['h1', 'h2'], Date.now() + 60_000);
    a.j.hold(['expired'], Date.now() - 1);
    b.j.catchUp();
    expect(b.seen.map(([kind, id]) => [kind, id])).toEqual([
      [IdKind.held, 'h1'],
      [IdKind.held, 'h2'],
    ]);
    a.j.append('h1');
    a.j.release('h2');
    a.j.flush();
    b.j.catchUp();
    expect(b.seen.slice(2).map(([kind, id]) => [kind, id])).toEqual([
      [IdKind.delivered, 'h1'],
      [IdKind.released, 'h2'],
    ]);
  });

  it('keeps ids too long for the file in memory only', () => {
    const a = journal();
    a.j.append('x'.repeat(70_000));
    a.j.append('short');
    a.j.flush();
    expect(journal().ids()).toEqual(['short']);
  });

  it('a directory that goes away is reported once and never throws into request handling', async () => {
    const a = journal(2000); // segments of 1 s
    rmSync(dir, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 3; i++) {
      a.j.append(`after-${i}`);
      expect(() => a.j.flush()).not.toThrow();
      expect(() => a.j.catchUp()).not.toThrow();
    }
    expect(logs.lines.filter((l) => l.level === 'error').map((l) => l.text)).toEqual([expect.stringContaining('cannot write to the dedupe directory')]);
  });

  it('names the setting when the directory cannot be created', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(() => new DedupeJournal(join(file, 'sub'), 1000, 1000, () => undefined)).toThrow(/cannot create the dedupe directory .*FLAGSYNC_SERVICE_DEDUPE_DIR.*ENOTDIR/);
  });
});

describe('DedupeWindow with a directory', () => {
  it('ids one window holds are held elsewhere for a peer, until delivered, released, or expired', async () => {
    const holder = new DedupeWindow(60_000, 1000, dir);
    const peer = new DedupeWindow(60_000, 1000, dir);
    open.push(holder, peer);
    for (const id of ['d', 'r', 'x']) holder.begin(id, new Promise<void>(() => undefined));
    holder.hold(['d', 'r'], Date.now() + 60_000);
    holder.hold(['x'], Date.now() + 50);
    peer.sync();
    expect(['d', 'r', 'x'].map((id) => peer.heldElsewhere(id))).toEqual([true, true, true]);
    holder.settle('d', true);
    holder.settle('r', false);
    holder.persist();
    peer.sync();
    expect(peer.heldElsewhere('d')).toBe(false);
    expect(peer.lookup('d')).toBe(true);
    expect(peer.heldElsewhere('r')).toBe(false);
    expect(peer.lookup('r')).toBeUndefined();
    // A holder that dies leaves a claim that expires.
    await new Promise((r) => setTimeout(r, 100));
    expect(peer.heldElsewhere('x')).toBe(false);
  });

  it('without a directory, hold() does nothing', () => {
    const w = new DedupeWindow(60_000, 1000);
    w.hold(['a'], Date.now() + 1000);
    expect(w.heldElsewhere('a')).toBe(false);
  });

  it('a delivered id is known to a window opened later and to one that syncs', () => {
    const first = new DedupeWindow(60_000, 1000, dir);
    const peer = new DedupeWindow(60_000, 1000, dir);
    open.push(first, peer);
    first.begin('id-1', Promise.resolve());
    first.settle('id-1', true);
    first.begin('id-2', Promise.resolve());
    first.settle('id-2', false); // not delivered: must not be remembered anywhere
    first.persist();
    peer.sync();
    expect(peer.lookup('id-1')).toBe(true);
    expect(peer.lookup('id-2')).toBeUndefined();
    const restarted = new DedupeWindow(60_000, 1000, dir);
    open.push(restarted);
    expect(restarted.lookup('id-1')).toBe(true);
    expect(restarted.lookup('id-2')).toBeUndefined();
  });

  it('an id being delivered here is not overridden by a peer', () => {
    const here = new DedupeWindow(60_000, 1000, dir);
    const peer = new DedupeWindow(60_000, 1000, dir);
    open.push(here, peer);
    const settled = new Promise<void>(() => undefined);
    here.begin('same', settled);
    peer.begin('same', Promise.resolve());
    peer.settle('same', true);
    peer.persist();
    here.sync();
    expect(here.lookup('same')).toBe(settled);
  });
});
