import { describe, expect, it } from 'vitest';
import { hashPassword } from './password.js';
import { parseUsers, principalOf, UsersFileError } from './users.js';

describe('users file', async () => {
  const hash = await hashPassword('pw', { N: 1024, r: 8, p: 1 });

  it('reads each role with what it needs', () => {
    const users = parseUsers(
      `users:
  - { username: li.wei, passwordHash: '${hash}', role: hq }
  - { username: gz.sup, passwordHash: '${hash}', role: site, siteId: guangzhou }
  - { username: acme, passwordHash: '${hash}', role: tenant, tenantId: acme }
`,
      'users.yaml',
    );
    expect([...users.values()].map(principalOf)).toEqual([
      { sub: 'li.wei', role: 'hq' },
      { sub: 'gz.sup', role: 'site', siteId: 'guangzhou' },
      { sub: 'acme', role: 'tenant', tenantId: 'acme' },
    ]);
  });

  it('names the file, the path and the problem', () => {
    const text = `users:
  - { username: a, passwordHash: plain-text, role: hq }
  - { username: b, passwordHash: '${hash}', role: site }
  - { username: a, passwordHash: '${hash}', role: tenant, tenantId: t, extra: 1 }
`;
    const err = (() => {
      try {
        parseUsers(text, '/etc/ccfed/users.yaml');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(UsersFileError);
    expect(err?.message).toContain('/etc/ccfed/users.yaml');
    expect(err?.message).toMatch(/users\.0\.passwordHash: expected scrypt/);
    expect(err?.message).toMatch(/users\.1\.siteId/);
    expect(err?.message).toMatch(/users\.2: .*extra/);
  });

  it('refuses a user named twice', () => {
    expect(() =>
      parseUsers(
        `users:\n  - { username: a, passwordHash: '${hash}', role: hq }\n  - { username: a, passwordHash: '${hash}', role: hq }\n`,
        'u.yaml',
      ),
    ).toThrow(/users\.1\.username: a appears twice/);
  });

  it('refuses text that is not YAML', () => {
    expect(() => parseUsers('users: [unclosed', 'u.yaml')).toThrow(/u\.yaml:\n {2}not YAML/);
  });
});
