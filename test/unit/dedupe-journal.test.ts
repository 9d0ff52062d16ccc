/** The service's on-disk duplicate window: kept across restarts and kills, robust to torn and corrupt files. */
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DedupeJournal } from '../../src/service/dedupe-journal.js';
import { DedupeWindow } from '../../src/service/dedupe-window.js';
import { RequestIdentities } from '../../src/otlp/event-identity.js';
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

/** A journal opened on the directory, as at a service's start: what it read back, in order. */
function journal(windowMillis = 60_000, maxEntries = 100_000) {
  const ids: string[] = [];
  const j = new DedupeJournal(dir, windowMillis, maxEntries, (id) => ids.push(id));
  open.push(j);
  return { j, ids };
}

/** A record as the journal writes it. */
function record(time: number, ids: string[]): Buffer {
  const body = Buffer.concat(
    ids.map((id) => Buffer.concat([Buffer.from([Buffer.byteLength(id)]), Buffer.from(id, 'utf8')])),
  );
  const header = Buffer.alloc(16);
  header.writeUInt32LE(12 + body.length, 0);
  header.writeDoubleLE(time, 4);
  header.writeUInt32LE(ids.length, 12);
  return Buffer.concat([header, body]);
}

const segments = () => readdirSync(dir).filter((n) => n.endsWith('.ids'));

// Identities as the decoders make them: span events carry raw id bytes as latin1 characters.
const identities = new RequestIdentities();
const SPAN_ID = identities.spanEvent('\x00\xff\x80abc\x7f\xc8\xc9ABCDEFG', '\x01\x02\x03\x04\x05\x06\x07\x08', 3)!;
const LOG_ID = identities.logRecord('', '', '1.2', '3.4', 'feature_flag.evaluation', { 'flagsync.call_id': 'n.1' });

describe('DedupeJournal', () => {
  it('a new process finds, exactly, what an earlier one wrote before it was killed (never closed)', () => {
    const killed = new DedupeJournal(dir, 60_000, 100_000, () => undefined);
    killed.append(SPAN_ID);
    killed.append(LOG_ID);
    killed.flush();
    expect(journal().ids).toEqual([SPAN_ID, LOG_ID]);
  });

  it('writes on the next microtask without an explicit flush', async () => {
    const a = new DedupeJournal(dir, 60_000, 100_000, () => undefined);
    a.append('x1');
    await Promise.resolve();
    expect(journal().ids).toEqual(['x1']);
    a.close();
  });

  it('reads a file up to a torn last record (a kill mid-write), and ignores a corrupt one with a warning', () => {
    const whole = record(Date.now(), ['whole-1']);
    const torn = record(Date.now(), ['torn-1', 'torn-2']);
    writeFileSync(join(dir, '1-000000.ids'), Buffer.concat([whole, torn.subarray(0, 22)]));
    writeFileSync(join(dir, '2-000000.ids'), Buffer.from([1, 0, 0, 0, 1, 2, 3]));
    expect(journal().ids).toEqual(['whole-1']);
    expect(logs.lines.filter((l) => l.level === 'warn').map((l) => l.text)).toEqual([
      expect.stringContaining('dedupe file 2-000000.ids is corrupt at byte 0'),
    ]);
  });

  it('skips ids older than the window and deletes files out of it', () => {
    const now = Date.now();
    writeFileSync(
      join(dir, `${now - 120_000}-000000.ids`),
      Buffer.concat([record(now - 120_000, ['stale']), record(now - 1_000, ['recent'])]),
    );
    writeFileSync(join(dir, `${now - 600_000}-000000.ids`), record(now - 600_000, ['expired']));
    const old = (now - 600_000) / 1000;
    utimesSync(join(dir, `${now - 600_000}-000000.ids`), old, old);
    expect(journal(60_000).ids).toEqual(['recent']);
    expect(segments()).not.toContain(`${now - 600_000}-000000.ids`);
  });

  it('rotates its segment at half the window; a restart reads them all, oldest first', async () => {
    const a = journal(2000); // segments of 1 s
    a.j.append('first');
    a.j.flush();
    await new Promise((r) => setTimeout(r, 1100));
    a.j.append('second');
    a.j.flush();
    expect(segments()).toHaveLength(2);
    a.j.close();
    expect(journal(2000).ids).toEqual(['first', 'second']);
  });

  it('keeps on disk only about as many ids as memory does (maxEntries), deleting its oldest segments', () => {
    const a = journal(600_000, 4000); // segments of at most 1000 ids
    for (let batch = 0; batch < 7; batch++) {
      for (let i = 0; i < 1000; i++) a.j.append(`id-${batch * 1000 + i}`);
      a.j.flush();
    }
    expect(segments()).toHaveLength(5);
    a.j.close();
    expect(journal(600_000, 4000).ids).toEqual(Array.from({ length: 5000 }, (_, i) => `id-${2000 + i}`));
  });

  it('a directory that goes away is reported once and never throws into request handling', async () => {
    const a = journal(2000); // segments of 1 s
    rmSync(dir, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 3; i++) {
      a.j.append(`after-${i}`);
      expect(() => a.j.flush()).not.toThrow();
    }
    expect(logs.lines.filter((l) => l.level === 'error').map((l) => l.text)).toEqual([
      expect.stringContaining('cannot write to the dedupe directory'),
    ]);
  });

  it('names the setting when the directory cannot be created', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(() => new DedupeJournal(join(file, 'sub'), 1000, 1000, () => undefined)).toThrow(
      /cannot create the dedupe directory .*FLAGSYNC_SERVICE_DEDUPE_DIR.*ENOTDIR/,
    );
  });
});

describe('DedupeWindow', () => {
  it('a delivered id is known after a restart; one not delivered is not', () => {
    const first = new DedupeWindow(60_000, 1000, dir);
    first.begin('id-1', Promise.resolve());
    first.settle('id-1', true);
    first.begin('id-2', Promise.resolve());
    first.settle('id-2', false);
    first.persist();
    const restarted = new DedupeWindow(60_000, 1000, dir);
    open.push(first, restarted);
    expect(restarted.lookup('id-1')).toBe(true);
    expect(restarted.lookup('id-2')).toBeUndefined();
  });

  it('an id under way is shared: lookup returns the promise that settles it', () => {
    const w = new DedupeWindow(60_000, 1000);
    const settled = new Promise<void>(() => undefined);
    w.begin('same', settled);
    expect(w.lookup('same')).toBe(settled);
    w.settle('same', true);
    expect(w.lookup('same')).toBe(true);
  });

  it('keeps at most maxEntries delivered ids, forgetting the oldest', () => {
    const w = new DedupeWindow(60_000, 3);
    for (const id of ['a', 'b', 'c', 'd']) {
      w.begin(id, Promise.resolve());
      w.settle(id, true);
    }
    expect(w.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((id) => w.lookup(id))).toEqual([undefined, true, true, true]);
  });
});

describe('identities (event-identity.ts)', () => {
  const TRACE = 'ABCDEFGHIJKLMNOP';
  const SPAN = 'abcdefgh';

  it('span events: by span ids and index; none without valid ids', () => {
    const ids = new RequestIdentities();
    expect(ids.spanEvent(TRACE, SPAN, 0)).not.toBe(ids.spanEvent(TRACE, SPAN, 1));
    expect(ids.spanEvent(TRACE, SPAN, 0)).toBe(new RequestIdentities().spanEvent(TRACE, SPAN, 0));
    expect(ids.spanEvent('', SPAN, 0)).toBeUndefined();
    expect(ids.spanEvent('\0'.repeat(16), SPAN, 0)).toBeUndefined();
    expect(ids.spanEvent(TRACE, '\0'.repeat(8), 0)).toBeUndefined();
    expect(ids.spanEvent(TRACE.slice(1), SPAN, 0)).toBeUndefined();
  });

  it('log records: short whatever the attributes; repeats within a request numbered; by content without trace context', () => {
    const big = { 'feature_flag.key': 'f', 'feature_flag.result.value': 'x'.repeat(100_000) };
    const request = new RequestIdentities();
    const first = request.logRecord(TRACE, SPAN, '1.2', '1.2', 'feature_flag.evaluation', big)!;
    const repeat = request.logRecord(TRACE, SPAN, '1.2', '1.2', 'feature_flag.evaluation', big)!;
    expect(first.length).toBeLessThan(30);
    expect(repeat).toBe(`${first}#1`);
    // The same request sent again: the same identities.
    const again = new RequestIdentities();
    expect([
      again.logRecord(TRACE, SPAN, '1.2', '1.2', 'feature_flag.evaluation', big),
      again.logRecord(TRACE, SPAN, '1.2', '1.2', 'feature_flag.evaluation', big),
    ]).toEqual([first, repeat]);
    expect(request.logRecord('', '', '1.2', '1.2', 'feature_flag.evaluation', big)).not.toBe(first);
    expect(
      request.logRecord('', '', '1.2', '1.2', 'feature_flag.evaluation', { ...big, 'feature_flag.key': 'g' }),
    ).not.toBe(request.logRecord('', '', '1.2', '1.2', 'feature_flag.evaluation', big));
    // Ours carry a call id: an identity even without trace context.
    expect(request.logRecord('', '', '1.2', '1.2', 'feature_flag.evaluation', { 'flagsync.call_id': 'n.7' })).toMatch(
      /^c[\w-]{22}$/,
    );
  });
});
