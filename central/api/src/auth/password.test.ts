import { describe, expect, it } from 'vitest';
import { checkPasswordHash, hashPassword, PasswordHashError, verifyPassword } from './password.js';

// Low cost keeps the unit tests fast; the format and comparison are the same as the default.
const cheap = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('verifies the password it hashed and refuses any other', async () => {
    const hash = await hashPassword('correct horse', cheap);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horse ', hash)).toBe(false);
    expect(await verifyPassword('Correct horse', hash)).toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    expect(await hashPassword('pw', cheap)).not.toBe(await hashPassword('pw', cheap));
  });

  it('hashes with the default cost (N=2^15) within the memory limit', async () => {
    const hash = await hashPassword('pw');
    expect(hash.startsWith('scrypt$32768$8$1$')).toBe(true);
    expect(await verifyPassword('pw', hash)).toBe(true);
  });

  it('refuses hashes not in its format, e.g. a plain-text password', () => {
    for (const bad of [
      'secret',
      'scrypt$1000$8$1$c2FsdA$a2V5',
      'bcrypt$2b$10$abc',
      'scrypt$1024$0$1$c2FsdA$a2V5',
    ]) {
      expect(() => checkPasswordHash(bad)).toThrow(PasswordHashError);
    }
  });

  it('will not hash an empty password', async () => {
    await expect(hashPassword('', cheap)).rejects.toThrow(/empty/);
  });
});
