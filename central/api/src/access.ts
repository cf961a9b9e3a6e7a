// From a verified token to what its bearer may see. The Scope goes into every query (the SQL
// itself is restricted); on top of that, a request that explicitly names another site or tenant
// than the caller's is refused, so a client learns it asked for something it may not have
// instead of reading an empty answer as "nothing happened there".
import type { Scope } from '@ccfed/analytics/scope';
import type { Principal } from '@ccfed/common';
import type { Claims } from './auth/token.js';
import { forbidden } from './http/errors.js';

/** The claims of everyone but an agent: the people who read analytics with a Scope. */
export type SupervisorClaims = Exclude<Claims, { role: 'agent' }>;

/**
 * The Scope a token's bearer reads with. An agent has none: it reads no analytics, only its own
 * desk (desktop/desk-access.ts), so routes admit it only where they say so (http/route.ts).
 */
export function scopeFor(claims: SupervisorClaims): Scope {
  switch (claims.role) {
    case 'hq':
      return { role: 'hq' };
    case 'site':
      return { role: 'site', siteId: claims.siteId };
    case 'tenant':
      return { role: 'tenant', tenantId: claims.tenantId };
  }
}

/**
 * The Scope of anyone who reads analytics, recordings or the live wall; 403 for an agent, who
 * sees only itself and the calls it handles (desktop routes), never the site's or tenant's figures.
 */
export function analyticsScope(claims: Claims): Scope {
  if (claims.role === 'agent')
    throw forbidden(
      `agent ${claims.agentId} sees only its own desk (/api/v1/desktop/...), not analytics, recordings or the live wall`,
    );
  return scopeFor(claims);
}

/**
 * Throws 403 when a request names sites or tenants outside the scope: a site supervisor may only
 * name its own site, a tenant client only its own tenant (a tenant's calls are at every site, so
 * it may name any site).
 */
export function refuseForeign(
  scope: Scope,
  named: { readonly sites?: readonly string[]; readonly tenants?: readonly string[] },
): void {
  if (scope.role === 'site') {
    const foreign = (named.sites ?? []).filter((s) => s !== scope.siteId);
    if (foreign.length > 0) {
      throw forbidden(
        `the supervisor of site ${scope.siteId} may not read site ${foreign.join(', ')}`,
      );
    }
  }
  if (scope.role === 'tenant') {
    const foreign = (named.tenants ?? []).filter((t) => t !== scope.tenantId);
    if (foreign.length > 0) {
      throw forbidden(`tenant ${scope.tenantId} may not read tenant ${foreign.join(', ')}`);
    }
  }
}

/**
 * Throws 403 unless `scope` may hear a recording of `recording.tenantId` kept at
 * `recording.siteId`: HQ every recording, a site supervisor those its site keeps (where the
 * conversation happened), a tenant client its own tenant's, wherever they are kept.
 */
export function refuseRecordingOutOfScope(
  scope: Scope,
  recording: { readonly recordingId: string; readonly siteId: string; readonly tenantId: string },
): void {
  if (scope.role === 'site' && recording.siteId !== scope.siteId)
    throw forbidden(
      `the supervisor of site ${scope.siteId} may not hear recording ${recording.recordingId}, kept at site ${recording.siteId}`,
    );
  if (scope.role === 'tenant' && recording.tenantId !== scope.tenantId)
    throw forbidden(
      `tenant ${scope.tenantId} may not hear recording ${recording.recordingId} of another tenant`,
    );
}

/**
 * The supervisor a monitoring request is made as at `siteId`, or 403: a site supervisor at its own
 * site only; a tenant client as that tenant's supervisor at any site (its seats are everywhere; the
 * site refuses a call whose agent is another tenant's, as it alone knows who talks on the call);
 * HQ not at all (listening to a conversation is for the supervisors who answer for those seats,
 * and HQ has no such principal at the sites).
 */
export function monitorPrincipal(claims: Claims, siteId: string): Principal {
  switch (claims.role) {
    case 'site':
      if (claims.siteId !== siteId)
        throw forbidden(
          `the supervisor of site ${claims.siteId} may not listen to calls at site ${siteId}`,
        );
      return { kind: 'supervisor', site: siteId };
    case 'tenant':
      return { kind: 'supervisor', site: siteId, tenant: claims.tenantId };
    default:
      throw forbidden(
        `role ${claims.role} may not listen to calls: a site's or a tenant's supervisor does`,
      );
  }
}

/**
 * As whom the API asks site `siteId` to manage a supervisor's work there (callbacks, campaigns),
 * or 403: HQ and that site's supervisor as the site's supervisor, a tenant's as that tenant's at
 * the site; another site's supervisor and agents never.
 */
export function supervisorPrincipal(
  claims: Claims,
  siteId: string,
  work: 'callbacks' | 'campaigns',
): Principal {
  switch (claims.role) {
    case 'hq':
      return { kind: 'supervisor', site: siteId };
    case 'site':
      if (claims.siteId !== siteId)
        throw forbidden(
          `the supervisor of site ${claims.siteId} may not manage ${work} at site ${siteId}`,
        );
      return { kind: 'supervisor', site: siteId };
    case 'tenant':
      return { kind: 'supervisor', site: siteId, tenant: claims.tenantId };
    case 'agent':
      throw forbidden(`agent ${claims.agentId} may not manage ${work}: supervisors do`);
  }
}
