import { describe, expect, it } from 'vitest';
import { hashPassword } from './password.js';
import { parseUsers, principalOf, UsersFileError, usersTopologyProblems } from './users.js';

/** The error parseUsers throws for `text`. */
function problem(text: string, file = 'users.yaml'): UsersFileError {
  try {
    parseUsers(text, file);
  } catch (e) {
    return e as UsersFileError;
  }
  throw new Error('parseUsers accepted it');
}

describe('users file', async () => {
  const hash = await hashPassword('pw');

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

  it('names the file, the line, the path and the problem', () => {
    const err = problem(
      `users:
  - { username: a, passwordHash: plain-text, role: hq }
  - { username: b, passwordHash: '${hash}', role: site }
  - { username: c, passwordHash: '${hash}', role: tenant, tenantId: t, extra: 1 }
`,
      '/etc/ccfed/users.yaml',
    );
    expect(err).toBeInstanceOf(UsersFileError);
    expect(err.message).toContain('/etc/ccfed/users.yaml');
    expect(err.message).toMatch(/line 2: users\.0\.passwordHash: expected scrypt/);
    expect(err.message).toMatch(/line 3: users\.1\.siteId/);
    expect(err.message).toMatch(/line 4: users\.2: .*extra/);
  });

  it('refuses a truncated or weak hash at its line, whatever else the file holds', () => {
    const truncated = hash.slice(0, -8);
    const weak = hash.replace('scrypt$32768$', 'scrypt$1024$');
    const err = problem(
      [
        'users:',
        `  - username: li.wei`,
        `    passwordHash: '${hash}'`,
        `    role: hq`,
        `  - username: gz.sup`,
        `    passwordHash: '${truncated}'`,
        `    role: site`,
        `    siteId: guangzhou`,
        `  - username: acme`,
        `    passwordHash: '${weak}'`,
        `    role: tenant`,
        `    tenantId: acme`,
      ].join('\n'),
    );
    expect(err.message).toMatch(
      /line 6: users\.1\.passwordHash: the key is 26 bytes, 32 expected: the hash is truncated/,
    );
    expect(err.message).toMatch(
      /line 10: users\.2\.passwordHash: scrypt cost N=1024, r=8, p=1 is weaker than the minimum/,
    );
    // The password itself never appears in the message, nor the rest of the hash.
    expect(err.message).not.toContain(truncated);
  });

  it('refuses a user named twice', () => {
    expect(
      problem(
        `users:\n  - { username: a, passwordHash: '${hash}', role: hq }\n  - { username: a, passwordHash: '${hash}', role: hq }\n`,
        'u.yaml',
      ).message,
    ).toMatch(/line 3: users\.1\.username: a appears twice/);
  });

  it('refuses text that is not YAML, with its line', () => {
    expect(problem('users:\n  - [unclosed', 'u.yaml').message).toMatch(
      /u\.yaml:\n {2}line \d+: not YAML/,
    );
  });
});

describe('agent users', async () => {
  const hash = await hashPassword('pw');
  const users = (extra = '') =>
    parseUsers(
      `users:
  - { username: wang.fang, passwordHash: '${hash}', role: agent, siteId: beijing, agentId: bj-001 }
${extra}`,
      'users.yaml',
    );
  const topology = new Map([['beijing', new Set(['bj-001', 'bj-002'])]]);

  it('is one agent id at one site, and its token says so', () => {
    expect([...users().values()].map(principalOf)).toEqual([
      { sub: 'wang.fang', role: 'agent', siteId: 'beijing', agentId: 'bj-001' },
    ]);
    expect(usersTopologyProblems(users(), topology)).toEqual([]);
  });

  it('must name an agent of its site, once', () => {
    expect(
      usersTopologyProblems(
        users(`  - { username: x, passwordHash: '${hash}', role: agent, siteId: beijing, agentId: bj-009 }
  - { username: y, passwordHash: '${hash}', role: agent, siteId: mars, agentId: bj-001 }
  - { username: z, passwordHash: '${hash}', role: agent, siteId: beijing, agentId: bj-001 }
`),
        topology,
      ),
    ).toEqual([
      'x: bj-009 is not an agent of site beijing',
      'y: site mars is not in the topology',
      "z: agent beijing/bj-001 is already wang.fang's",
    ]);
    expect(() =>
      parseUsers(
        `users:\n  - { username: a, passwordHash: '${hash}', role: agent, siteId: beijing }\n`,
        'u.yaml',
      ),
    ).toThrow(/agentId/);
  });
});
