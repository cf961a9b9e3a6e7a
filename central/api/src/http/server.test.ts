import { connect } from 'node:net';
import { ManualClock, silentLogger } from '@ccfed/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { issueToken } from '../auth/token.js';
import { trustedProxies } from './client-address.js';
import { route } from './route.js';
import { ApiHttpServer } from './server.js';

const secret = 'server-unit-test-secret-0123456789abcdef';
const now = Date.UTC(2026, 0, 1);
let base: string;
let failure: Error | undefined;

const server = new ApiHttpServer({
  secret,
  clock: new ManualClock(now),
  log: silentLogger(),
  // Loopback stands in for the Ingress here.
  trustedProxies: trustedProxies(['127.0.0.1']),
  routes: [
    route({
      method: 'GET',
      path: '/hq-only',
      summary: 'only HQ',
      auth: true,
      roles: ['hq'],
      query: z.strictObject({ n: z.string().regex(/^\d+$/, 'expected digits').optional() }),
      response: z.unknown(),
      handle: async ({ query, scope }) => ({ query, scope }),
    }),
    route({
      method: 'GET',
      path: '/any-supervisor',
      summary: 'no roles named: every role but agents',
      auth: true,
      response: z.unknown(),
      handle: async ({ scope }) => ({ scope }),
    }),
    route({
      method: 'POST',
      path: '/calls/{callId}/note',
      summary: 'a path segment as a parameter, agents only',
      auth: true,
      roles: ['agent'],
      response: z.unknown(),
      handle: async ({ params, scope }) => ({ params, scope: scope ?? null }),
    }),
    route({
      method: 'POST',
      path: '/echo',
      summary: 'echo',
      auth: false,
      body: z.strictObject({ text: z.string() }),
      response: z.unknown(),
      handle: async ({ body }) => body,
    }),
    route({
      method: 'POST',
      path: '/list',
      summary: 'a route that takes a bigger body',
      auth: false,
      body: z.strictObject({ text: z.string() }),
      maxBodyBytes: 64 * 1024,
      response: z.unknown(),
      handle: async ({ body }) => ({ length: body.text.length }),
    }),
    route({
      method: 'GET',
      path: '/source',
      summary: 'who asks',
      auth: false,
      response: z.unknown(),
      handle: async ({ source }) => ({ source }),
    }),
    route({
      method: 'GET',
      path: '/fails',
      summary: 'fails',
      auth: false,
      response: z.unknown(),
      handle: async () => {
        throw (failure = new Error('Code: 60. Table secret_db.secret_table does not exist'));
      },
    }),
  ],
});

const bearer = (role: 'hq' | 'site') =>
  `Bearer ${issueToken(role === 'hq' ? { sub: 'a', role } : { sub: 'b', role, siteId: 'x' }, { secret, ttlSeconds: 60, now })}`;

beforeAll(async () => {
  base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
});
afterAll(() => server.close());

const agentBearer = `Bearer ${issueToken({ sub: 'w', role: 'agent', siteId: 'x', agentId: 'x-001' }, { secret, ttlSeconds: 60, now })}`;

describe('API HTTP server: agents and path parameters', () => {
  it('refuses an agent on a route that does not name it, and gives it no analytics scope', async () => {
    const refused = await fetch(`${base}/any-supervisor`, {
      headers: { authorization: agentBearer },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe(
      'role agent may not call GET /any-supervisor',
    );
    const ok = await fetch(`${base}/any-supervisor`, {
      headers: { authorization: bearer('site') },
    });
    expect(await ok.json()).toEqual({ scope: { role: 'site', siteId: 'x' } });
  });

  it('matches {name} segments and hands them to the route, refusing odd ones', async () => {
    const res = await fetch(`${base}/calls/abc%40host-1/note`, {
      method: 'POST',
      headers: { authorization: agentBearer },
    });
    expect(await res.json()).toEqual({ params: { callId: 'abc@host-1' }, scope: null });
    for (const odd of ['a%2Fb', '%20', 'x/y'])
      expect(
        (
          await fetch(`${base}/calls/${odd}/note`, {
            method: 'POST',
            headers: { authorization: agentBearer },
          })
        ).status,
        odd,
      ).toBe(404);
    const supervisor = await fetch(`${base}/calls/c1/note`, {
      method: 'POST',
      headers: { authorization: bearer('hq') },
    });
    expect(supervisor.status).toBe(403);
  });
});

describe('API HTTP server', () => {
  it('serves a route to a role it allows, with the validated query and the scope', async () => {
    const res = await fetch(`${base}/hq-only?n=12`, { headers: { authorization: bearer('hq') } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ query: { n: '12' }, scope: { role: 'hq' } });
  });

  it('answers 403 naming the route to a role it does not allow', async () => {
    const res = await fetch(`${base}/hq-only`, { headers: { authorization: bearer('site') } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'role site may not call GET /hq-only' });
  });

  it('answers 400 naming the field, and refuses parameters it does not know', async () => {
    const auth = { authorization: bearer('hq') };
    const bad = await fetch(`${base}/hq-only?n=x`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'invalid query: n: expected digits',
      details: [{ field: 'n', message: 'expected digits' }],
    });
    const unknown = await fetch(`${base}/hq-only?m=1&__proto__=x`, { headers: auth });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toBe(
      'invalid query: m, __proto__: unknown query parameter',
    );
  });

  it('checks the token before the query: no token, no validation answers', async () => {
    const res = await fetch(`${base}/hq-only?n=x`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('reads JSON bodies only, and names what is wrong with them', async () => {
    const send = (body: string, type = 'application/json') =>
      fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': type }, body });
    expect(await (await send('{"text":"hi"}')).json()).toEqual({ text: 'hi' });
    expect((await send('{"text":"hi"}', 'text/plain')).status).toBe(415);
    const notJson = await send('{"text":');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toBe('body: not valid JSON');
    const wrong = await send('{"text":1}');
    expect(((await wrong.json()) as { error: string }).error).toMatch(/^invalid body: text: /);
  });

  it('takes a bigger body on the route that says so only; over its limit is a 413, declared or streamed', async () => {
    const send = (path: string, text: string, chunked = false) => {
      const json = JSON.stringify({ text });
      return fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // A stream has no declared length: the limit is checked as the body arrives.
        body: chunked ? new Blob([json]).stream() : json,
        ...(chunked && { duplex: 'half' }),
      } as RequestInit);
    };
    const k17 = 'x'.repeat(17 * 1024);
    const listed = await send('/list', k17);
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ length: 17 * 1024 });
    expect((await send('/list', k17, true)).status).toBe(200);
    const echoed = await send('/echo', k17);
    expect(echoed.status).toBe(413);
    expect(await echoed.json()).toEqual({ error: `body over ${16 * 1024} bytes` });
    expect((await send('/echo', k17, true)).status).toBe(413);
    const k65 = 'x'.repeat(65 * 1024);
    for (const chunked of [false, true]) {
      const over = await send('/list', k65, chunked);
      expect(over.status, `chunked ${chunked}`).toBe(413);
      expect(over.headers.get('connection')).toBe('close');
      expect(await over.json()).toEqual({ error: `body over ${64 * 1024} bytes` });
    }
  });

  it('answers 404 and 405 (with Allow) in JSON', async () => {
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    const res = await fetch(`${base}/echo`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('answers an unexpected failure with a generic 500 and no detail', async () => {
    const res = await fetch(`${base}/fails`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('{"error":"internal error"}');
    expect(failure).toBeDefined();
  });

  it('refuses a route table with the same method and path twice', () => {
    const r = route({
      method: 'GET',
      path: '/x',
      summary: 'x',
      auth: false,
      response: z.unknown(),
      handle: async () => 1,
    });
    expect(
      () =>
        new ApiHttpServer({
          secret,
          clock: new ManualClock(),
          log: silentLogger(),
          routes: [r, r],
        }),
    ).toThrow(/GET \/x defined twice/);
  });

  it('puts the security headers on every answer, errors included', async () => {
    for (const res of [
      await fetch(`${base}/hq-only`, { headers: { authorization: bearer('hq') } }),
      await fetch(`${base}/hq-only`),
      await fetch(`${base}/nothing`),
      await fetch(`${base}/fails`),
    ]) {
      expect(res.headers.get('content-security-policy'), res.url).toBe(
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('answers every refused token with the same 401, whatever was wrong with it', async () => {
    const expired = issueToken(
      { sub: 'a', role: 'hq' },
      { secret, ttlSeconds: 60, now: now - 3_600_000 },
    );
    const forged = issueToken(
      { sub: 'a', role: 'hq' },
      { secret: `${secret}-x`, ttlSeconds: 60, now },
    );
    const bodies = new Set<string>();
    for (const authorization of [undefined, 'Basic abc', `Bearer ${expired}`, `Bearer ${forged}`]) {
      const res = await fetch(`${base}/hq-only`, {
        headers: authorization ? { authorization } : {},
      });
      expect(res.status).toBe(401);
      bodies.add(await res.text());
    }
    expect([...bodies]).toEqual([
      '{"error":"a valid bearer token is required (Authorization: Bearer <token>)"}',
    ]);
  });

  it("takes the client's address from X-Forwarded-For only behind a trusted proxy", async () => {
    const from = async (xff?: string) =>
      (await (
        await fetch(`${base}/source`, { headers: xff ? { 'x-forwarded-for': xff } : {} })
      ).json()) as {
        source: string;
      };
    expect(await from()).toEqual({ source: '127.0.0.1' });
    expect(await from('spoofed, 198.51.100.4')).toEqual({ source: '198.51.100.4' });
    expect(await from('2001:db8:1:2::7')).toEqual({ source: '2001:db8:1:2::/64' });
  });

  it('answers 408 and closes a connection whose body does not arrive within the request timeout', async () => {
    const slow = new ApiHttpServer({
      secret,
      clock: new ManualClock(now),
      log: silentLogger(),
      routes: [
        route({
          method: 'POST',
          path: '/echo',
          summary: 'echo',
          auth: false,
          body: z.unknown(),
          response: z.unknown(),
          handle: async ({ body }) => body,
        }),
      ],
      timeouts: { headersMs: 500, requestMs: 1_000, keepAliveMs: 500, idleMs: 60_000 },
    });
    const port = await slow.listen(0, '127.0.0.1');
    try {
      const started = Date.now();
      const { status, closedAfterMs } = await new Promise<{
        status: string;
        closedAfterMs: number;
      }>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(
            'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
          );
        });
        // A byte every 100 ms: never idle, never done.
        const drip = setInterval(() => socket.write('{'), 100);
        let answer = '';
        socket.on('data', (d) => (answer += d.toString()));
        socket.on('error', () => {});
        socket.on('close', () => {
          clearInterval(drip);
          resolve({ status: answer.split('\r\n')[0]!, closedAfterMs: Date.now() - started });
        });
      });
      expect(status).toBe('HTTP/1.1 408 Request Timeout');
      // The deadline, plus at most the one-second check interval (and a loaded machine's slack).
      expect(closedAfterMs).toBeGreaterThanOrEqual(1_000);
      expect(closedAfterMs).toBeLessThan(5_000);
    } finally {
      await slow.close();
    }
  });
});
