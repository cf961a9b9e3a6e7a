// Opening a session: username and password from the users file in, a bearer token out. An unknown
// user costs the same scrypt work as a wrong password, so the answer time does not tell which.
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../auth/password.js';
import { principalOf } from '../auth/users.js';
import { issueToken } from '../auth/token.js';
import { unauthorized } from '../http/errors.js';
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
  role: z.enum(['hq', 'site', 'tenant']),
  siteId: z.string().optional(),
  tenantId: z.string().optional(),
});

export function sessionRoute(deps: RouteDeps): Route {
  // A real hash of a random password, computed once, to verify against when the user is unknown.
  const decoy = hashPassword(`decoy-${Math.random()}`);
  return route({
    method: 'POST',
    path: `${API}/session`,
    summary: 'Opens a session: exchanges a username and password for a bearer token.',
    auth: false,
    body: sessionBody,
    response: sessionResponse,
    async handle({ body }) {
      const user = deps.users.get(body.username);
      const ok = await verifyPassword(body.password, user?.passwordHash ?? (await decoy));
      if (!user || !ok) throw unauthorized('unknown username or wrong password');
      const principal = principalOf(user);
      const now = deps.clock.now();
      const token = issueToken(principal, {
        secret: deps.secret,
        ttlSeconds: deps.tokenTtlSeconds,
        now,
      });
      const { sub: _sub, ...role } = principal;
      return {
        token,
        expiresAt: new Date((Math.floor(now / 1000) + deps.tokenTtlSeconds) * 1000).toISOString(),
        ...role,
      };
    },
  });
}
