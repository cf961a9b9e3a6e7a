// The outbox's files beneath the log: segment files and their recovery after a crash, the
// committed-offset file, and the directory lock. Only outbox.ts uses these.
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { crc32, decodeFrame, OutboxError } from './outbox-record.js';

/** One segment file: records with consecutive offsets from `base`. */
export interface Segment {
  /** Offset of the segment's first record; also its file name. */
  readonly base: number;
  readonly path: string;
  /** Valid records in the file. */
  count: number;
  /** Bytes of valid records; the file is never longer than this. */
  size: number;
  readFd?: number;
}

/** A record's place: its segment, its byte position there, its offset. */
export interface SegmentCursor {
  readonly segment: Segment;
  readonly position: number;
  readonly offset: number;
}

const SEGMENT_NAME = /^(\d{20})\.seg$/;
const COMMIT_FILE = 'committed';
const COMMIT_SLOT_BYTES = 16;
const COMMIT_MAGIC = 0x0ccf0b0c;
const LOCK_FILE = 'outbox.lock';

/** Creates (or reuses, if a failed roll left it empty) the segment file for `base`, open for appending. */
export function createSegment(dir: string, base: number): { segment: Segment; fd: number } {
  const path = join(dir, `${String(base).padStart(20, '0')}.seg`);
  const fd = openSync(path, 'a');
  try {
    syncDirectory(dir);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return { segment: { base, path, count: 0, size: 0 }, fd };
}

export interface RecoveredSegments {
  /** Valid segments in offset order, each truncated to its last whole record. */
  readonly segments: Segment[];
  /** The first record at or after the committed offset, if any is left. */
  readonly head: SegmentCursor | undefined;
  readonly droppedBytes: number;
}

/**
 * What the segment files in `dir` hold after a stop or a crash. Segments wholly before the
 * committed offset are deleted; every other one is read frame by frame and cut at its first bad
 * frame, so that nothing after a torn write or damage is ever taken for a record.
 */
export function recoverSegments(
  dir: string,
  committed: number | undefined,
  maxRecordBytes: number,
  log: Logger,
): RecoveredSegments {
  const files = readdirSync(dir)
    .map((name) => SEGMENT_NAME.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ base: Number(m[1]), path: join(dir, m[0]) }))
    .sort((a, b) => a.base - b.base);
  const segments: Segment[] = [];
  let head: SegmentCursor | undefined;
  let droppedBytes = 0;
  for (const [i, { base, path }] of files.entries()) {
    const next = files[i + 1];
    // Every record of this segment is below the next one's base: if that is at or below the
    // committed offset, the whole segment was acknowledged and only waited to be deleted.
    if (committed !== undefined && next && next.base <= committed) {
      unlinkSync(path);
      continue;
    }
    const prev = segments[segments.length - 1];
    if (prev && base < prev.base + prev.count) {
      throw new OutboxError(
        `event outbox ${dir} is inconsistent: ${path} starts at offset ${base}, inside ${prev.path}; move the directory away to start empty`,
      );
    }
    const scanned = scanSegment(base, path, committed, maxRecordBytes);
    segments.push(scanned.segment);
    head ??= scanned.head;
    if (scanned.dropped) {
      droppedBytes += scanned.dropped.bytes;
      const fields = {
        dir,
        file: path,
        position: scanned.segment.size,
        dropped: scanned.dropped.bytes,
        reason: scanned.dropped.reason,
      };
      // Segments are forced to disk before the next one starts, so only the last can be torn
      // by a crash; a bad frame in an earlier one is damage to the disk or the file.
      if (!next) {
        log.warn(
          { event: 'outbox_torn_tail_dropped', ...fields },
          'dropped an incomplete record at the end of the event outbox (a crash during a write)',
        );
      } else {
        log.error(
          { event: 'outbox_segment_corrupt', ...fields },
          'event outbox segment is damaged; the records after the damage are lost',
        );
      }
    }
  }
  return { segments, head, droppedBytes };
}

function scanSegment(
  base: number,
  path: string,
  committed: number | undefined,
  maxRecordBytes: number,
): { segment: Segment; head?: SegmentCursor; dropped?: { bytes: number; reason: string } } {
  const bytes = readFileSync(path);
  const segment: Segment = { base, path, count: 0, size: 0 };
  let head: SegmentCursor | undefined;
  while (segment.size < bytes.length) {
    const offset = base + segment.count;
    const decoded = decodeFrame(bytes, segment.size, offset, maxRecordBytes);
    if (!decoded.ok) {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, segment.size);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return {
        segment,
        head,
        dropped: { bytes: bytes.length - segment.size, reason: decoded.reason },
      };
    }
    if (!head && (committed === undefined || offset >= committed)) {
      head = { segment, position: segment.size, offset };
    }
    segment.size += decoded.frameBytes;
    segment.count += 1;
  }
  return { segment, head };
}

/**
 * The offset of the first record Kafka has not acknowledged. It lives in one of two 16-byte
 * slots, written alternately, each with its own CRC: a write torn by a crash spoils at most one
 * slot, and the other still holds the previous value. It is not forced to disk per write (the
 * outbox's sync timer does that): after a power loss it may be a little behind, which resends a
 * few acknowledged records but loses none.
 */
export class CommitFile {
  private slot = 0;

  private constructor(readonly fd: number) {}

  /** Opens or creates the file; `committed` is undefined for a new outbox or unreadable slots. */
  static open(dir: string, log: Logger): { file: CommitFile; committed: number | undefined } {
    const path = join(dir, COMMIT_FILE);
    if (!existsSync(path)) {
      writeFileSync(path, Buffer.alloc(COMMIT_SLOT_BYTES * 2));
      syncDirectory(dir);
    }
    const file = new CommitFile(openSync(path, 'r+'));
    const bytes = readFileSync(path);
    let committed: number | undefined;
    for (let slot = 0; slot < 2; slot++) {
      const at = slot * COMMIT_SLOT_BYTES;
      if (bytes.length < at + COMMIT_SLOT_BYTES) break;
      if (bytes.readUInt32LE(at + 12) !== COMMIT_MAGIC) continue;
      if (crc32(bytes.subarray(at, at + 8)) !== bytes.readUInt32LE(at + 8)) continue;
      const offset = Number(bytes.readBigUInt64LE(at));
      if (committed === undefined || offset > committed) {
        committed = offset;
        file.slot = 1 - slot;
      }
    }
    if (committed === undefined && readdirSync(dir).some((n) => SEGMENT_NAME.test(n))) {
      log.warn(
        { event: 'outbox_commit_unreadable', dir },
        'the committed offset of the event outbox is unreadable; resending everything still on disk (some events may reach Kafka twice)',
      );
    }
    return { file, committed };
  }

  /** Records `offset` in the older slot. */
  write(offset: number): void {
    const slot = Buffer.alloc(COMMIT_SLOT_BYTES);
    slot.writeBigUInt64LE(BigInt(offset), 0);
    slot.writeUInt32LE(crc32(slot.subarray(0, 8)), 8);
    slot.writeUInt32LE(COMMIT_MAGIC, 12);
    writeSync(this.fd, slot, 0, COMMIT_SLOT_BYTES, this.slot * COMMIT_SLOT_BYTES);
    this.slot = 1 - this.slot;
  }
}

/** Directories opened by this process, so that a second open in the same process is refused. */
const lockedHere = new Set<string>();

/** One process per outbox directory: two writers would interleave frames and corrupt the log. */
export class DirectoryLock {
  private held = true;

  private constructor(private readonly dir: string) {}

  /** Takes the directory, or throws if this or another live process has it. */
  static acquire(dir: string): DirectoryLock {
    const path = join(dir, LOCK_FILE);
    if (lockedHere.has(dir)) {
      throw new OutboxError(`event outbox ${dir} is already open in this process`);
    }
    if (existsSync(path)) {
      const pid = Number(readFileSync(path, 'utf8').trim());
      // A lock left by a process that is gone (a crash) is taken over.
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new OutboxError(
          `event outbox ${dir} is in use by process ${pid} (lock file ${path}); stop that process or use another data directory`,
        );
      }
    }
    writeFileSync(path, `${process.pid}\n`);
    lockedHere.add(dir);
    return new DirectoryLock(dir);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    lockedHere.delete(this.dir);
    try {
      unlinkSync(join(this.dir, LOCK_FILE));
    } catch {
      // Already gone: nothing to release.
    }
  }
}

export function writeFully(fd: number, buf: Buffer): void {
  for (let done = 0; done < buf.length;) done += writeSync(fd, buf, done);
}

export function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Makes a new or removed file name durable: on Linux the directory needs its own fsync. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closing is the last thing done with a descriptor; there is nothing left to protect.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
