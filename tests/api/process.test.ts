// The API as a process, started the way production starts it: it refuses bad configuration with
// one clear message, serves with the users file it was given against ClickHouse, and exits 0 on
// SIGTERM.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hashPassword, verifyPassword } from '@ccfed/api/auth/password';
import { freePort } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { clickhouseEnv, freshDatabase, uniqueName, waitFor } from '../support/engines.js';
import { startService, type ServiceProcess } from '../support/processes.js';

const ENTRY = 'central/api/src/index.ts';
const SECRET = 'process-test-secret-0123456789-abcdefghij';

async function failedStart(
  env: Record<string, string>,
): Promise<{ code: number | null; log: string }> {
  const p = startService(ENTRY, env, 'api-bad');
  const code = await p.exited;
  await new Promise((r) => setTimeout(r, 50));
  return { code, log: readFileSync(p.logFile, 'utf8') };
}

describe('API process', () => {
  let api: ServiceProcess | undefined;
  let base: string;
  let usersFile: string;
  let database: string;

  beforeAll(async () => {
    ({ database } = await freshDatabase());
    usersFile = join(inject('runDir'), `${uniqueName('users')}.yaml`);
    const hash = await hashPassword('pw-for-the-process-test');
    writeFileSync(
      usersFile,
      `users:\n  - { username: acme.client, passwordHash: '${hash}', role: tenant, tenantId: acme }\n`,
    );
  });

  afterAll(async () => {
    await api?.kill();
  });

  it('refuses to start without a long enough secret or a readable users file, saying which', async () => {
    const env = {
      ...clickhouseEnv('api', database),
      CCFED_API_USERS: usersFile,
      CCFED_API_PORT: String(await freePort()),
    };
    const short = await failedStart({ ...env, CCFED_API_SECRET: 'short' });
    expect(short.code).toBe(1);
    expect(short.log).toMatch(
      /api could not start: invalid configuration from the environment:\n\s+CCFED_API_SECRET: must be at least 32 bytes/,
    );
    const missing = await failedStart({
      ...env,
      CCFED_API_SECRET: SECRET,
      CCFED_API_USERS: '/nonexistent/users.yaml',
    });
    expect(missing.code).toBe(1);
    expect(missing.log).toMatch(/invalid users file \/nonexistent\/users\.yaml:\n\s+cannot read/);
  });

  it('opens a session from its users file, serves scoped data, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    api = startService(
      ENTRY,
      {
        ...clickhouseEnv('api', database),
        CCFED_API_SECRET: SECRET,
        CCFED_API_USERS: usersFile,
        CCFED_API_PORT: String(port),
      },
      'api',
    );
    const doc = await waitFor('the OpenAPI document', async () => {
      const res = await fetch(`${base}/api/v1/openapi.json`);
      return res.ok ? ((await res.json()) as { paths: Record<string, unknown> }) : undefined;
    });
    expect(Object.keys(doc.paths)).toContain('/api/v1/sites/status');

    const session = await fetch(`${base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'acme.client', password: 'pw-for-the-process-test' }),
    });
    expect(session.status).toBe(200);
    const { token } = (await session.json()) as { token: string };
    const status = await fetch(`${base}/api/v1/sites/status`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(status.status).toBe(200);
    expect(await status.json()).toEqual({ rows: [] });
    const foreign = await fetch(`${base}/api/v1/sites/status?tenants=globex`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(foreign.status).toBe(403);

    expect(await api.stop()).toBe(0);
    const log = readFileSync(api.logFile, 'utf8');
    expect(log).toContain('"event":"api_listening"');
    expect(log).toContain('"event":"shutdown_step_done"');
  });

  it('hash-password prints a hash of the password on stdin that the users file accepts', async () => {
    const run = (input: string) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', 'central/api/src/auth/hash-password-cli.ts'],
        {
          input,
          encoding: 'utf8',
          cwd: new URL('../..', import.meta.url).pathname,
        },
      );
    const ok = run('s3cret pass\n');
    expect(ok.status).toBe(0);
    const hash = ok.stdout.trim();
    expect(await verifyPassword('s3cret pass', hash)).toBe(true);
    expect(await verifyPassword('s3cret pass\n', hash)).toBe(false);
    const empty = run('');
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('no password on stdin');
  });
});
