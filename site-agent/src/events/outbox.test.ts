import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { ManualClock } from '@ccfed/common';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, tableCrc32 } from './outbox-record.js';
import {
  Outbox,
  OutboxError,
  OutboxFullError,
  OutboxRecordError,
  type OutboxOptions,
  type OutboxRecord,
} from './outbox.js';

const dirs: string[] = [];
const open: Outbox[] = [];

afterEach(() => {
  for (const o of open.splice(0)) o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ccfed-outbox-'));
  dirs.push(dir);
  return dir;
}

/** A logger whose lines the test can read. */
function capture(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, lines };
}

function openOutbox(dir: string, opts: Partial<OutboxOptions> = {}): Outbox {
  const outbox = Outbox.open({ dir, log: capture().log, ...opts });
  open.push(outbox);
  return outbox;
}

/** Closes an outbox the test opened, as a graceful stop of the site agent does. */
function closeOutbox(outbox: Outbox): void {
  open.splice(open.indexOf(outbox), 1);
  outbox.close();
}

function record(key: string, n: number, topic = 'ccfed.call-events'): OutboxRecord {
  return {
    topic,
    key,
    value: Buffer.from(`${key}#${n}`),
    headers: { 'ccfed-type': 'ccfed.events.v1.CallEvent', seq: String(n) },
  };
}

const everything = { maxRecords: Number.MAX_SAFE_INTEGER, maxBytes: 64 * 1024 * 1024 };

function readAll(outbox: Outbox): string[] {
  return outbox.read(everything).records.map((r) => r.value.toString());
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg') && f !== 'rejected.seg')
    .sort()
    .map((f) => join(dir, f));
}

describe('Outbox', () => {
  it('gives records back in append order, with their offsets, keys, headers and append time', () => {
    const clock = new ManualClock(Date.parse('2026-11-22T09:30:00Z'));
    const outbox = openOutbox(tempDir(), { clock });
    for (let n = 0; n < 300; n++) {
      expect(outbox.append(record(`call-${n % 7}`, n, n % 2 ? 'a.call-events' : 'a.agents'))).toBe(
        n,
      );
      clock.advance(3);
    }
    expect(outbox.pending).toBe(300);
    const seen: number[] = [];
    for (;;) {
      const batch = outbox.read({ maxRecords: 64, maxBytes: 1 << 20 });
      if (batch.records.length === 0) break;
      for (const r of batch.records) {
        seen.push(r.offset);
        expect(r).toMatchObject({
          topic: r.offset % 2 ? 'a.call-events' : 'a.agents',
          key: `call-${r.offset % 7}`,
          headers: { 'ccfed-type': 'ccfed.events.v1.CallEvent', seq: String(r.offset) },
          timestamp: Date.parse('2026-11-22T09:30:00Z') + 3 * r.offset,
        });
        expect(r.value.toString()).toBe(`call-${r.offset % 7}#${r.offset}`);
      }
      outbox.acknowledge(batch);
    }
    expect(seen).toEqual([...Array(300).keys()]);
    expect(outbox.pending).toBe(0);
  });

  it('gives the same batch again until it is acknowledged, and limits batches by count and bytes', () => {
    const outbox = openOutbox(tempDir());
    for (let n = 0; n < 10; n++) outbox.append(record('k', n));
    const first = outbox.read({ maxRecords: 4, maxBytes: 1 << 20 });
    expect(outbox.read({ maxRecords: 4, maxBytes: 1 << 20 }).records).toEqual(first.records);
    expect(first.records.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    const frameBytes = first.bytes / 4;
    expect(outbox.read({ maxRecords: 100, maxBytes: frameBytes * 3 + 1 }).records).toHaveLength(3);
    outbox.acknowledge(first);
    expect(outbox.read({ maxRecords: 2, maxBytes: 1 << 20 }).records.map((r) => r.offset)).toEqual([
      4, 5,
    ]);
    expect(() => outbox.acknowledge(first)).toThrow(
      'acknowledge out of order: batch starts at offset 0, the outbox head is at 4',
    );
  });

  it('reads a record larger than the batch byte limit on its own', () => {
    const outbox = openOutbox(tempDir());
    outbox.append(record('small', 0));
    outbox.append({ ...record('big', 1), value: Buffer.alloc(100_000, 1) });
    outbox.append(record('small', 2));
    const first = outbox.read({ maxRecords: 10, maxBytes: 4096 });
    expect(first.records.map((r) => r.offset)).toEqual([0]);
    outbox.acknowledge(first);
    const big = outbox.read({ maxRecords: 10, maxBytes: 4096 });
    expect(big.records.map((r) => r.value.length)).toEqual([100_000]);
    outbox.acknowledge(big);
    expect(outbox.read({ maxRecords: 10, maxBytes: 4096 }).records.map((r) => r.offset)).toEqual([
      2,
    ]);
  });

  it('resumes after a restart from the first unacknowledged record, and numbers on from the last', () => {
    const dir = tempDir();
    const first = openOutbox(dir);
    for (let n = 0; n < 10; n++) first.append(record('k', n));
    first.acknowledge(first.read({ maxRecords: 4, maxBytes: 1 << 20 }));
    closeOutbox(first);

    const again = openOutbox(dir);
    expect(again.pending).toBe(6);
    expect(again.append(record('k', 10))).toBe(10);
    expect(readAll(again)).toEqual([4, 5, 6, 7, 8, 9, 10].map((n) => `k#${n}`));
  });

  it('loses nothing and resends nothing acknowledged when the process dies without closing', () => {
    const dir = tempDir();
    const outbox = openOutbox(dir, { syncIntervalMs: 60_000 });
    for (let n = 0; n < 50; n++) outbox.append(record(`k${n % 3}`, n));
    outbox.acknowledge(outbox.read({ maxRecords: 20, maxBytes: 1 << 20 }));
    outbox.append(record('k9', 50));
    // What is on disk at this instant is what a crash leaves behind: copy it, as is, with the
    // lock file of a process that is no longer there.
    const crashed = tempDir();
    cpSync(dir, crashed, { recursive: true });

    const after = openOutbox(crashed);
    expect(after.pending).toBe(31);
    expect(readAll(after)[0]).toBe('k2#20');
    expect(readAll(after).at(-1)).toBe('k9#50');
  });

  it('drops a record torn by a crash in the middle of its write, with a warning, and appends after it', () => {
    const dir = tempDir();
    const outbox = openOutbox(dir);
    for (let n = 0; n < 5; n++) outbox.append(record('k', n));
    closeOutbox(outbox);
    const [segment] = segmentFiles(dir);
    truncateSync(segment!, statSync(segment!).size - 7);

    const { log, lines } = capture();
    const again = Outbox.open({ dir, log });
    open.push(again);
    expect(again.pending).toBe(4);
    expect(again.stats().droppedBytes).toBeGreaterThan(0);
    expect(lines).toContainEqual(
      expect.objectContaining({
        event: 'outbox_torn_tail_dropped',
        level: 40,
        reason: 'incomplete',
      }),
    );
    expect(again.append(record('k', 99))).toBe(4);
    expect(readAll(again)).toEqual(['k#0', 'k#1', 'k#2', 'k#3', 'k#99']);
  });

  it.each([
    ['zeros, as a power loss can leave', () => Buffer.alloc(300)],
    ['random bytes', () => Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) % 256))],
    [
      'a plausible length with a wrong CRC',
      () => {
        const frame = encodeFrame(record('k', 5), 5, 0, 1 << 20);
        frame[frame.length - 1]! ^= 0xff;
        return frame;
      },
    ],
    [
      'a valid record that belongs at another offset',
      () => encodeFrame(record('k', 77), 77, 0, 1 << 20),
    ],
    ['a header claiming 4 GB', () => Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5])],
  ])('never takes %s after the last record for a record', (_what, garbage) => {
    const dir = tempDir();
    const outbox = openOutbox(dir);
    for (let n = 0; n < 5; n++) outbox.append(record('k', n));
    closeOutbox(outbox);
    const [segment] = segmentFiles(dir);
    const validBytes = statSync(segment!).size;
    appendFileSync(segment!, garbage());

    const again = openOutbox(dir);
    expect(readAll(again)).toEqual(['k#0', 'k#1', 'k#2', 'k#3', 'k#4']);
    expect(statSync(segment!).size).toBe(validBytes);
  });

  it('keeps the later segments when an earlier one is damaged, and says so as an error', () => {
    const dir = tempDir();
    const outbox = openOutbox(dir, { maxBytes: 1 << 20, segmentBytes: 2048, maxRecordBytes: 1024 });
    for (let n = 0; n < 100; n++) outbox.append(record('k', n));
    closeOutbox(outbox);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    const bytes = readFileSync(files[1]!);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x55;
    writeFileSync(files[1]!, bytes);

    const { log, lines } = capture();
    const again = Outbox.open({
      dir,
      log,
      maxBytes: 1 << 20,
      segmentBytes: 2048,
      maxRecordBytes: 1024,
    });
    open.push(again);
    const values = readAllAcrossSegments(again);
    expect(lines).toContainEqual(
      expect.objectContaining({ event: 'outbox_segment_corrupt', level: 50, file: files[1] }),
    );
    // Everything before the damage and every later segment survive, still in order.
    const offsets = values.map((v) => Number(v.split('#')[1]));
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(offsets.at(-1)).toBe(99);
    const lost = 100 - offsets.length;
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThan(bytes.length / 40);
  });

  it('deletes acknowledged segments, so steady traffic keeps the disk small', () => {
    const dir = tempDir();
    const outbox = openOutbox(dir, {
      maxBytes: 64 * 1024,
      segmentBytes: 4096,
      maxRecordBytes: 1024,
    });
    for (let n = 0; n < 5000; n++) {
      outbox.append(record(`k${n % 50}`, n));
      if (n % 10 === 9) readAllAcrossSegments(outbox);
    }
    expect(segmentFiles(dir).length).toBeLessThanOrEqual(2);
    expect(outbox.stats().bytes).toBeLessThanOrEqual(2 * 4096);
    expect(outbox.pending).toBe(0);
  });

  it('refuses new events when full, logging once per episode, and accepts again after delivery', () => {
    const clock = new ManualClock(0);
    const { log, lines } = capture();
    const dir = tempDir();
    const outbox = Outbox.open({
      dir,
      log,
      clock,
      maxBytes: 16 * 1024,
      segmentBytes: 4096,
      maxRecordBytes: 1024,
    });
    open.push(outbox);
    let accepted = 0;
    for (;;) {
      try {
        outbox.append(record('k', accepted));
        accepted += 1;
      } catch (err) {
        expect(err).toBeInstanceOf(OutboxFullError);
        expect((err as Error).message).toMatch(
          /^event outbox .* is full \(\d+ of 16384 bytes, \d+ events not yet in Kafka\): refused \d+ bytes for ccfed.call-events$/,
        );
        break;
      }
    }
    expect(outbox.stats().bytes).toBeLessThanOrEqual(16 * 1024);
    for (let i = 0; i < 5; i++)
      expect(() => outbox.append(record('k', -1))).toThrow(OutboxFullError);
    clock.advance(10_000);
    expect(() => outbox.append(record('k', -1))).toThrow(OutboxFullError);
    const fullLines = lines.filter((l) => l.event === 'outbox_full');
    expect(fullLines).toHaveLength(2);
    expect(fullLines[1]).toMatchObject({ level: 50, refused: 7, maxBytes: 16384 });
    expect(outbox.stats().refused).toBe(7);

    // What was accepted is intact; once Kafka takes it, there is room again.
    const values = readAllAcrossSegments(outbox);
    expect(values).toEqual([...Array(accepted).keys()].map((n) => `k#${n}`));
    expect(outbox.append(record('k', accepted))).toBe(accepted);
    expect(lines).toContainEqual(
      expect.objectContaining({ event: 'outbox_accepting_again', refused: 7 }),
    );
  });

  it.each([
    ['an empty topic', { topic: '' }, /topic "" is not a Kafka topic name/],
    ['a topic with a space', { topic: 'has space' }, /topic "has space" is not a Kafka topic name/],
    ['a topic over 249 characters', { topic: 'x'.repeat(250) }, /is not a Kafka topic name/],
    ['a null key', { key: null }, /the key for topic ccfed.call-events must be a string/],
    ['a string value', { value: 'text' }, /must be bytes/],
    [
      'a header without a name',
      { headers: { '': 'v' } },
      /header "" for topic ccfed.call-events needs a name/,
    ],
    [
      'a record over maxRecordBytes',
      { value: Buffer.alloc(2000) },
      /outbox record refused: \d+ bytes for topic ccfed.call-events key "k" exceed the limit of 1024 bytes per record/,
    ],
  ])('refuses %s with a clear error and stores nothing', (_what, bad, message) => {
    const outbox = openOutbox(tempDir(), { maxRecordBytes: 1024 });
    const err = (() => {
      try {
        outbox.append({ ...record('k', 0), ...(bad as object) } as OutboxRecord);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(OutboxRecordError);
    expect((err as Error).message).toMatch(message);
    expect(outbox.pending).toBe(0);
    expect(outbox.append(record('k', 1))).toBe(0);
  });

  it('refuses invalid options and a second opener of the same directory', () => {
    const dir = tempDir();
    expect(() => openOutbox(dir, { maxBytes: 1000, segmentBytes: 4096 })).toThrow(
      /invalid outbox options: .*maxBytes \(1000\) must be at least segmentBytes \(4096\)/,
    );
    expect(() => openOutbox(dir, { syncIntervalMs: -1 })).toThrow(
      /syncIntervalMs must be 0 or more/,
    );
    openOutbox(dir);
    expect(() => openOutbox(dir)).toThrow(/is already open in this process/);
  });

  it('refuses a directory locked by another live process, and takes over a dead one', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'outbox.lock'), `${process.ppid}\n`);
    expect(() => openOutbox(dir)).toThrow(
      new RegExp(`is in use by process ${process.ppid} \\(lock file .*outbox.lock\\)`),
    );
    writeFileSync(join(dir, 'outbox.lock'), '99999999\n');
    expect(openOutbox(dir).pending).toBe(0);
  });

  it('never reuses an acknowledged offset when a power loss shortened the tail', () => {
    const dir = tempDir();
    const outbox = openOutbox(dir);
    for (let n = 0; n < 10; n++) outbox.append(record('k', n));
    outbox.acknowledge(outbox.read(everything));
    closeOutbox(outbox);
    // The records were sent and acknowledged, but their bytes never reached the disk.
    const [segment] = segmentFiles(dir);
    truncateSync(segment!, statSync(segment!).size / 2);

    const again = openOutbox(dir);
    expect(again.pending).toBe(0);
    expect(again.append(record('k', 10))).toBe(10);
    expect(readAll(again)).toEqual(['k#10']);
  });

  it('falls back to the previous committed offset when the latest slot is torn', () => {
    const dir = tempDir();
    const outbox = openOutbox(dir);
    for (let n = 0; n < 10; n++) outbox.append(record('k', n));
    outbox.acknowledge(outbox.read({ maxRecords: 3, maxBytes: 1 << 20 }));
    outbox.acknowledge(outbox.read({ maxRecords: 3, maxBytes: 1 << 20 }));
    closeOutbox(outbox);
    // Open wrote offset 0, then 3 and 6 followed in alternating slots; the close wrote nothing.
    const committed = readFileSync(join(dir, 'committed'));
    const newest = committed.readBigUInt64LE(0) === 6n ? 0 : 16;
    committed[newest + 3]! ^= 0x10;
    writeFileSync(join(dir, 'committed'), committed);

    const again = openOutbox(dir);
    expect(readAll(again)[0]).toBe('k#3');
  });

  it('resends everything on disk, with a warning, when the committed offset is unreadable', () => {
    const dir = tempDir();
    const outbox = openOutbox(dir);
    for (let n = 0; n < 4; n++) outbox.append(record('k', n));
    outbox.acknowledge(outbox.read({ maxRecords: 2, maxBytes: 1 << 20 }));
    closeOutbox(outbox);
    writeFileSync(join(dir, 'committed'), 'garbage');

    const { log, lines } = capture();
    const again = Outbox.open({ dir, log });
    open.push(again);
    expect(readAll(again)).toEqual(['k#0', 'k#1', 'k#2', 'k#3']);
    expect(lines).toContainEqual(expect.objectContaining({ event: 'outbox_commit_unreadable' }));
  });

  it('moves a quarantined record to rejected.seg and goes on with the next', () => {
    const dir = tempDir();
    const outbox = openOutbox(dir);
    for (let n = 0; n < 3; n++) outbox.append(record('k', n));
    outbox.quarantine(outbox.read({ maxRecords: 1, maxBytes: 1 << 20 }));
    expect(readAll(outbox)).toEqual(['k#1', 'k#2']);
    expect(readFileSync(join(dir, 'rejected.seg')).includes('k#0')).toBe(true);
  });

  it('wakes a waiting reader at the next append, and refuses use after close', async () => {
    const outbox = openOutbox(tempDir());
    const woken = outbox.whenAppended();
    outbox.append(record('k', 0));
    await woken;
    closeOutbox(outbox);
    await outbox.whenAppended();
    expect(() => outbox.append(record('k', 1))).toThrow(OutboxError);
    expect(() => outbox.append(record('k', 1))).toThrow(/is closed/);
  });

  it('computes the same CRC-32 as zlib with its fallback for older Node 20 releases', () => {
    for (const text of ['', 'a', '123456789', 'ccfed outbox '.repeat(100)]) {
      expect(tableCrc32(Buffer.from(text))).toBe(zlib.crc32(Buffer.from(text)));
    }
    expect(tableCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

/** Reads and acknowledges until the outbox is empty (batches end at segment boundaries). */
function readAllAcrossSegments(outbox: Outbox): string[] {
  const values: string[] = [];
  for (;;) {
    const batch = outbox.read(everything);
    if (batch.records.length === 0) return values;
    values.push(...batch.records.map((r) => r.value.toString()));
    outbox.acknowledge(batch);
  }
}
