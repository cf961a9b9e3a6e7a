// The keys recordings are encrypted with at one site: master keys from a key file, one tenant key
// per tenant derived from each (HKDF-SHA256), so that a tenant's key opens that tenant's
// recordings and no other's, and no tenant key needs storing. docs/security.md, "Recording keys".
//
// The key file (CCFED_RECORDING_KEYS_FILE, mode 0600 or 0400, JSON):
//
//   { "current": "2026-03", "keys": { "2026-03": "<base64 of 32 random bytes>", "2025-09": "…" } }
//
// `current` encrypts new recordings; every key listed decrypts. Rotating is adding a key and
// making it current; an old key is removed once the last recording sealed under it has expired.
import { hkdfSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

/** A master key's id: what the index and each file's header name (no secret in it). */
export const MASTER_KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const KEY_BYTES = 32;

const keyFileSchema = z.strictObject({
  current: z.string().regex(MASTER_KEY_ID, 'expected a key id: letters, digits, ".", "_", "-"'),
  keys: z.record(
    z.string().regex(MASTER_KEY_ID, 'expected a key id: letters, digits, ".", "_", "-"'),
    z
      .string()
      .refine(
        (k) => Buffer.from(k, 'base64').length === KEY_BYTES && /^[A-Za-z0-9+/]+={0,2}$/.test(k),
        `expected ${KEY_BYTES} random bytes in base64 (openssl rand -base64 ${KEY_BYTES})`,
      ),
  ),
});

export class RecordingKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordingKeyError';
  }
}

/** A tenant key's id: `<master key id>/<tenant>`. */
export function tenantKeyId(masterId: string, tenantId: string): string {
  return `${masterId}/${tenantId}`;
}

/**
 * The tenant key of `tenantId` under one master key. HKDF's info binds it to the tenant: the key
 * of one tenant says nothing about another's, nor about the master key.
 */
export function deriveTenantKey(master: Buffer, tenantId: string): Buffer {
  if (master.length !== KEY_BYTES)
    throw new RecordingKeyError(`a master key has ${KEY_BYTES} bytes, not ${master.length}`);
  return Buffer.from(
    hkdfSync(
      'sha256',
      master,
      Buffer.from('ccfed-recording-tenant-key'),
      Buffer.from(`ccfed recording tenant key v1\0${tenantId}`),
      KEY_BYTES,
    ),
  );
}

/** A site's recording keys: the current master key seals, all of them open. */
export class RecordingKeyring {
  private readonly masters: ReadonlyMap<string, Buffer>;

  constructor(
    readonly currentId: string,
    masters: ReadonlyMap<string, Buffer>,
  ) {
    if (!masters.has(currentId))
      throw new RecordingKeyError(`the current key "${currentId}" is not among the keys`);
    this.masters = masters;
  }

  /** The key new recordings of `tenantId` are sealed with, and its id. */
  sealingKey(tenantId: string): { readonly keyId: string; readonly key: Buffer } {
    return {
      keyId: tenantKeyId(this.currentId, tenantId),
      key: deriveTenantKey(this.masters.get(this.currentId)!, tenantId),
    };
  }

  /**
   * The tenant key `keyId` names, for a recording of `tenantId`; undefined when the site no longer
   * holds its master key (retired) or the id names another tenant than the recording's.
   */
  openingKey(keyId: string, tenantId: string): Buffer | undefined {
    const slash = keyId.indexOf('/');
    if (slash < 0 || keyId.slice(slash + 1) !== tenantId) return undefined;
    const master = this.masters.get(keyId.slice(0, slash));
    return master && deriveTenantKey(master, tenantId);
  }

  /** Every master key id held, current first. */
  get ids(): string[] {
    return [this.currentId, ...[...this.masters.keys()].filter((id) => id !== this.currentId)];
  }
}

/** Parses a key file's text; throws RecordingKeyError naming `source` and the problem. */
export function parseRecordingKeys(text: string, source: string): RecordingKeyring {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RecordingKeyError(
      `${source}: not JSON (expected {"current": id, "keys": {id: base64}})`,
    );
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`);
    throw new RecordingKeyError(`${source}: ${problems.join('; ')}`);
  }
  const masters = new Map(
    Object.entries(parsed.data.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')]),
  );
  if (!masters.has(parsed.data.current))
    throw new RecordingKeyError(
      `${source}: current: key "${parsed.data.current}" is not in keys (${[...masters.keys()].join(', ')})`,
    );
  return new RecordingKeyring(parsed.data.current, masters);
}

/**
 * Reads the key file at `path`. A file every user may read is refused: whoever reads it reads
 * every recording of the site. (Group-readable is allowed: a Kubernetes Secret volume is 0440
 * with the pod's fsGroup.)
 */
export function loadRecordingKeys(path: string): RecordingKeyring {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RecordingKeyError(
      `cannot read the recording key file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  if ((mode & 0o007) !== 0)
    throw new RecordingKeyError(
      `the recording key file ${path} is open to every user (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
  return parseRecordingKeys(text, path);
}
