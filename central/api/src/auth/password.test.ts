import { describe, expect, it } from 'vitest';
import {
  checkPasswordHash,
  hashCost,
  hashPassword,
  PasswordHashError,
  verifyPassword,
} from './password.js';

describe('password hashes', async () => {
  // One hash at the default cost, reused: each takes tens of ms.
  const hash = await hashPassword('correct horse');
  const [, , , , salt, key] = hash.split('$') as [string, string, string, string, string, string];
  const withKey = (k: string) => `scrypt$32768$8$1$${salt}$${k}`;

  it('verifies the password it hashed and refuses any other', async () => {
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horse ', hash)).toBe(false);
    expect(await verifyPassword('Correct horse', hash)).toBe(false);
    expect(hashCost(hash)).toEqual({ N: 32768, r: 8, p: 1 });
  });

  it('salts: the same password hashes differently each time', async () => {
    expect(await hashPassword('correct horse')).not.toBe(hash);
  });

  it('refuses hashes not in its format, e.g. a plain-text password', () => {
    for (const bad of ['secret', 'bcrypt$2b$10$abc', `scrypt$32768$8$1$${salt}`]) {
      expect(() => checkPasswordHash(bad)).toThrow(/expected scrypt\$N\$r\$p\$salt\$key/);
    }
  });

  it('refuses a truncated hash, saying so, rather than matching a shorter key', () => {
    expect(() => checkPasswordHash(withKey(key.slice(0, 27)))).toThrow(
      /the key is 20 bytes, 32 expected: the hash is truncated/,
    );
    expect(() => checkPasswordHash(withKey(key.slice(0, 42)))).toThrow(/key is 31 bytes/);
    expect(() => checkPasswordHash(`scrypt$32768$8$1$${salt.slice(0, 10)}$${key}`)).toThrow(
      /the salt is 7 bytes, at least 16 expected/,
    );
  });

  it('refuses a hash whose text was altered', () => {
    // 43 characters carry 258 bits for 256: the last character's two low bits must be 0, so
    // setting the lowest one changes the text but not the bytes it decodes to.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const altered = key.slice(0, -1) + alphabet[alphabet.indexOf(key.at(-1)!) ^ 1]!;
    expect(Buffer.from(altered, 'base64url')).toEqual(Buffer.from(key, 'base64url'));
    expect(() => checkPasswordHash(withKey(altered))).toThrow(/key is not valid base64url/);
  });

  it('refuses a cost weaker than the default or beyond the memory limit', async () => {
    for (const [cost, message] of [
      ['1024$8$1', /N=1024, r=8, p=1 is weaker than the minimum N=32768/],
      ['32768$4$1', /r=4, p=1 is weaker/],
      ['1000$8$1', /N a power of two/],
      ['32768$0$1', /r and p ≥ 1/],
      ['1048576$8$1', /over the limit/],
      ['32768$8$64', /over the limit/],
    ] as const) {
      expect(() => checkPasswordHash(`scrypt$${cost}$${salt}$${key}`), cost).toThrow(message);
    }
    await expect(hashPassword('pw', { N: 1024, r: 8, p: 1 })).rejects.toThrow(PasswordHashError);
  });

  it('will not hash an empty password', async () => {
    await expect(hashPassword('')).rejects.toThrow(/empty/);
  });
});
