// Password hashes for the users file: scrypt with a random salt, stored with its cost parameters
// so they can be raised later without invalidating existing hashes.
import {
  randomBytes,
  scrypt as scryptCallback,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';

function scrypt(
  password: string,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, keylen, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Cost parameters of new hashes: N=2^15, r=8, p=1 (about 32 MiB and tens of ms per hash). */
export const SCRYPT_DEFAULTS = { N: 32768, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
// 128 * N * r bytes of memory; the default maxmem (32 MiB) is exactly one hash at N=2^15.
const maxmem = (N: number, r: number) => 256 * N * r;

const HASH_FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** A hash of a malformed form, e.g. a plain-text password pasted into the users file. */
export class PasswordHashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordHashError';
  }
}

/** `scrypt$N$r$p$salt$key` (salt and key base64url) for a password. */
export async function hashPassword(
  password: string,
  cost: { N: number; r: number; p: number } = SCRYPT_DEFAULTS,
): Promise<string> {
  if (password.length === 0) throw new TypeError('cannot hash an empty password');
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...cost, maxmem: maxmem(cost.N, cost.r) });
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Throws PasswordHashError unless `hash` has the form hashPassword writes. */
export function checkPasswordHash(hash: string): void {
  parseHash(hash);
}

function parseHash(hash: string) {
  const m = HASH_FORMAT.exec(hash);
  if (!m) throw new PasswordHashError('expected scrypt$N$r$p$salt$key (see hash-password)');
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1) {
    throw new PasswordHashError(
      'scrypt cost parameters are invalid (N a power of two, r and p ≥ 1)',
    );
  }
  return { N, r, p, salt: Buffer.from(m[4]!, 'base64url'), key: Buffer.from(m[5]!, 'base64url') };
}

/** True when `password` matches `hash`; compares in constant time. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const { N, r, p, salt, key } = parseHash(hash);
  const candidate = await scrypt(password, salt, key.length, { N, r, p, maxmem: maxmem(N, r) });
  return timingSafeEqual(candidate, key);
}
