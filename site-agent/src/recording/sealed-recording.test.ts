import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveTenantKey } from './recording-keys.js';
import {
  readSealedHeader,
  sealFile,
  SealedRecording,
  SealedRecordingError,
} from './sealed-recording.js';

const MASTER = randomBytes(32);
const ACME = deriveTenantKey(MASTER, 'acme-bank');
const ZENITH = deriveTenantKey(MASTER, 'zenith-telecom');
const CHUNK = 1024;

async function sealed(plain: Buffer, tenantKey = ACME) {
  const dir = mkdtempSync(join(tmpdir(), 'ccfed-sealed-'));
  const plainPath = join(dir, 'call.wav');
  writeFileSync(plainPath, plain);
  const outPath = join(dir, 'call.ccrec');
  const sizes = await sealFile({
    plainPath,
    outPath,
    tenantKey,
    chunkBytes: CHUNK,
    header: {
      recordingId: 'r1',
      tenantId: 'acme-bank',
      keyId: 'k1/acme-bank',
      contentType: 'audio/wav',
    },
  });
  return { outPath, sizes };
}

const openWith = (path: string, key: Buffer) => SealedRecording.open(path, () => key);

async function readAll(rec: SealedRecording, start?: number, end?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of rec.read(start, end)) parts.push(p);
  return Buffer.concat(parts);
}

describe('sealed recordings', () => {
  it('give back exactly what was sealed, whole or any range, at any size', async () => {
    for (const size of [0, 1, CHUNK - 1, CHUNK, 3 * CHUNK + 5]) {
      const plain = randomBytes(size);
      const { outPath, sizes } = await sealed(plain);
      expect(sizes.plainBytes).toBe(size);
      const rec = await openWith(outPath, ACME);
      expect(rec.plainBytes).toBe(size);
      expect(await readAll(rec)).toEqual(plain);
      if (size > 10) {
        for (const [a, b] of [
          [0, 1],
          [5, size],
          [CHUNK - 3, Math.min(size, CHUNK + 3)],
          [size - 1, size],
        ] as const)
          expect(await readAll(rec, a, b)).toEqual(plain.subarray(a, b));
      }
      await rec.close();
    }
  });

  it('are not audio at rest: no RIFF header, no plaintext run', async () => {
    const plain = Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVEfmt '), Buffer.alloc(4000, 0x55)]);
    const { outPath } = await sealed(plain);
    const bytes = readFileSync(outPath);
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('CCFEDREC');
    expect(bytes.includes(Buffer.from('RIFF'))).toBe(false);
    expect(bytes.includes(Buffer.alloc(16, 0x55))).toBe(false);
    expect((await readSealedHeader(outPath)).keyId).toBe('k1/acme-bank');
  });

  it('open only with their tenant key', async () => {
    const { outPath } = await sealed(randomBytes(5000));
    await expect(openWith(outPath, ZENITH)).rejects.toThrow(/does not authenticate/);
    await expect(SealedRecording.open(outPath, () => undefined)).rejects.toThrow(
      /holds no key k1\/acme-bank for tenant acme-bank/,
    );
  });

  it('refuse a file altered anywhere: a byte, the header, cut at a chunk boundary', async () => {
    const plain = randomBytes(3 * CHUNK + 100);
    const { outPath } = await sealed(plain);
    const original = readFileSync(outPath);
    const headerEnd = original.indexOf('}') + 1;

    const flipped = Buffer.from(original);
    flipped[headerEnd + CHUNK + 20]! ^= 1; // a byte of chunk 1
    writeFileSync(outPath, flipped);
    const rec = await openWith(outPath, ACME);
    await expect(readAll(rec)).rejects.toThrow(SealedRecordingError);
    await rec.close();

    // The header in the clear names the tenant: changing it breaks every chunk.
    writeFileSync(
      outPath,
      Buffer.from(original.toString('latin1').replace('"r1"', '"r2"'), 'latin1'),
    );
    await expect(openWith(outPath, ACME)).rejects.toThrow(/does not authenticate/);

    // Dropping the last chunk leaves a file whose new last chunk was not sealed as last.
    writeFileSync(outPath, original);
    truncateSync(outPath, headerEnd + 3 * (CHUNK + 16));
    const cut = await openWith(outPath, ACME);
    await expect(readAll(cut)).rejects.toThrow(/chunk 2 does not authenticate/);
    await cut.close();
  });
});
