// A recording at rest: the audio encrypted with its tenant's key (AES-256-GCM, node:crypto) in
// chunks, so that a range of it can be read back (HTTP Range, a player seeking) and every byte
// handed out has been authenticated first. The layout is Tink's streaming AEAD
// (AES256_GCM_HKDF_*) in spirit, with ccfed's own header:
//
//   "CCFEDREC"  u8 version (1)  u16 header length  header (JSON, UTF-8)
//   then chunk 0, chunk 1, ...: each `chunkBytes` of audio (the last one shorter) + 16-byte tag
//
// Each file has its own key, HKDF-SHA256(tenant key, the header's random salt), so the tenant key
// never encrypts two files and nonces cannot repeat across files. Chunk i's nonce is the header's
// random 7-byte prefix, i (u32, big-endian), and 1 for the last chunk, 0 otherwise; its AAD is
// the whole header. So a chunk cannot be moved, a file cannot be cut short at a chunk boundary
// or lengthened, and the header (tenant, key id) cannot be changed without decryption failing.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';

const MAGIC = Buffer.from('CCFEDREC', 'latin1');
const VERSION = 1;
const PREAMBLE_BYTES = MAGIC.length + 1 + 2;
const TAG_BYTES = 16;
const SALT_BYTES = 32;
const NONCE_PREFIX_BYTES = 7;
const MAX_HEADER_BYTES = 4096;
/** 64 KiB of audio per chunk: 2 s of 8 kHz 16-bit stereo, a few tags per minute. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;

/** What a sealed file says about itself (in the clear, but authenticated). */
export interface SealedHeader {
  readonly recordingId: string;
  readonly tenantId: string;
  /** The tenant key's id (recording-keys.ts): `<master key id>/<tenant>`. */
  readonly keyId: string;
  readonly contentType: string;
  readonly chunkBytes: number;
  /** base64 */
  readonly salt: string;
  /** base64 */
  readonly noncePrefix: string;
}

export class SealedRecordingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedRecordingError';
  }
}

function fileKey(tenantKey: Buffer, salt: Buffer): Buffer {
  return Buffer.from(
    hkdfSync('sha256', tenantKey, salt, Buffer.from('ccfed recording file v1'), 32),
  );
}

function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  n[11] = last ? 1 : 0;
  return n;
}

function encodeHeader(header: SealedHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length > MAX_HEADER_BYTES) throw new SealedRecordingError('header too long');
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble[MAGIC.length] = VERSION;
  preamble.writeUInt16BE(json.length, MAGIC.length + 1);
  return Buffer.concat([preamble, json]);
}

/**
 * Encrypts the file `plainPath` into `outPath` for `header`'s tenant with `tenantKey`. Written
 * beside it first and renamed, so `outPath` is either absent or whole. Resolves with the sizes.
 */
export async function sealFile(opts: {
  readonly plainPath: string;
  readonly outPath: string;
  readonly tenantKey: Buffer;
  readonly header: Pick<SealedHeader, 'recordingId' | 'tenantId' | 'keyId' | 'contentType'>;
  readonly chunkBytes?: number;
}): Promise<{ readonly sealedBytes: number; readonly plainBytes: number }> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const salt = randomBytes(SALT_BYTES);
  const prefix = randomBytes(NONCE_PREFIX_BYTES);
  const headerBytes = encodeHeader({
    ...opts.header,
    chunkBytes,
    salt: salt.toString('base64'),
    noncePrefix: prefix.toString('base64'),
  });
  const key = fileKey(opts.tenantKey, salt);
  const part = `${opts.outPath}.part`;
  const input = await open(opts.plainPath, 'r');
  const output = await open(part, 'wx', 0o600);
  try {
    const plainBytes = (await input.stat()).size;
    const chunks = Math.max(1, Math.ceil(plainBytes / chunkBytes));
    let written = headerBytes.length;
    await output.write(headerBytes);
    const buffer = Buffer.alloc(chunkBytes);
    for (let i = 0; i < chunks; i++) {
      const { bytesRead } = await input.read(buffer, 0, chunkBytes, i * chunkBytes);
      const last = i === chunks - 1;
      if (!last && bytesRead !== chunkBytes)
        throw new SealedRecordingError(`${opts.plainPath} changed while it was sealed`);
      const cipher = createCipheriv('aes-256-gcm', key, nonce(prefix, i, last));
      cipher.setAAD(headerBytes);
      const sealed = Buffer.concat([
        cipher.update(buffer.subarray(0, bytesRead)),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      await output.write(sealed);
      written += sealed.length;
    }
    await output.sync();
    await output.close();
    await rename(part, opts.outPath);
    return { sealedBytes: written, plainBytes };
  } catch (err) {
    await output.close().catch(() => {});
    await rm(part, { force: true });
    throw err;
  } finally {
    await input.close();
  }
}

/** Reads a sealed file's header without any key (the retention job, a listing). */
export async function readSealedHeader(path: string): Promise<SealedHeader> {
  const file = await open(path, 'r');
  try {
    return (await readHeader(file, path)).header;
  } finally {
    await file.close();
  }
}

async function readHeader(
  file: FileHandle,
  path: string,
): Promise<{ header: SealedHeader; headerBytes: Buffer }> {
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  const { bytesRead } = await file.read(preamble, 0, PREAMBLE_BYTES, 0);
  if (bytesRead < PREAMBLE_BYTES || !preamble.subarray(0, MAGIC.length).equals(MAGIC))
    throw new SealedRecordingError(`${path} is not a sealed ccfed recording`);
  if (preamble[MAGIC.length] !== VERSION)
    throw new SealedRecordingError(`${path}: unknown version ${preamble[MAGIC.length]}`);
  const length = preamble.readUInt16BE(MAGIC.length + 1);
  if (length > MAX_HEADER_BYTES) throw new SealedRecordingError(`${path}: header too long`);
  const json = Buffer.alloc(length);
  if ((await file.read(json, 0, length, PREAMBLE_BYTES)).bytesRead !== length)
    throw new SealedRecordingError(`${path}: header cut short`);
  let header: SealedHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as SealedHeader;
  } catch {
    throw new SealedRecordingError(`${path}: header is not JSON`);
  }
  if (
    !Number.isInteger(header.chunkBytes) ||
    header.chunkBytes < 1024 ||
    header.chunkBytes > 16 * 1024 * 1024 ||
    Buffer.from(header.salt ?? '', 'base64').length !== SALT_BYTES ||
    Buffer.from(header.noncePrefix ?? '', 'base64').length !== NONCE_PREFIX_BYTES
  )
    throw new SealedRecordingError(`${path}: malformed header`);
  return { header, headerBytes: Buffer.concat([preamble, json]) };
}

/** A sealed file opened with its tenant's key: its size in the clear, and ranges of it. */
export class SealedRecording {
  private constructor(
    private readonly file: FileHandle,
    private readonly path: string,
    readonly header: SealedHeader,
    private readonly headerBytes: Buffer,
    private readonly key: Buffer,
    private readonly chunks: number,
    /** The audio's size in bytes. */
    readonly plainBytes: number,
  ) {}

  /**
   * Opens `path`; `keyFor` gives the tenant key the header names (undefined: not held). The first
   * chunk is decrypted at once, so a wrong key or an altered header fails here, not mid-stream.
   */
  static async open(
    path: string,
    keyFor: (header: SealedHeader) => Buffer | undefined,
  ): Promise<SealedRecording> {
    const file = await open(path, 'r');
    try {
      const { header, headerBytes } = await readHeader(file, path);
      const tenantKey = keyFor(header);
      if (!tenantKey)
        throw new SealedRecordingError(
          `${path}: this site holds no key ${header.keyId} for tenant ${header.tenantId}`,
        );
      const sealedChunk = header.chunkBytes + TAG_BYTES;
      const body = (await file.stat()).size - headerBytes.length;
      const chunks = Math.ceil(body / sealedChunk);
      const lastSealed = body - (chunks - 1) * sealedChunk;
      if (chunks < 1 || lastSealed < TAG_BYTES)
        throw new SealedRecordingError(`${path}: cut short`);
      const plainBytes = (chunks - 1) * header.chunkBytes + lastSealed - TAG_BYTES;
      const key = fileKey(tenantKey, Buffer.from(header.salt, 'base64'));
      const opened = new SealedRecording(file, path, header, headerBytes, key, chunks, plainBytes);
      await opened.chunk(0);
      return opened;
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** The audio from byte `start` up to (not including) `end`, in authenticated pieces. */
  async *read(start = 0, end = this.plainBytes): AsyncGenerator<Buffer> {
    if (start < 0 || end > this.plainBytes || start > end)
      throw new SealedRecordingError(
        `range ${start}-${end} is outside the recording (${this.plainBytes} bytes)`,
      );
    const size = this.header.chunkBytes;
    for (let i = Math.floor(start / size); i * size < end; i++) {
      const plain = await this.chunk(i);
      yield plain.subarray(Math.max(0, start - i * size), Math.min(size, end - i * size));
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  private async chunk(index: number): Promise<Buffer> {
    const sealedChunk = this.header.chunkBytes + TAG_BYTES;
    const at = this.headerBytes.length + index * sealedChunk;
    const buffer = Buffer.alloc(sealedChunk);
    const { bytesRead } = await this.file.read(buffer, 0, sealedChunk, at);
    const last = index === this.chunks - 1;
    if (bytesRead < TAG_BYTES || (!last && bytesRead !== sealedChunk))
      throw new SealedRecordingError(`${this.path}: chunk ${index} cut short`);
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.key,
      nonce(Buffer.from(this.header.noncePrefix, 'base64'), index, last),
    );
    decipher.setAAD(this.headerBytes);
    decipher.setAuthTag(buffer.subarray(bytesRead - TAG_BYTES, bytesRead));
    try {
      return Buffer.concat([
        decipher.update(buffer.subarray(0, bytesRead - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new SealedRecordingError(
        `${this.path}: chunk ${index} does not authenticate (wrong key, or the file was altered)`,
      );
    }
  }
}
