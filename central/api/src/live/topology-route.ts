// GET /api/v1/topology: the federation as the console's topology page shows it, read only and
// cut to the caller's scope. Addresses (SIP, evapi, gRPC) and fallbacks are operators' business
// and never leave the server. HQ sees every site, agent and routing rule; a site supervisor its
// own site; a tenant client the sites and skills (to read its figures by) and only its own agents
// and restrictions. The routing figures (handicaps, skills' overflow, staleness, reservation
// timeout, tenant restrictions) are the policy in force: the topology file's until HQ edits it,
// then the latest version on the routing-policy topic, whose number the view carries.
import type { Scope } from '@ccfed/analytics/scope';
import { policyFromTopology, type PolicyDocument, type Topology } from '@ccfed/topology';
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
  /** The routing-policy version shown (0: the topology file's). */
  policyVersion: z.number(),
});

export type TopologyView = z.output<typeof topologyView>;

/** The part of `topology` that `scope` may see, with the routing figures of `policy`. */
export function topologyFor(
  topology: Topology,
  scope: Scope,
  policy: PolicyDocument = policyFromTopology(topology),
): TopologyView {
  const sites = topology.sites
    .filter((s) => scope.role !== 'site' || s.id === scope.siteId)
    .map((s) => ({
      id: s.id,
      name: s.name,
      timezone: s.timezone,
      handicapSeconds: policy.sites[s.id]?.handicapSeconds ?? s.handicapSeconds,
      agents: s.agents
        .filter((a) => scope.role !== 'tenant' || a.tenant === scope.tenantId)
        .map((a) => ({ id: a.id, name: a.name, tenant: a.tenant, skills: { ...a.skills } })),
    }));
  const tenants = topology.tenants.filter(
    (t) => scope.role !== 'tenant' || t.id === scope.tenantId,
  );
  const tenantRestrictions = Object.entries(policy.tenantExclusions)
    .filter(([tenant]) => scope.role !== 'tenant' || tenant === scope.tenantId)
    .map(([tenant, excludedSites]) => ({ tenant, excludedSites: [...excludedSites] }));
  const routing = {
    ...topology.routing,
    staleAfterSeconds: policy.staleAfterSeconds,
    reservationTimeoutSeconds: policy.reservationTimeoutSeconds,
    tenantRestrictions,
  };
  const skills = topology.skills.map(({ overflow: _fileOverflow, ...s }) => {
    const o = policy.skills[s.id];
    if (!o) return { ...s };
    return {
      ...s,
      overflow: {
        expectedWaitThresholdSeconds: o.thresholdSeconds,
        ...(o.askAfterWaitingSeconds === undefined
          ? {}
          : { askAfterWaitingSeconds: o.askAfterWaitingSeconds }),
        minImprovementSeconds: o.minImprovementSeconds,
      },
    };
  });
  return { sites, skills, tenants, routing, policyVersion: policy.version };
}

/** GET /topology; `policy` is the routing policy in force (the file's when not given). */
export function topologyRoute(topology: Topology, policy?: () => PolicyDocument): Route {
  return route({
    method: 'GET',
    path: `${API}/topology`,
    summary:
      'Sites, skills, agents, tenants and the routing policy, as far as the caller may see them (read only).',
    auth: true,
    response: topologyView,
    async handle(ctx) {
      return topologyFor(topology, scopeOf(ctx), policy?.());
    },
  });
}
