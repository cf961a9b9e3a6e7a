import { z } from 'zod';
import { route, scopeOf, type Route } from '../http/route.js';
import { API } from './deps.js';

export const meResponse = z.object({
  username: z.string(),
  role: z.enum(['hq', 'site', 'tenant', 'agent']),
  siteId: z.string().optional(),
  tenantId: z.string().optional(),
  /** An agent's own id (role agent). */
  agentId: z.string().optional(),
  expiresAt: z.string(),
});

export function meRoute(): Route {
  return route({
    method: 'GET',
    path: `${API}/me`,
    summary: "The caller's role and what it may see (its site or tenant; an agent: itself).",
    auth: true,
    roles: ['hq', 'site', 'tenant', 'agent'],
    response: meResponse,
    async handle(ctx) {
      const claims = ctx.claims!;
      const expiresAt = new Date(claims.exp * 1000).toISOString();
      if (claims.role === 'agent') {
        const { sub, role, siteId, agentId } = claims;
        return { username: sub, role, siteId, agentId, expiresAt };
      }
      return { username: claims.sub, ...scopeOf(ctx), expiresAt };
    },
  });
}
