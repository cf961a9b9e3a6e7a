// From a verified token to what its bearer may see. The Scope goes into every query (the SQL
// itself is restricted); on top of that, a request that explicitly names another site or tenant
// than the caller's is refused, so a client learns it asked for something it may not have
// instead of reading an empty answer as "nothing happened there".
import type { Scope } from '@ccfed/analytics/scope';
import type { Claims } from './auth/token.js';
import { forbidden } from './http/errors.js';

/** The roles that read the federation's data (every route that names no roles of its own). */
export const DATA_ROLES = ['hq', 'site', 'tenant'] as const;

/** The Scope a token's bearer reads with; 403 for an agent, who reads none of it. */
export function scopeFor(claims: Claims): Scope {
  switch (claims.role) {
    case 'hq':
      return { role: 'hq' };
    case 'site':
      return { role: 'site', siteId: claims.siteId };
    case 'tenant':
      return { role: 'tenant', tenantId: claims.tenantId };
    case 'agent':
      throw forbidden('an agent reads only its own desktop routes');
  }
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
