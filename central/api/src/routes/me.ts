import { z } from 'zod';
import { route, scopeOf, type Route } from '../http/route.js';
import { API } from './deps.js';

export const meResponse = z.object({
  username: z.string(),
  role: z.enum(['hq', 'site', 'tenant']),
  siteId: z.string().optional(),
  tenantId: z.string().optional(),
  expiresAt: z.string(),
});

export function meRoute(): Route {
  return route({
    method: 'GET',
    path: `${API}/me`,
    summary: "The caller's role and what it may see (its site or tenant).",
    auth: true,
    response: meResponse,
    async handle(ctx) {
      const { sub, exp } = ctx.claims!;
      return { username: sub, ...scopeOf(ctx), expiresAt: new Date(exp * 1000).toISOString() };
    },
  });
}
