// The site agent's durable outbox: every event is written to local disk before anything else
// happens to it, and leaves the disk only after Kafka has acknowledged it. While Kafka is away
// the outbox grows; a restart of the site agent resumes from the first unacknowledged event.
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  unlinkSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '@ccfed/common';
import type { Logger } from 'pino';
import {
  closeQuietly,
  CommitFile,
  createSegment,
  DirectoryLock,
  readAt,
  recoverSegments,
  writeFully,
  type Segment,
  type SegmentCursor,
} from './outbox-disk.js';
import {
  decodeFrame,
  encodeFrame,
  FRAME_HEADER_BYTES,
  OutboxError,
  type OutboxRecord,
  type StoredRecord,
} from './outbox-record.js';

export { OutboxError, OutboxRecordError } from './outbox-record.js';
export type { OutboxRecord, StoredRecord } from './outbox-record.js';

/** The outbox has reached its size limit: the event was refused, not stored. */
export class OutboxFullError extends OutboxError {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxFullError';
  }
}

export interface OutboxOptions {
  /** Directory of this outbox alone; created if missing. One process may open it at a time. */
  readonly dir: string;
  readonly log: Logger;
  /**
   * Most bytes on disk (all segment files). When reached, new events are refused with
   * OutboxFullError rather than dropping old ones: an event that was accepted is never thrown
   * away. Default 1 GiB: about an hour of a busy site (1000 events/s of ~300 bytes).
   */
  readonly maxBytes?: number;
  /** Size at which a new segment file is started. Default maxBytes / 8, at most 64 MiB. */
  readonly segmentBytes?: number;
  /** Largest record accepted; Kafka's default message.max.bytes is 1 MiB. Default 512 KiB. */
  readonly maxRecordBytes?: number;
  /**
   * How often written records are forced to the disk (fdatasync), in the background. Every
   * append is written to the file before append() returns, so a crash of the process (kill -9,
   * out of memory, a bug) loses nothing; a power loss or kernel crash can lose the appends of
   * the last syncIntervalMs. 0 forces each append to disk before it returns: measured on the
   * development VM that is 1,200-7,000 appends/s, each blocking the event loop, against about
   * 150,000/s with the default. Default 100.
   */
  readonly syncIntervalMs?: number;
  readonly clock?: Clock;
}

const DEFAULTS = {
  maxBytes: 1024 * 1024 * 1024,
  maxRecordBytes: 512 * 1024,
  maxSegmentBytes: 64 * 1024 * 1024,
  syncIntervalMs: 100,
  /** While full, one error line per this many ms, with the count of refused events. */
  fullLogEveryMs: 10_000,
} as const;

/** Where in the outbox a batch ends; handed back to acknowledge(). */
export interface OutboxPosition {
  readonly segmentBase: number;
  readonly bytePosition: number;
  /** Offset of the first record after the batch. */
  readonly offset: number;
}

/** Consecutive records from the first unacknowledged one; they stay until acknowledged. */
export interface OutboxBatch {
  readonly records: readonly StoredRecord[];
  readonly bytes: number;
  readonly end: OutboxPosition;
}

export interface OutboxStats {
  /** Records appended and not yet acknowledged. */
  readonly pending: number;
  /** Bytes of all segment files, which is what maxBytes limits. */
  readonly bytes: number;
  readonly segments: number;
  /** Since open: records refused because the outbox was full. */
  readonly refused: number;
  /** Since open: bytes of torn or corrupt records found on disk and dropped. */
  readonly droppedBytes: number;
}

const REJECTED_FILE = 'rejected.seg';

/**
 * A disk-backed, append-only log of Kafka records. Records are kept in segment files named by
 * their first offset; a small `committed` file holds the offset of the first record Kafka has
 * not yet acknowledged. Segments wholly before it are deleted, so the disk holds only what is
 * still owed to Kafka, plus the acknowledged start of the segment that offset is in.
 *
 * Guarantees: an append that returned survives a crash of the process; one older than
 * syncIntervalMs also survives a power loss. A record is read until it is acknowledged, also
 * across restarts, and never after (a power loss can set the committed offset back by up to
 * syncIntervalMs, which resends those records: duplicates, never loss). A torn or damaged
 * record is dropped with a log line, never returned.
 */
export class Outbox {
  private readonly segments: Segment[] = [];
  private head!: SegmentCursor;
  private nextOffset = 0;
  private usedBytes = 0;
  private appendFd = -1;
  // Set by load(); absent only if opening failed before it, which releaseFds() allows for.
  private commit!: CommitFile;
  private readonly lock: DirectoryLock;
  private dirty = false;
  private syncing: { fds: number[]; done: Promise<void> } | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private appendWaiters: (() => void)[] = [];
  private closed = false;
  private broken: Error | undefined;
  private refusedTotal = 0;
  private droppedBytes = 0;
  private full: { since: number; lastLogMs: number; refused: number } | undefined;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  private readonly syncIntervalMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  readonly dir: string;

  /** Opens (or creates) the outbox in `opts.dir`, dropping a torn tail left by a crash. */
  static open(opts: OutboxOptions): Outbox {
    return new Outbox(opts);
  }

  private constructor(opts: OutboxOptions) {
    this.dir = resolve(opts.dir);
    this.log = opts.log.child({ component: 'outbox' });
    this.clock = opts.clock ?? systemClock;
    this.maxBytes = opts.maxBytes ?? DEFAULTS.maxBytes;
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULTS.maxRecordBytes;
    this.segmentBytes =
      opts.segmentBytes ??
      Math.min(
        DEFAULTS.maxSegmentBytes,
        Math.max(Math.floor(this.maxBytes / 8), this.maxRecordBytes + FRAME_HEADER_BYTES),
      );
    this.syncIntervalMs = opts.syncIntervalMs ?? DEFAULTS.syncIntervalMs;
    checkLimits({
      maxBytes: this.maxBytes,
      segmentBytes: this.segmentBytes,
      maxRecordBytes: this.maxRecordBytes,
      syncIntervalMs: this.syncIntervalMs,
    });

    mkdirSync(this.dir, { recursive: true });
    this.lock = DirectoryLock.acquire(this.dir);
    try {
      this.load();
    } catch (err) {
      this.releaseFds();
      this.lock.release();
      throw err;
    }
    if (this.syncIntervalMs > 0) {
      this.syncTimer = setInterval(() => this.syncSoon(), this.syncIntervalMs);
      // The timer must not keep a finished process alive; close() syncs for the last time.
      this.syncTimer.unref();
    }
  }

  /** Records appended and not yet acknowledged. */
  get pending(): number {
    let n = this.head.segment.base + this.head.segment.count - this.head.offset;
    for (let i = this.segments.indexOf(this.head.segment) + 1; i < this.segments.length; i++) {
      n += this.segments[i]!.count;
    }
    return n;
  }

  stats(): OutboxStats {
    return {
      pending: this.pending,
      bytes: this.usedBytes,
      segments: this.segments.length,
      refused: this.refusedTotal,
      droppedBytes: this.droppedBytes,
    };
  }

  /**
   * Writes one record to the end of the outbox and returns its offset. The bytes are in the
   * file (the operating system's page cache) when this returns: a crash of the process after
   * it cannot lose the record. Throws OutboxRecordError for a record Kafka could never take,
   * OutboxFullError when the outbox is at maxBytes, OutboxError when the disk write fails.
   */
  append(record: OutboxRecord): number {
    this.assertUsable();
    const offset = this.nextOffset;
    const frame = encodeFrame(record, offset, this.clock.now(), this.maxRecordBytes);
    if (this.usedBytes + frame.length > this.maxBytes) this.refuse(record, frame.length);

    let active = this.active;
    if (active.size > 0 && active.size + frame.length > this.segmentBytes) {
      active = this.roll(offset);
    }
    try {
      writeFully(this.appendFd, frame);
      if (this.syncIntervalMs === 0) fdatasyncSync(this.appendFd);
    } catch (err) {
      this.undoPartialWrite(active, err);
    }
    active.size += frame.length;
    active.count += 1;
    this.usedBytes += frame.length;
    this.nextOffset = offset + 1;
    this.dirty = true;
    if (this.full) this.acceptingAgain();
    const waiters = this.appendWaiters;
    this.appendWaiters = [];
    for (const wake of waiters) wake();
    return offset;
  }

  /** Resolves at the next append (or at close): lets a sender sleep while there is nothing to do. */
  whenAppended(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((wake) => this.appendWaiters.push(wake));
  }

  /**
   * The oldest unacknowledged records, in order: at most maxRecords, and at most maxBytes of
   * records unless the first alone is larger. Reading does not remove them; a batch read again
   * before it is acknowledged gives the same records.
   */
  read(limits: { readonly maxRecords: number; readonly maxBytes: number }): OutboxBatch {
    this.assertUsable();
    this.advancePastExhaustedSegments();
    const { segment, position, offset } = this.head;
    const records: StoredRecord[] = [];
    const available = segment.size - position;
    if (available === 0 || limits.maxRecords < 1) {
      return { records, bytes: 0, end: this.positionOf(this.head) };
    }
    segment.readFd ??= openSync(segment.path, 'r');
    let buf = readAt(segment.readFd, Math.min(available, Math.max(limits.maxBytes, 1)), position);
    let at = 0;
    while (records.length < limits.maxRecords && at < buf.length) {
      const decoded = decodeFrame(buf, at, offset + records.length, this.maxRecordBytes);
      if (decoded.ok) {
        records.push(decoded.record);
        at += decoded.frameBytes;
        continue;
      }
      if ('needBytes' in decoded && at + decoded.needBytes <= available) {
        // The next record runs past what was read: it starts the next batch, unless it is the
        // first and alone larger than maxBytes, then it is read whole and sent on its own.
        if (records.length > 0) break;
        buf = readAt(segment.readFd, decoded.needBytes, position);
        continue;
      }
      // These bytes passed the CRC when they were written or opened: the file changed under us.
      throw new OutboxError(
        `event outbox ${segment.path} is corrupt at byte ${position + at} (${decoded.reason}); restart the site agent to drop the damaged part`,
      );
    }
    return {
      records,
      bytes: at,
      end: {
        segmentBase: segment.base,
        bytePosition: position + at,
        offset: offset + records.length,
      },
    };
  }

  /**
   * Marks a batch from read() as delivered: it will not be read again, also after a restart.
   * Batches must be acknowledged in the order they were read.
   */
  acknowledge(batch: OutboxBatch): void {
    this.assertUsable();
    const first = batch.records[0];
    if (!first) return;
    const segment = this.segments.find((s) => s.base === batch.end.segmentBase);
    if (first.offset !== this.head.offset || !segment) {
      throw new OutboxError(
        `acknowledge out of order: batch starts at offset ${first.offset}, the outbox head is at ${this.head.offset}`,
      );
    }
    this.head = { segment, position: batch.end.bytePosition, offset: batch.end.offset };
    this.advancePastExhaustedSegments();
    this.commit.write(this.head.offset);
    this.dirty = true;
  }

  /**
   * Moves records Kafka will never accept (e.g. larger than the broker's message.max.bytes) to
   * rejected.seg in this directory, in the same format, then acknowledges them: one poison
   * record must not hold back every event after it. The file is kept for an operator.
   */
  quarantine(batch: OutboxBatch): void {
    this.assertUsable();
    const fd = openSync(join(this.dir, REJECTED_FILE), 'a');
    try {
      for (const r of batch.records) {
        writeFully(fd, encodeFrame(r, r.offset, r.timestamp, Number.MAX_SAFE_INTEGER));
      }
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.acknowledge(batch);
  }

  /** Forces everything written so far to the disk now. */
  sync(): void {
    this.assertUsable();
    fdatasyncSync(this.appendFd);
    fdatasyncSync(this.commit.fd);
    this.dirty = false;
  }

  /** Syncs, closes the files and releases the directory. Appends after this throw. */
  close(): void {
    if (this.closed) return;
    clearInterval(this.syncTimer);
    try {
      if (!this.broken) this.sync();
    } finally {
      this.closed = true;
      this.releaseFds();
      this.lock.release();
      for (const wake of this.appendWaiters) wake();
      this.appendWaiters = [];
      this.log.info({ event: 'outbox_closed', dir: this.dir, pending: this.pending });
    }
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private load(): void {
    const { file, committed } = CommitFile.open(this.dir, this.log);
    this.commit = file;
    const recovered = recoverSegments(this.dir, committed, this.maxRecordBytes, this.log);
    this.segments.push(...recovered.segments);
    this.usedBytes = recovered.segments.reduce((n, seg) => n + seg.size, 0);
    this.droppedBytes = recovered.droppedBytes;
    const head = recovered.head;

    const last = this.segments[this.segments.length - 1];
    const end = last ? last.base + last.count : (committed ?? 0);
    // Offsets only grow: after a power loss the tail may be shorter than what was already
    // acknowledged, and a reused offset would be taken for acknowledged.
    this.nextOffset = Math.max(end, committed ?? 0);
    if (!last || this.nextOffset !== end) {
      const created = createSegment(this.dir, this.nextOffset);
      this.segments.push(created.segment);
      this.appendFd = created.fd;
    } else {
      this.appendFd = openSync(last.path, 'a');
    }
    const active = this.active;
    // No record at or after the committed offset: everything on disk was acknowledged.
    this.head = head ?? {
      segment: active,
      position: active.size,
      offset: active.base + active.count,
    };
    this.advancePastExhaustedSegments();
    this.commit.write(this.head.offset);
    this.dirty = true;
    this.log.info({
      event: 'outbox_opened',
      dir: this.dir,
      pending: this.pending,
      bytes: this.usedBytes,
      segments: this.segments.length,
      firstOffset: this.head.offset,
      nextOffset: this.nextOffset,
    });
  }

  /**
   * Starts the next segment. The previous one is forced to disk first, so that only the last
   * segment can ever be torn; if anything fails, the outbox is left as it was.
   */
  private roll(base: number): Segment {
    let created: { segment: Segment; fd: number };
    try {
      fdatasyncSync(this.appendFd);
      created = createSegment(this.dir, base);
    } catch (err) {
      this.log.error(
        { event: 'outbox_write_failed', dir: this.dir, err },
        'could not start a new event outbox segment',
      );
      throw new OutboxError(
        `could not start a new segment of the event outbox in ${this.dir}: ${(err as Error).message}`,
      );
    }
    this.retire(this.appendFd);
    this.appendFd = created.fd;
    this.segments.push(created.segment);
    return created.segment;
  }

  /** Moves the head over segments it has read to the end of, and deletes them. */
  private advancePastExhaustedSegments(): void {
    while (this.head.segment !== this.active && this.head.position >= this.head.segment.size) {
      const next = this.segments[this.segments.indexOf(this.head.segment) + 1]!;
      this.head = { segment: next, position: 0, offset: next.base };
    }
    while (this.segments[0] !== this.head.segment) {
      const gone = this.segments.shift()!;
      if (gone.readFd !== undefined) closeSync(gone.readFd);
      unlinkSync(gone.path);
      this.usedBytes -= gone.size;
    }
  }

  private positionOf(cursor: SegmentCursor): OutboxPosition {
    return {
      segmentBase: cursor.segment.base,
      bytePosition: cursor.position,
      offset: cursor.offset,
    };
  }

  /** The periodic fdatasync, off the event loop; at most one in flight. */
  private syncSoon(): void {
    if (!this.dirty || this.syncing || this.closed) return;
    this.dirty = false;
    const fds = [this.appendFd, this.commit.fd];
    const done = Promise.all(
      fds.map(
        (fd) =>
          new Promise<void>((resolveSync) =>
            fdatasync(fd, (err) => {
              if (err) {
                this.dirty = true;
                this.log.error(
                  { event: 'outbox_sync_failed', dir: this.dir, err },
                  'could not force the event outbox to disk; a power loss could lose recent events',
                );
              }
              resolveSync();
            }),
          ),
      ),
    ).then(() => {
      this.syncing = undefined;
    });
    this.syncing = { fds, done };
  }

  /** Closes a file descriptor once no background sync is using it. */
  private retire(fd: number): void {
    if (fd < 0) return;
    if (this.syncing?.fds.includes(fd)) void this.syncing.done.then(() => closeQuietly(fd));
    else closeQuietly(fd);
  }

  private releaseFds(): void {
    this.retire(this.appendFd);
    this.appendFd = -1;
    if (this.commit !== undefined) this.retire(this.commit.fd);
    for (const s of this.segments) {
      if (s.readFd !== undefined) closeSync(s.readFd);
      s.readFd = undefined;
    }
  }

  /**
   * A failed write may have left part of a frame in the file; cut it off so that the next
   * append does not follow garbage. If even that fails the outbox stops accepting events: a
   * restart will drop the torn part.
   */
  private undoPartialWrite(active: Segment, err: unknown): never {
    try {
      ftruncateSync(this.appendFd, active.size);
    } catch (truncateErr) {
      this.broken = truncateErr as Error;
    }
    this.log.error(
      { event: 'outbox_write_failed', dir: this.dir, err, broken: this.broken !== undefined },
      'could not write an event to the outbox',
    );
    throw new OutboxError(
      `could not write an event to the outbox in ${this.dir}: ${(err as Error).message}`,
    );
  }

  private refuse(record: OutboxRecord, frameBytes: number): never {
    const now = this.clock.now();
    this.refusedTotal += 1;
    this.full ??= { since: now, lastLogMs: -Infinity, refused: 0 };
    this.full.refused += 1;
    if (now - this.full.lastLogMs >= DEFAULTS.fullLogEveryMs) {
      this.full.lastLogMs = now;
      this.log.error(
        {
          event: 'outbox_full',
          dir: this.dir,
          bytes: this.usedBytes,
          maxBytes: this.maxBytes,
          pending: this.pending,
          refused: this.full.refused,
          fullForMs: now - this.full.since,
          topic: record.topic,
        },
        'event outbox is full: new events are refused until Kafka takes the backlog',
      );
    }
    throw new OutboxFullError(
      `event outbox ${this.dir} is full (${this.usedBytes} of ${this.maxBytes} bytes, ${this.pending} events not yet in Kafka): refused ${frameBytes} bytes for ${record.topic}`,
    );
  }

  private acceptingAgain(): void {
    const full = this.full!;
    this.full = undefined;
    this.log.warn(
      {
        event: 'outbox_accepting_again',
        dir: this.dir,
        refused: full.refused,
        fullForMs: this.clock.now() - full.since,
      },
      'event outbox accepts events again',
    );
  }

  private assertUsable(): void {
    if (this.closed) throw new OutboxError(`event outbox ${this.dir} is closed`);
    if (this.broken) {
      throw new OutboxError(
        `event outbox ${this.dir} stopped after a failed write (${this.broken.message}); restart the site agent`,
      );
    }
  }
}

function checkLimits(o: {
  maxBytes: number;
  segmentBytes: number;
  maxRecordBytes: number;
  syncIntervalMs: number;
}): void {
  const problems: string[] = [];
  const positive = (name: string, v: number) => {
    if (!Number.isSafeInteger(v) || v <= 0)
      problems.push(`${name} must be a positive integer, got ${v}`);
  };
  positive('maxBytes', o.maxBytes);
  positive('segmentBytes', o.segmentBytes);
  positive('maxRecordBytes', o.maxRecordBytes);
  if (!Number.isSafeInteger(o.syncIntervalMs) || o.syncIntervalMs < 0) {
    problems.push(`syncIntervalMs must be 0 or more, got ${o.syncIntervalMs}`);
  }
  if (o.segmentBytes < o.maxRecordBytes + FRAME_HEADER_BYTES) {
    problems.push(
      `segmentBytes (${o.segmentBytes}) must hold one record of maxRecordBytes (${o.maxRecordBytes})`,
    );
  }
  if (o.maxBytes < o.segmentBytes) {
    problems.push(`maxBytes (${o.maxBytes}) must be at least segmentBytes (${o.segmentBytes})`);
  }
  if (problems.length) throw new OutboxError(`invalid outbox options: ${problems.join('; ')}`);
}
