import { ManualClock, silentLogger } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../auth/password.js';
import type { User } from '../auth/users.js';
import { HttpError } from '../http/errors.js';
import type { RouteContext } from '../http/route.js';
import type { RouteDeps } from './deps.js';
import { sessionRoute } from './session.js';

const PASSWORD = 'the right one';

describe('opening a session', async () => {
  const hash = await hashPassword(PASSWORD);
  const users = new Map<string, User>([
    ['li.wei', { username: 'li.wei', passwordHash: hash, role: 'hq' }],
  ]);
  const deps = (extra: Partial<RouteDeps> = {}): RouteDeps => ({
    runQuery: async () => [],
    users,
    secret: 'session-unit-test-secret-0123456789abcdef',
    tokenTtlSeconds: 60,
    clock: new ManualClock(Date.UTC(2026, 2, 2)),
    log: silentLogger(),
    ...extra,
  });
  const attempt = (
    route: ReturnType<typeof sessionRoute>,
    username: string,
    password: string,
    source = '203.0.113.7',
  ) =>
    route.handle({ body: { username, password }, source } as RouteContext<unknown, unknown>).then(
      () => ({ status: 200, headers: {} as Record<string, string> }),
      (err: unknown) => {
        if (!(err instanceof HttpError)) throw err;
        return { status: err.status, message: err.message, headers: err.headers ?? {} };
      },
    );

  it('answers an unknown user and a wrong password alike', async () => {
    const route = sessionRoute(deps());
    const unknown = await attempt(route, 'nobody', PASSWORD);
    const wrong = await attempt(route, 'li.wei', 'wrong');
    expect(unknown).toEqual(wrong);
    expect(unknown).toMatchObject({ status: 401, message: 'invalid username or password' });
    expect((await attempt(route, 'li.wei', PASSWORD)).status).toBe(200);
  });

  it('counts failures only: a user who logs in right is never limited', async () => {
    const route = sessionRoute(
      deps({
        login: {
          limits: {
            perSource: { burst: 2, refillSeconds: 60 },
            perUser: { burst: 4, refillSeconds: 60 },
          },
        },
      }),
    );
    for (let i = 0; i < 5; i++) expect((await attempt(route, 'li.wei', PASSWORD)).status).toBe(200);
    expect((await attempt(route, 'li.wei', 'x')).status).toBe(401);
    expect((await attempt(route, 'li.wei', 'y')).status).toBe(401);
    const limited = await attempt(route, 'li.wei', PASSWORD);
    expect(limited).toMatchObject({ status: 429, headers: { 'retry-after': '60' } });
    expect((await attempt(route, 'li.wei', PASSWORD, '198.51.100.2')).status).toBe(200);
  });

  it('answers 503 with Retry-After when no scrypt slot is free, and does not count that attempt', async () => {
    const route = sessionRoute(
      deps({
        login: {
          limits: {
            perSource: { burst: 1, refillSeconds: 60 },
            perUser: { burst: 5, refillSeconds: 60 },
          },
          scrypt: { concurrency: 1, queue: 0, maxWaitMs: 1000 },
        },
      }),
    );
    // The first takes the only slot synchronously; the second finds none and no queue.
    const [first, second] = await Promise.all([
      attempt(route, 'li.wei', PASSWORD, '198.51.100.3'),
      attempt(route, 'li.wei', 'wrong', '198.51.100.4'),
    ]);
    expect(first.status).toBe(200);
    expect(second).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
    // Its source still has its one attempt: the refused one was given back.
    expect((await attempt(route, 'li.wei', 'wrong', '198.51.100.4')).status).toBe(401);
    expect((await attempt(route, 'li.wei', 'wrong', '198.51.100.4')).status).toBe(429);
  });
});
