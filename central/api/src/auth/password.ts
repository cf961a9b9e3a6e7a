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
/**
 * The weakest cost a hash may have: what new hashes are made with. A cheaper hash in the users
 * file is refused at start, since it would fall to an offline guesser that much faster.
 */
export const SCRYPT_MINIMUM = SCRYPT_DEFAULTS;
/**
 * What one verification may take (128·N·r bytes): a mistyped N in the users file must not make
 * every log-in allocate gigabytes.
 */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;
const MAX_P = 16;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
// 128 * N * r bytes of memory; the default maxmem (32 MiB) is exactly one hash at N=2^15.
const maxmem = (N: number, r: number) => 256 * N * r;

const HASH_FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** A hash that cannot be used: malformed, cut short, or cheaper than SCRYPT_MINIMUM. */
export class PasswordHashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordHashError';
  }
}

type Cost = { readonly N: number; readonly r: number; readonly p: number };

/** Throws PasswordHashError unless N, r and p are at least SCRYPT_MINIMUM and within bounds. */
function checkCost({ N, r, p }: Cost): void {
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1)
    throw new PasswordHashError(
      'scrypt cost parameters are invalid (N a power of two, r and p ≥ 1)',
    );
  if (N < SCRYPT_MINIMUM.N || r < SCRYPT_MINIMUM.r || p < SCRYPT_MINIMUM.p)
    throw new PasswordHashError(
      `scrypt cost N=${N}, r=${r}, p=${p} is weaker than the minimum N=${SCRYPT_MINIMUM.N}, r=${SCRYPT_MINIMUM.r}, p=${SCRYPT_MINIMUM.p}: hash the password again with hash-password`,
    );
  if (128 * N * r > MAX_MEMORY_BYTES || p > MAX_P)
    throw new PasswordHashError(
      `scrypt cost N=${N}, r=${r}, p=${p} is over the limit (128·N·r ≤ ${MAX_MEMORY_BYTES / 1024 / 1024} MiB, p ≤ ${MAX_P}): every log-in would take that much`,
    );
}

/** Refuses base64url text that is not exactly what encoding its bytes gives (an altered hash). */
function checkCanonical(text: string, bytes: Buffer, what: string): void {
  if (bytes.toString('base64url') !== text)
    throw new PasswordHashError(`the ${what} is not valid base64url: the hash was altered`);
}

/** `scrypt$N$r$p$salt$key` (salt and key base64url) for a password. */
export async function hashPassword(
  password: string,
  cost: Cost = SCRYPT_DEFAULTS,
): Promise<string> {
  if (password.length === 0) throw new TypeError('cannot hash an empty password');
  checkCost(cost);
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...cost, maxmem: maxmem(cost.N, cost.r) });
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/**
 * Throws PasswordHashError unless `hash` is one hashPassword could have written: its form, its
 * cost (at least SCRYPT_MINIMUM), a salt of 16 bytes or more and a key of exactly 32. A hash cut
 * short (a line wrapped or pasted in part) fails here, at start, instead of matching whatever
 * shorter key a guess happens to produce.
 */
export function checkPasswordHash(hash: string): void {
  parseHash(hash);
}

function parseHash(hash: string) {
  const m = HASH_FORMAT.exec(hash);
  if (!m) throw new PasswordHashError('expected scrypt$N$r$p$salt$key (see hash-password)');
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  checkCost({ N, r, p });
  const salt = Buffer.from(m[4]!, 'base64url');
  const key = Buffer.from(m[5]!, 'base64url');
  if (salt.length < SALT_LENGTH)
    throw new PasswordHashError(
      `the salt is ${salt.length} bytes, at least ${SALT_LENGTH} expected: the hash is truncated or was not made by hash-password`,
    );
  if (key.length !== KEY_LENGTH)
    throw new PasswordHashError(
      `the key is ${key.length} bytes, ${KEY_LENGTH} expected: the hash is truncated or was not made by hash-password`,
    );
  checkCanonical(m[4]!, salt, 'salt');
  checkCanonical(m[5]!, key, 'key');
  return { N, r, p, salt, key };
}

/** The cost parameters of a hash the users file accepted (for a decoy of the same cost). */
export function hashCost(hash: string): Cost {
  const { N, r, p } = parseHash(hash);
  return { N, r, p };
}

/** True when `password` matches `hash`; compares in constant time. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const { N, r, p, salt, key } = parseHash(hash);
  const candidate = await scrypt(password, salt, key.length, { N, r, p, maxmem: maxmem(N, r) });
  return timingSafeEqual(candidate, key);
}
