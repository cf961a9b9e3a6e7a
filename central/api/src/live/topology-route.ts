// GET /api/v1/topology: the federation as the console's topology page shows it, read only and
// cut to the caller's scope. Addresses (SIP, evapi, gRPC) and fallbacks are operators' business
// and never leave the server. HQ sees every site, agent and routing rule; a site supervisor its
// own site; a tenant client the sites and skills (to read its figures by) and only its own agents
// and restrictions.
import type { Scope } from '@ccfed/analytics/scope';
import type { Topology } from '@ccfed/topology';
import { z } from 'zod';
import { route, scopeOf, type Route } from '../http/route.js';
import { API } from '../routes/deps.js';

const topologyView = z.object({
  sites: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      timezone: z.string(),
      handicapSeconds: z.number(),
      agents: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          tenant: z.string(),
          skills: z.record(z.string(), z.number()),
        }),
      ),
    }),
  ),
  skills: z.array(z.record(z.string(), z.unknown())),
  tenants: z.array(z.object({ id: z.string(), name: z.string() })),
  routing: z.record(z.string(), z.unknown()),
});

export type TopologyView = z.output<typeof topologyView>;

/** The part of `topology` that `scope` may see. */
export function topologyFor(topology: Topology, scope: Scope): TopologyView {
  const sites = topology.sites
    .filter((s) => scope.role !== 'site' || s.id === scope.siteId)
    .map((s) => ({
      id: s.id,
      name: s.name,
      timezone: s.timezone,
      handicapSeconds: s.handicapSeconds,
      agents: s.agents
        .filter((a) => scope.role !== 'tenant' || a.tenant === scope.tenantId)
        .map((a) => ({ id: a.id, name: a.name, tenant: a.tenant, skills: { ...a.skills } })),
    }));
  const tenants = topology.tenants.filter(
    (t) => scope.role !== 'tenant' || t.id === scope.tenantId,
  );
  const { tenantRestrictions, ...policy } = topology.routing;
  const routing =
    scope.role === 'tenant'
      ? {
          ...policy,
          tenantRestrictions: tenantRestrictions.filter((r) => r.tenant === scope.tenantId),
        }
      : { ...policy, tenantRestrictions };
  return { sites, skills: topology.skills.map((s) => ({ ...s })), tenants, routing };
}

export function topologyRoute(topology: Topology): Route {
  return route({
    method: 'GET',
    path: `${API}/topology`,
    summary:
      'Sites, skills, agents, tenants and the routing policy, as far as the caller may see them (read only).',
    auth: true,
    response: topologyView,
    async handle(ctx) {
      return topologyFor(topology, scopeOf(ctx));
    },
  });
}
