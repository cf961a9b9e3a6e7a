// The central API as its own process, as production runs it: ClickHouse as its read-only user,
// the sites through its own certificate (service:api), a users file, and every user's session.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '@ccfed/api/auth/password';
import { freePort } from '@ccfed/services';
import { stringify } from 'yaml';
import { clickhouseEnv, waitFor } from './engines.js';
import { startService, type ServiceProcess } from './processes.js';
import { tlsEnv } from './security.js';

/** A users-file entry without its hash: `{username, role, siteId?, tenantId?, agentId?}`. */
export type ApiUser = { readonly username: string; readonly role: string } & Readonly<
  Record<string, string>
>;

export interface ApiProcess {
  /** http://127.0.0.1:<port> */
  readonly base: string;
  readonly process: ServiceProcess;
  /** Each user's bearer token. */
  readonly tokens: ReadonlyMap<string, string>;
  stop(): Promise<unknown>;
}

export async function startApiProcess(opts: {
  /** Where its users file goes. */
  readonly dir: string;
  readonly database: string;
  readonly topologyFile: string;
  readonly users: readonly ApiUser[];
  /** Every user's password. */
  readonly password: string;
  readonly env?: Record<string, string>;
}): Promise<ApiProcess> {
  const hash = await hashPassword(opts.password);
  const usersFile = join(opts.dir, 'api-users.yaml');
  writeFileSync(
    usersFile,
    stringify({ users: opts.users.map((u) => ({ ...u, passwordHash: hash })) }),
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = startService(
    'central/api/src/index.ts',
    {
      ...clickhouseEnv('api', opts.database),
      CCFED_API_SECRET: `api-process-test-secret-${port}-0123456789-abcdefghij`,
      CCFED_API_USERS: usersFile,
      CCFED_API_PORT: String(port),
      CCFED_TOPOLOGY: opts.topologyFile,
      // The API's own certificate: the principal sites act for (on behalf of people) and stream
      // recordings to.
      ...(await tlsEnv({ kind: 'service', service: 'api' })),
      ...opts.env,
    },
    'api',
  );
  await waitFor(
    'the API listening',
    async () =>
      readFileSync(api.logFile, 'utf8').includes('"event":"api_listening"') ? true : undefined,
    60_000,
  );
  const tokens = new Map<string, string>();
  for (const { username } of opts.users) {
    const res = await fetch(`${base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: opts.password }),
    });
    if (res.status !== 200) throw new Error(`${username} cannot log in: ${res.status}`);
    tokens.set(username, ((await res.json()) as { token: string }).token);
  }
  return { base, process: api, tokens, stop: () => api.stop() };
}
