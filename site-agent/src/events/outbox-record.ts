// The on-disk framing of one outbox record. Pure: no files here, only bytes in and out.
import * as zlib from 'node:zlib';

/** One Kafka message waiting in the outbox: what the sender will hand to the producer. */
export interface OutboxRecord {
  readonly topic: string;
  /** Kafka's partitioner hashes the key: one key's records land in one partition, in order. */
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

/** A record as stored: with its position in the outbox and the time it was appended. */
export interface StoredRecord extends OutboxRecord {
  readonly value: Buffer;
  /** Position in the outbox, increasing by one per record, never reused. */
  readonly offset: number;
  /** Milliseconds since the Unix epoch when the event was appended; becomes the Kafka timestamp. */
  readonly timestamp: number;
}

/** Anything wrong with the outbox that the caller should not retry blindly. */
export class OutboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxError';
  }
}

/** A record that can never be stored or sent: an empty or illegal topic, a record too large. */
export class OutboxRecordError extends OutboxError {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxRecordError';
  }
}

/*
 * Frame layout, little-endian:
 *
 *   u32  body length           \ frame header: a torn or garbage tail fails the length
 *   u32  CRC-32 of the body    /  check or the CRC, so it is detected, never misparsed
 *   body:
 *     u8   format version (1)
 *     u64  offset              the frame names its own position: a frame in the wrong place
 *     u64  timestamp ms          (a copied or mixed-up file) is caught as corruption
 *     u16  topic bytes, topic
 *     u32  key bytes,   key
 *     u16  header count, then per header: u16 name bytes, name, u32 value bytes, value
 *     u32  value bytes, value
 *
 * A body is valid only if its fields use exactly its length.
 */
export const FRAME_HEADER_BYTES = 8;
const FORMAT_VERSION = 1;
const FIXED_BODY_BYTES = 1 + 8 + 8 + 2 + 4 + 2 + 4;

/** Kafka's own limit on topic names, and the characters it accepts. */
const TOPIC_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Encodes one record as a frame; throws OutboxRecordError for a record that Kafka would refuse
 * or that exceeds `maxRecordBytes` (the body, i.e. everything the frame carries).
 */
export function encodeFrame(
  record: OutboxRecord,
  offset: number,
  timestamp: number,
  maxRecordBytes: number,
): Buffer {
  if (typeof record.topic !== 'string' || !TOPIC_PATTERN.test(record.topic)) {
    throw new OutboxRecordError(
      `outbox record refused: topic ${JSON.stringify(record.topic)} is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)`,
    );
  }
  if (typeof record.key !== 'string') {
    throw new OutboxRecordError(
      `outbox record refused: the key for topic ${record.topic} must be a string (a null key would be spread over partitions and lose per-key order)`,
    );
  }
  if (!(record.value instanceof Uint8Array)) {
    throw new OutboxRecordError(
      `outbox record refused: the value for topic ${record.topic} key ${JSON.stringify(record.key)} must be bytes`,
    );
  }
  const topic = Buffer.from(record.topic, 'utf8');
  const key = Buffer.from(record.key, 'utf8');
  const headers = Object.entries(record.headers ?? {}).map(([name, value]) => {
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length === 0 || nameBytes.length > 0xffff || typeof value !== 'string') {
      throw new OutboxRecordError(
        `outbox record refused: header ${JSON.stringify(name)} for topic ${record.topic} needs a name of 1-65535 bytes and a string value`,
      );
    }
    return [nameBytes, Buffer.from(value, 'utf8')] as const;
  });
  if (headers.length > 0xffff) {
    throw new OutboxRecordError(
      `outbox record refused: ${headers.length} headers on topic ${record.topic}`,
    );
  }
  const bodyBytes =
    FIXED_BODY_BYTES +
    topic.length +
    key.length +
    headers.reduce((n, [name, value]) => n + 2 + name.length + 4 + value.length, 0) +
    record.value.length;
  if (bodyBytes > maxRecordBytes) {
    throw new OutboxRecordError(
      `outbox record refused: ${bodyBytes} bytes for topic ${record.topic} key ${JSON.stringify(record.key)} exceed the limit of ${maxRecordBytes} bytes per record`,
    );
  }

  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  let p = FRAME_HEADER_BYTES;
  p = frame.writeUInt8(FORMAT_VERSION, p);
  p = frame.writeBigUInt64LE(BigInt(offset), p);
  p = frame.writeBigUInt64LE(BigInt(Math.max(0, Math.trunc(timestamp))), p);
  p = frame.writeUInt16LE(topic.length, p);
  p += topic.copy(frame, p);
  p = frame.writeUInt32LE(key.length, p);
  p += key.copy(frame, p);
  p = frame.writeUInt16LE(headers.length, p);
  for (const [name, value] of headers) {
    p = frame.writeUInt16LE(name.length, p);
    p += name.copy(frame, p);
    p = frame.writeUInt32LE(value.length, p);
    p += value.copy(frame, p);
  }
  p = frame.writeUInt32LE(record.value.length, p);
  frame.set(record.value, p);
  frame.writeUInt32LE(bodyBytes, 0);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4);
  return frame;
}

export type DecodeResult =
  | { readonly ok: true; readonly record: StoredRecord; readonly frameBytes: number }
  /** `incomplete`: the buffer ends inside the frame (a torn write if the file ends there too). */
  | { readonly ok: false; readonly reason: 'incomplete'; readonly needBytes: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Decodes the frame at `at`; `expectedOffset` is the offset the frame must carry. Never throws
 * and never returns a record from bytes that fail the length, CRC or layout checks.
 */
export function decodeFrame(
  buf: Buffer,
  at: number,
  expectedOffset: number,
  maxRecordBytes: number,
): DecodeResult {
  const available = buf.length - at;
  if (available < FRAME_HEADER_BYTES) {
    return { ok: false, reason: 'incomplete', needBytes: FRAME_HEADER_BYTES };
  }
  const bodyBytes = buf.readUInt32LE(at);
  if (bodyBytes < FIXED_BODY_BYTES || bodyBytes > maxRecordBytes) {
    return { ok: false, reason: `implausible record length ${bodyBytes}` };
  }
  const frameBytes = FRAME_HEADER_BYTES + bodyBytes;
  if (available < frameBytes) return { ok: false, reason: 'incomplete', needBytes: frameBytes };
  const body = buf.subarray(at + FRAME_HEADER_BYTES, at + frameBytes);
  if (crc32(body) !== buf.readUInt32LE(at + 4)) return { ok: false, reason: 'CRC mismatch' };

  // The CRC matched, so a layout error here means a bug or a foreign file, not a torn write;
  // it is still reported, not thrown, so that one bad file cannot stop the site agent.
  try {
    const r = new FieldReader(body);
    const version = r.u8();
    if (version !== FORMAT_VERSION) return { ok: false, reason: `unknown format ${version}` };
    const offset = r.u64();
    if (offset !== expectedOffset) {
      return { ok: false, reason: `record carries offset ${offset}, expected ${expectedOffset}` };
    }
    const timestamp = r.u64();
    const topic = r.bytes(r.u16()).toString('utf8');
    const key = r.bytes(r.u32()).toString('utf8');
    const headers: Record<string, string> = {};
    for (let i = r.u16(); i > 0; i--) {
      const name = r.bytes(r.u16()).toString('utf8');
      headers[name] = r.bytes(r.u32()).toString('utf8');
    }
    // A copy: the record outlives the read buffer, which is reused.
    const value = Buffer.from(r.bytes(r.u32()));
    if (!r.atEnd()) return { ok: false, reason: 'trailing bytes in record' };
    return { ok: true, frameBytes, record: { offset, timestamp, topic, key, headers, value } };
  } catch {
    return { ok: false, reason: 'malformed record layout' };
  }
}

/** Reads a body's fields in order; any read past the end throws RangeError. */
class FieldReader {
  private p = 0;
  constructor(private readonly buf: Buffer) {}
  u8(): number {
    return this.buf.readUInt8(this.advance(1));
  }
  u16(): number {
    return this.buf.readUInt16LE(this.advance(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.advance(4));
  }
  u64(): number {
    return Number(this.buf.readBigUInt64LE(this.advance(8)));
  }
  bytes(n: number): Buffer {
    const at = this.advance(n);
    return this.buf.subarray(at, at + n);
  }
  atEnd(): boolean {
    return this.p === this.buf.length;
  }
  private advance(n: number): number {
    if (this.p + n > this.buf.length) throw new RangeError('field runs past the record');
    const at = this.p;
    this.p += n;
    return at;
  }
}

/** CRC-32 (IEEE, as zlib and gzip): node:zlib's native one where Node has it (20.15+). */
export const crc32: (data: Uint8Array) => number =
  typeof zlib.crc32 === 'function' ? (data) => zlib.crc32(data) : tableCrc32;

let table: Uint32Array | undefined;

/** The same CRC-32 in plain TypeScript, for Node 20 releases before 20.15. */
export function tableCrc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
