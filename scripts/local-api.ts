// Log-ins for the local federation's API, console and desktop: one HQ manager, a supervisor for
// each site, a client for each tenant and one agent at each site (its first agent, whom the demo
// traffic leaves for a person to log in at the desktop), with passwords generated on first start and kept (with the token
// signing secret) under .ccfed/local/api/. Loopback only; production users come from the SREs'
// own users file (docs/deploy.md).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hashPassword } from '@ccfed/api/auth/password';
import type { Topology } from '@ccfed/topology';
import { parse, stringify } from 'yaml';

export interface LocalLogin {
  readonly username: string;
  readonly password: string;
  readonly role: 'hq' | 'site' | 'tenant' | 'agent';
  readonly siteId?: string;
  readonly tenantId?: string;
  readonly agentId?: string;
}

/** The agent of each site who takes calls at the desktop: the site's first agent. */
export function deskAgentsOf(topology: Topology): ReadonlyMap<string, string> {
  return new Map(
    topology.sites.flatMap((s) => (s.agents[0] ? [[s.id, s.agents[0].id] as const] : [])),
  );
}

export interface LocalApiConfig {
  readonly secret: string;
  readonly usersFile: string;
  readonly logins: readonly LocalLogin[];
}

/** A random secret of `bytes` bytes kept in `file` (made on first use), the same for every run. */
export function localSecret(file: string, bytes: number): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(bytes).toString('base64'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/** The users file and secret under `dir`, made on first use, extended when the topology grows. */
export async function localApiConfig(dir: string, topology: Topology): Promise<LocalApiConfig> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = localSecret(join(dir, 'token-secret'), 48);

  const loginsFile = join(dir, 'logins.yaml');
  const known = new Map<string, LocalLogin>(
    existsSync(loginsFile)
      ? (parse(readFileSync(loginsFile, 'utf8')) as LocalLogin[]).map((l) => [l.username, l])
      : [],
  );
  const wanted: Omit<LocalLogin, 'password'>[] = [
    { username: 'hq.manager', role: 'hq' },
    ...topology.sites.map((s) => ({
      username: `${s.id}.supervisor`,
      role: 'site' as const,
      siteId: s.id,
    })),
    ...topology.tenants.map((t) => ({
      username: `${t.id}.client`,
      role: 'tenant' as const,
      tenantId: t.id,
    })),
    ...[...deskAgentsOf(topology)].map(([siteId, agentId]) => ({
      username: `${siteId}.agent`,
      role: 'agent' as const,
      siteId,
      agentId,
    })),
  ];
  const logins = wanted.map((w) => ({
    ...w,
    password: known.get(w.username)?.password ?? randomBytes(9).toString('base64url'),
  }));
  writeFileSync(loginsFile, stringify(logins), { mode: 0o600 });

  const usersFile = join(dir, 'users.yaml');
  const users = await Promise.all(
    logins.map(async ({ password, ...who }) => ({
      ...who,
      passwordHash: await hashPassword(password),
    })),
  );
  writeFileSync(usersFile, stringify({ users }), { mode: 0o600 });
  return { secret, usersFile, logins };
}
