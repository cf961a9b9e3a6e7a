// Opening a session: username and password from the users file in, a bearer token out. Guessing
// is bounded three ways: each source address and each user name gets a few failures before 429
// with Retry-After (auth/login-throttle.ts); at most a few scrypt verifications run at once, the
// rest wait briefly or get 503 (auth/work-gate.ts); and an unknown user costs the same scrypt
// work as a wrong password, at the cost the users file's hashes have, so neither the answer nor
// its time tells whether the user exists.
import { z } from 'zod';
import { DEFAULT_LOGIN_LIMITS, LoginThrottle } from '../auth/login-throttle.js';
import { hashCost, hashPassword, verifyPassword } from '../auth/password.js';
import { issueToken } from '../auth/token.js';
import { principalOf, type User } from '../auth/users.js';
import { DEFAULT_WORK_GATE, GateBusyError, WorkGate } from '../auth/work-gate.js';
import { retryLater, unauthorized, UNAUTHORIZED } from '../http/errors.js';
import { route, type Route } from '../http/route.js';
import { API, type RouteDeps } from './deps.js';

const sessionBody = z.strictObject({
  username: z.string().min(1).max(64),
  // Bounded so that one request cannot make scrypt hash megabytes.
  password: z.string().min(1).max(1024),
});

export const sessionResponse = z.object({
  token: z.string(),
  expiresAt: z.string(),
  role: z.enum(['hq', 'site', 'tenant', 'agent']),
  siteId: z.string().optional(),
  tenantId: z.string().optional(),
  agentId: z.string().optional(),
});

/** The cost most of the users' hashes have: the decoy's, so an unknown user takes as long. */
function usualCost(users: ReadonlyMap<string, User>) {
  const counts = new Map<string, number>();
  for (const u of users.values()) {
    const key = JSON.stringify(hashCost(u.passwordHash));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const [top] = [...counts].sort((a, b) => b[1] - a[1]);
  return top ? (JSON.parse(top[0]) as ReturnType<typeof hashCost>) : undefined;
}

export function sessionRoute(deps: RouteDeps): Route {
  const throttle = new LoginThrottle(deps.login?.limits ?? DEFAULT_LOGIN_LIMITS);
  const gate = new WorkGate(deps.login?.scrypt ?? DEFAULT_WORK_GATE);
  // A real hash of a random password, computed once, to verify against when the user is unknown.
  const decoy = hashPassword(`decoy-${Math.random()}`, usualCost(deps.users));
  return route({
    method: 'POST',
    path: `${API}/session`,
    summary:
      'Opens a session: exchanges a username and password for a bearer token. Failed attempts are limited per source address and per user name (429 with Retry-After).',
    auth: false,
    body: sessionBody,
    response: sessionResponse,
    otherErrors: {
      '429':
        'Too many failed log-ins from this address or for this user name; Retry-After says when to try again.',
      '503': 'Too many log-ins in progress; Retry-After says when to try again.',
    },
    async handle({ body, source }) {
      const now = deps.clock.now();
      const verdict = throttle.attempt(source, body.username, now);
      if (!verdict.allowed) {
        deps.log?.warn(
          {
            event: 'api_login_throttled',
            source,
            username: body.username,
            limitedBy: verdict.limitedBy,
            retryAfterSeconds: verdict.retryAfterSeconds,
          },
          'log-in refused: too many failures',
        );
        throw retryLater(
          429,
          'too many failed log-ins; try again later',
          verdict.retryAfterSeconds,
        );
      }
      const user = deps.users.get(body.username);
      let ok: boolean;
      try {
        ok = await gate.run(async () =>
          verifyPassword(body.password, user?.passwordHash ?? (await decoy)),
        );
      } catch (err) {
        if (!(err instanceof GateBusyError)) throw err;
        // Not tried, so not counted against the caller.
        throttle.refund(verdict.ticket, deps.clock.now());
        deps.log?.warn({ event: 'api_login_busy', source, ...gate.load }, 'log-in queue full');
        throw retryLater(
          503,
          'too many log-ins in progress; try again shortly',
          err.retryAfterSeconds,
        );
      }
      if (!user || !ok) {
        deps.log?.info(
          { event: 'api_login_failed', source, username: body.username },
          'log-in failed',
        );
        throw unauthorized(UNAUTHORIZED.login);
      }
      throttle.refund(verdict.ticket, deps.clock.now());
      const principal = principalOf(user);
      const token = issueToken(principal, {
        secret: deps.secret,
        ttlSeconds: deps.tokenTtlSeconds,
        now,
      });
      deps.log?.info({ event: 'api_login', source, username: user.username }, 'logged in');
      const { sub: _sub, ...role } = principal;
      return {
        token,
        expiresAt: new Date((Math.floor(now / 1000) + deps.tokenTtlSeconds) * 1000).toISOString(),
        ...role,
      };
    },
  });
}
