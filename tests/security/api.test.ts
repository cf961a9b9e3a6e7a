// The API process tried as an attacker would, started the way production starts it (its users
// file, its own ClickHouse user, Kafka for the live wall): password guessing from one address
// and across many is answered 429 with Retry-After while the real user still logs in from
// elsewhere; a client that sends its headers or body a byte at a time is cut off at the deadline
// while a live stream stays open; a truncated or weak hash keeps the process from starting;
// every answer carries the security headers; a 401 never says what was wrong; and the API's
// ClickHouse user cannot write. Distinct client addresses are real: each client binds its own
// loopback address (127.0.0.2, 127.0.0.3, ...), which the API sees as its peer.
import { request } from 'node:http';
import { connect } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { hashPassword } from '@ccfed/api/auth/password';
import { issueToken } from '@ccfed/api/auth/token';
import { freePort } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { buildConsoleIfStale, CONSOLE_DIST } from '../../scripts/console-build.js';
import { insertFixture } from '../api/fixture.js';
import {
  clickhouseClient,
  clickhouseEnv,
  freshDatabase,
  freshTopics,
  kafkaBrokers,
  uniqueName,
  waitFor,
} from '../support/engines.js';
import { startService, type ServiceProcess } from '../support/processes.js';

const ENTRY = 'central/api/src/index.ts';
const SECRET = 'security-test-secret-0123456789-abcdefghij';
const PASSWORD = 'the real password of the HQ manager';
const REQUEST_TIMEOUT_MS = 3_000;
const HEADERS_TIMEOUT_MS = 2_000;
/** Production's defaults (auth/login-throttle.ts): the test runs them, not easier ones. */
const FAILURES_PER_SOURCE = 10;
const FAILURES_PER_USER = 20;
const REFILL_SECONDS = 30;

let database: string;
let admin: ClickHouseClient;
let usersFile: string;
let hash: string;
let api: ServiceProcess;
let port: number;
let env: Record<string, string>;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request to the API from the loopback address `from`. */
function ask(
  from: string,
  method: 'GET' | 'POST',
  path: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method,
        path,
        headers: {
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...opts.headers,
        },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const logIn = (from: string, username: string, password: string, headers = {}) =>
  ask(from, 'POST', '/api/v1/session', { body: { username, password }, headers });

/** Starts the API with `users` as its users file; resolves once it has exited. */
async function failedStart(users: string): Promise<{ code: number | null; log: string }> {
  const file = join(inject('runDir'), `${uniqueName('users')}.yaml`);
  writeFileSync(file, users);
  const p = startService(ENTRY, { ...env, CCFED_API_USERS: file, CCFED_API_PORT: '0' }, 'api-bad');
  const code = await p.exited;
  await new Promise((r) => setTimeout(r, 50));
  return { code, log: readFileSync(p.logFile, 'utf8') };
}

/**
 * Opens a raw connection, sends `head`, then one byte of `drip` every 200 ms; resolves when the
 * server closes it, with its status line and how long after the first byte that was.
 */
function dribble(head: string, drip: string): Promise<{ status: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.9' }, () => {
      socket.write(head);
    });
    let i = 0;
    const timer = setInterval(() => socket.write(drip[i++ % drip.length]!), 200);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ status: answer.split('\r\n')[0] ?? '', ms: Date.now() - started });
    });
  });
}

beforeAll(async () => {
  buildConsoleIfStale();
  ({ database, client: admin } = await freshDatabase());
  await insertFixture(admin);
  const { prefix } = await freshTopics(1);
  hash = await hashPassword(PASSWORD);
  usersFile = join(inject('runDir'), `${uniqueName('users')}.yaml`);
  writeFileSync(
    usersFile,
    [
      'users:',
      `  - { username: hq.manager, passwordHash: '${hash}', role: hq }`,
      `  - { username: acme.client, passwordHash: '${hash}', role: tenant, tenantId: acme }`,
    ].join('\n'),
  );
  port = await freePort();
  env = {
    ...clickhouseEnv('api', database),
    CCFED_API_SECRET: SECRET,
    CCFED_API_USERS: usersFile,
    CCFED_API_PORT: String(port),
    CCFED_KAFKA_BROKERS: kafkaBrokers().join(','),
    CCFED_TOPIC_PREFIX: prefix,
    CCFED_CONSOLE_DIR: CONSOLE_DIST,
    // 127.0.0.1 stands for the Ingress: only its X-Forwarded-For is believed.
    CCFED_API_TRUSTED_PROXIES: '127.0.0.1',
    CCFED_API_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    CCFED_API_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  };
  api = startService(ENTRY, env, 'api');
  await waitFor(
    'the API listening',
    async () =>
      readFileSync(api.logFile, 'utf8').includes('"event":"api_listening"') ? true : undefined,
    60_000,
  );
}, 180_000);

afterAll(async () => {
  await api?.stop();
  await admin?.close();
});

describe('API under attack', () => {
  it('answers password guessing from one address with 429 and Retry-After; the user still logs in from another', async () => {
    const attacker = '127.0.0.2';
    for (let i = 0; i < FAILURES_PER_SOURCE; i++) {
      const res = await logIn(attacker, 'hq.manager', `guess-${i}`);
      expect(res.status, `guess ${i}`).toBe(401);
    }
    const refused = await logIn(attacker, 'hq.manager', 'guess-next');
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(REFILL_SECONDS);
    expect(JSON.parse(refused.body)).toEqual({ error: 'too many failed log-ins; try again later' });
    // Refused before the password is looked at: the right one gets the same answer from there,
    // and so does any other user name, and any X-Forwarded-For it makes up.
    expect((await logIn(attacker, 'hq.manager', PASSWORD)).status).toBe(429);
    expect((await logIn(attacker, 'acme.client', PASSWORD)).status).toBe(429);
    expect(
      (await logIn(attacker, 'hq.manager', 'x', { 'x-forwarded-for': '198.51.100.77' })).status,
    ).toBe(429);

    const elsewhere = await logIn('127.0.0.3', 'hq.manager', PASSWORD);
    expect(elsewhere.status).toBe(200);
    expect(JSON.parse(elsewhere.body)).toMatchObject({ role: 'hq' });
    const log = readFileSync(api.logFile, 'utf8');
    expect(log).toMatch(/"event":"api_login_throttled".*"source":"127\.0\.0\.2"/);
  });

  it('caps guesses at one user name from many addresses (behind the Ingress, by X-Forwarded-For)', async () => {
    // Through the trusted proxy, each guess claims a fresh client address: per-address limits
    // never bite, the user name's does.
    const via = (n: number) => ({ 'x-forwarded-for': `203.0.113.${n}` });
    const statuses: number[] = [];
    for (let i = 0; i < FAILURES_PER_USER + 1; i++) {
      statuses.push((await logIn('127.0.0.1', 'acme.client', `guess-${i}`, via(i + 1))).status);
    }
    expect(statuses.slice(0, FAILURES_PER_USER).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // The user name is what is limited now (the cost of per-user limits: docs/security.md).
    expect((await logIn('127.0.0.1', 'acme.client', PASSWORD, via(200))).status).toBe(429);
    // Other users are not.
    expect((await logIn('127.0.0.1', 'hq.manager', PASSWORD, via(201))).status).toBe(200);
  });

  it('says nothing in a 401 about why: unknown user, wrong password, bad or expired token alike', async () => {
    const from = '127.0.0.4';
    const wrong = await logIn(from, 'hq.manager', 'not it');
    const unknown = await logIn(from, 'no.such.user', 'not it');
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body).toBe(unknown.body);
    expect(JSON.parse(wrong.body)).toEqual({ error: 'invalid username or password' });

    const expired = issueToken(
      { sub: 'hq.manager', role: 'hq' },
      { secret: SECRET, ttlSeconds: 60, now: Date.now() - 3_600_000 },
    );
    const forged = issueToken(
      { sub: 'hq.manager', role: 'hq' },
      { secret: `${SECRET}-not-the-server's`, ttlSeconds: 60 },
    );
    const bodies = new Set<string>();
    for (const authorization of [undefined, `Bearer ${expired}`, `Bearer ${forged}`, 'Basic x']) {
      for (const path of ['/api/v1/sites/status', '/api/v1/live']) {
        const res = await ask(from, 'GET', path, {
          headers: authorization ? { authorization } : {},
        });
        expect(res.status, `${path} ${authorization}`).toBe(401);
        bodies.add(res.body);
      }
    }
    expect([...bodies]).toEqual([
      '{"error":"a valid bearer token is required (Authorization: Bearer <token>)"}',
    ]);
  });

  it('cuts off a client that sends its body or headers a byte at a time, and keeps a live stream open', async () => {
    const token = JSON.parse((await logIn('127.0.0.5', 'hq.manager', PASSWORD)).body).token;
    // The live stream, opened first: it must outlive the slow clients' deadline.
    let liveOpen = true;
    let liveBytes = 0;
    const live = request({
      host: '127.0.0.1',
      port,
      path: '/api/v1/live',
      headers: { authorization: `Bearer ${token}` },
      agent: false,
    });
    live.on('response', (res) => {
      res.on('data', (d: Buffer) => (liveBytes += d.length));
      res.on('close', () => (liveOpen = false));
    });
    live.on('error', () => (liveOpen = false));
    live.end();
    await waitFor('the live stream answering', async () => (liveBytes > 0 ? true : undefined));

    const [body, headers] = await Promise.all([
      dribble(
        'POST /api/v1/session HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n',
        '{"username":"hq.manager","password":"',
      ),
      dribble(
        'GET /api/v1/openapi.json HTTP/1.1\r\n',
        'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n',
      ),
    ]);
    expect(body.status).toBe('HTTP/1.1 408 Request Timeout');
    // Cut at the deadline: Node checks once a second, and a loaded machine adds a little.
    expect(body.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
    expect(body.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 4_000);
    expect(headers.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS);
    expect(headers.ms).toBeLessThan(HEADERS_TIMEOUT_MS + 4_000);
    // The live stream has been open longer than the request deadline, and still is.
    expect(liveOpen).toBe(true);
    live.destroy();
  });

  it('puts the security headers on the console, the JSON routes and their errors', async () => {
    const page = await ask('127.0.0.6', 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    for (const res of [
      page,
      await ask('127.0.0.6', 'GET', '/api/v1/openapi.json'),
      await ask('127.0.0.6', 'GET', '/api/v1/sites/status'),
      await ask('127.0.0.6', 'GET', '/api/v1/nothing'),
    ]) {
      expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it("reads ClickHouse as a user that cannot write: the API's own login is refused INSERT, ALTER and DROP", async () => {
    expect(env.CCFED_CLICKHOUSE_USER).toBe('ccfed_api');
    const token = JSON.parse((await logIn('127.0.0.7', 'hq.manager', PASSWORD)).body).token;
    // It serves the fixture's calls with that login...
    const kpis = await ask(
      '127.0.0.7',
      'GET',
      '/api/v1/kpis?from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:00Z&groupBy=site',
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(kpis.status).toBe(200);
    expect(JSON.parse(kpis.body).rows.length).toBeGreaterThan(0);
    // ...and that login can change nothing.

    const asApi = clickhouseClient('api', database);
    try {
      for (const statement of [
        `INSERT INTO surveys (event_id, event_time, event_date) VALUES ('x', now(), today())`,
        'ALTER TABLE surveys DELETE WHERE 1',
        'ALTER TABLE call_events DROP COLUMN payload',
        'DROP TABLE route_decisions',
        'TRUNCATE TABLE site_snapshots',
      ]) {
        await expect(asApi.command({ query: statement }), statement).rejects.toThrow(
          /readonly mode/,
        );
      }
    } finally {
      await asApi.close();
    }
    const tables = await admin.query({
      query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN ('surveys', 'route_decisions', 'site_snapshots')`,
      format: 'JSONEachRow',
    });
    expect(await tables.json()).toHaveLength(3);
  });

  it('refuses to start on a truncated or weak hash in the users file, naming its line', async () => {
    const truncated = await failedStart(
      [
        'users:',
        `  - { username: hq.manager, passwordHash: '${hash}', role: hq }`,
        `  - { username: acme.client, passwordHash: '${hash.slice(0, -10)}', role: tenant, tenantId: acme }`,
      ].join('\n'),
    );
    expect(truncated.code).toBe(1);
    expect(truncated.log).toMatch(
      /api could not start: invalid users file .*\.yaml:\n\s+line 3: users\.1\.passwordHash: the key is 24 bytes, 32 expected: the hash is truncated/,
    );
    expect(truncated.log).not.toContain('"event":"api_listening"');

    const weak = await failedStart(
      `users:\n  - { username: hq.manager, passwordHash: '${hash.replace('scrypt$32768$', 'scrypt$1024$')}', role: hq }\n`,
    );
    expect(weak.code).toBe(1);
    expect(weak.log).toMatch(
      /line 2: users\.0\.passwordHash: scrypt cost N=1024, r=8, p=1 is weaker than the minimum/,
    );
  });
});
