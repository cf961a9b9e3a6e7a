// The users file (YAML, path in CCFED_API_USERS): who may open a session, with which role.
//
//   users:
//     - username: li.wei
//       passwordHash: scrypt$32768$8$1$...   # from hash-password
//       role: hq
//     - username: gz.supervisor
//       passwordHash: scrypt$...
//       role: site
//       siteId: guangzhou
//     - username: acme.client
//       passwordHash: scrypt$...
//       role: tenant
//       tenantId: acme
//     - username: wang.fang
//       passwordHash: scrypt$...
//       role: agent          # the desktop: one agent id at one site (checked against the topology)
//       siteId: beijing
//       agentId: bj-001
import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { checkPasswordHash, PasswordHashError } from './password.js';
import type { Principal } from './token.js';

const passwordHash = z.string().superRefine((hash, ctx) => {
  try {
    checkPasswordHash(hash);
  } catch (err) {
    if (!(err instanceof PasswordHashError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
});
const username = z.string().regex(/^[\w.@-]{1,64}$/, 'expected 1-64 letters, digits, . _ @ -');

const userSchema = z.discriminatedUnion('role', [
  z.strictObject({ username, passwordHash, role: z.literal('hq') }),
  z.strictObject({ username, passwordHash, role: z.literal('site'), siteId: z.string().min(1) }),
  z.strictObject({
    username,
    passwordHash,
    role: z.literal('tenant'),
    tenantId: z.string().min(1),
  }),
  z.strictObject({
    username,
    passwordHash,
    role: z.literal('agent'),
    siteId: z.string().min(1),
    agentId: z.string().min(1),
  }),
]);

const usersFileSchema = z.strictObject({ users: z.array(userSchema) }).superRefine((file, ctx) => {
  const seen = new Set<string>();
  file.users.forEach((u, i) => {
    if (seen.has(u.username)) {
      ctx.addIssue({
        code: 'custom',
        path: ['users', i, 'username'],
        message: `${u.username} appears twice`,
      });
    }
    seen.add(u.username);
  });
});

export type User = z.output<typeof userSchema>;

/**
 * A users file that cannot be used; names the file, and for each problem its line, the path
 * inside the file and what was wrong. The API refuses to start with it.
 */
export class UsersFileError extends Error {
  constructor(file: string, problems: readonly string[]) {
    super(`invalid users file ${file}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'UsersFileError';
  }
}

/** The users of a users file's text; `file` names it in errors. */
export function parseUsers(text: string, file: string): ReadonlyMap<string, User> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new UsersFileError(
      file,
      doc.errors.map((e) => `line ${lines.linePos(e.pos[0]).line}: not YAML: ${e.message}`),
    );
  }
  const result = usersFileSchema.safeParse(doc.toJS());
  if (!result.success) {
    throw new UsersFileError(
      file,
      result.error.issues.map(
        (i) => `line ${lineOf(doc, lines, i.path)}: ${i.path.join('.') || '(root)'}: ${i.message}`,
      ),
    );
  }
  return new Map(result.data.users.map((u) => [u.username, u]));
}

/** The line `path` is on, or that of the nearest enclosing node present (a missing key's map). */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return 1;
}

/** Reads and parses the users file at `path`. */
export function loadUsers(path: string): ReadonlyMap<string, User> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsersFileError(path, [`cannot read: ${(err as Error).message}`]);
  }
  return parseUsers(text, path);
}

/** The token subject of a user: its name and role, without the password hash. */
export function principalOf(user: User): Principal {
  switch (user.role) {
    case 'hq':
      return { sub: user.username, role: 'hq' };
    case 'site':
      return { sub: user.username, role: 'site', siteId: user.siteId };
    case 'tenant':
      return { sub: user.username, role: 'tenant', tenantId: user.tenantId };
    case 'agent':
      return { sub: user.username, role: 'agent', siteId: user.siteId, agentId: user.agentId };
  }
}

/**
 * Problems of the users file against the topology: an agent user must name an agent of the site
 * it names, and no two users may be the same agent (one person's desk). Empty when it fits.
 */
export function usersTopologyProblems(
  users: ReadonlyMap<string, User>,
  agentsBySite: ReadonlyMap<string, ReadonlySet<string>>,
): string[] {
  const problems: string[] = [];
  const taken = new Map<string, string>();
  for (const u of users.values()) {
    if (u.role !== 'agent') continue;
    const agents = agentsBySite.get(u.siteId);
    if (!agents) problems.push(`${u.username}: site ${u.siteId} is not in the topology`);
    else if (!agents.has(u.agentId))
      problems.push(`${u.username}: ${u.agentId} is not an agent of site ${u.siteId}`);
    const key = `${u.siteId}/${u.agentId}`;
    const other = taken.get(key);
    if (other) problems.push(`${u.username}: agent ${key} is already ${other}'s`);
    taken.set(key, u.username);
  }
  return problems;
}
