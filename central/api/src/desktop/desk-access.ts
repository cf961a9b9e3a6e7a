// Who may do what on the desktop routes, from a verified token and the topology. Pure: the routes
// call these first and answer 403 when they throw. An agent acts only as itself at its own site
// and hears only its own offers and calls; a site supervisor sees its site's agents; a tenant
// supervisor only its tenant's seats (at any site); HQ every site. The API acts at a site agent
// for the person (gRPC x-ccfed-on-behalf-of), so the site agent's own authorise() decides again.
import type { Principal } from '@ccfed/common';
import type { Topology } from '@ccfed/topology';
import type { Claims } from '../auth/token.js';
import { badRequest, forbidden, HttpError } from '../http/errors.js';

/** The agent a desktop token is, with the tenant its seat serves (from the topology). */
export interface DeskIdentity {
  readonly siteId: string;
  readonly agentId: string;
  readonly tenantId: string;
}

/** The agent behind an agent token; 403 for any other role or an agent the topology lost. */
export function deskOf(claims: Claims, topology: Topology): DeskIdentity {
  if (claims.role !== 'agent')
    throw forbidden(`the desktop routes are an agent's; role ${claims.role} has no desk`);
  const agent = topology.sites
    .find((s) => s.id === claims.siteId)
    ?.agents.find((a) => a.id === claims.agentId);
  if (!agent)
    throw forbidden(`agent ${claims.agentId} is no longer an agent of site ${claims.siteId}`);
  return { siteId: claims.siteId, agentId: claims.agentId, tenantId: agent.tenant };
}

/** The principal (common/src/principal.ts) the API names when it acts for `desk` at its site. */
export function agentPrincipal(desk: DeskIdentity): Principal {
  return { kind: 'agent', site: desk.siteId, agent: desk.agentId };
}

/**
 * The principal a supervisor acts as at `siteId`: a site's supervisor only at its own site, a
 * tenant supervisor at any site but for its tenant only, HQ as any site's supervisor. 403 for an
 * agent, who supervises nobody.
 */
export function supervisorPrincipal(claims: Claims, siteId: string): Principal {
  switch (claims.role) {
    case 'agent':
      throw forbidden(`agent ${claims.agentId} supervises nobody`);
    case 'site':
      if (claims.siteId !== siteId)
        throw forbidden(`the supervisor of site ${claims.siteId} may not act at site ${siteId}`);
      return { kind: 'supervisor', site: siteId };
    case 'tenant':
      return { kind: 'supervisor', site: siteId, tenant: claims.tenantId };
    case 'hq':
      return { kind: 'supervisor', site: siteId };
  }
}

/**
 * Which of `siteId`'s agents the caller may see live: all for HQ and the site's supervisor, only
 * its tenant's seats for a tenant supervisor. 403 for an agent or another site's supervisor; 400
 * for a site the topology does not have.
 */
export function supervisedAgents(
  claims: Claims,
  siteId: string,
  topology: Topology,
): (agent: { readonly agentId: string; readonly tenantId: string | null }) => boolean {
  if (!topology.sites.some((s) => s.id === siteId))
    throw new HttpError(400, `site ${siteId} is not in the topology`);
  supervisorPrincipal(claims, siteId); // the same refusals
  if (claims.role === 'tenant') return (a) => a.tenantId === claims.tenantId;
  return () => true;
}

/** Whether a desktop stream of `desk` may carry an event about `agentId` at `siteId`: its own only. */
export function isOwnDesk(desk: DeskIdentity, event: { siteId: string; agentId: string }): boolean {
  return event.siteId === desk.siteId && event.agentId === desk.agentId;
}

/** `value` when the topology lists it; else 400 naming the codes it lists. */
export function checkCode(
  field: string,
  value: string,
  known: readonly { readonly code: string }[],
): string {
  if (known.some((k) => k.code === value)) return value;
  throw badRequest(
    field,
    `${JSON.stringify(value.slice(0, 40))} is not one of the topology's codes (${known.map((k) => k.code).join(', ')})`,
  );
}
