// The routing policy, from the topology file: which calls may ask, how much better a site must be
// to move a call there, how far each site is handicapped, and where a tenant's calls may go.
import type { Topology } from '@ccfed/topology';

export interface SkillPolicy {
  /** A queued call asks the router once its EWT at its own site passes this. */
  readonly thresholdMs: number;
  /** A call moves only to a site that would answer it at least this much sooner. */
  readonly minImprovementMs: number;
}

export interface SitePolicy {
  readonly siteId: string;
  /** Added to this site's expected wait when it is compared as a target (BSR "adjust-by"). */
  readonly handicapMs: number;
  /** Where overflowed calls are sent: the site's Kamailio. */
  readonly sipUri: string;
}

export interface RoutingPolicy {
  /** Skills that may overflow; a skill without an overflow policy always stays. */
  readonly skills: ReadonlyMap<string, SkillPolicy>;
  readonly sites: ReadonlyMap<string, SitePolicy>;
  /** A site whose latest snapshot is older than this is never a target. */
  readonly staleAfterMs: number;
  /** A reservation at a target is dropped after this if the target never shows the call. */
  readonly reservationTimeoutMs: number;
  /** Tenant → sites that must never receive its calls. */
  readonly excludedSites: ReadonlyMap<string, ReadonlySet<string>>;
  /** A call that has been moved this many times stays where it is. */
  readonly maxHops: number;
}

/** The policy a topology file describes. */
export function routingPolicy(topology: Topology): RoutingPolicy {
  return {
    skills: new Map(
      topology.skills.flatMap((s) =>
        s.overflow
          ? [
              [
                s.id,
                {
                  thresholdMs: s.overflow.expectedWaitThresholdSeconds * 1000,
                  minImprovementMs: s.overflow.minImprovementSeconds * 1000,
                },
              ] as const,
            ]
          : [],
      ),
    ),
    sites: new Map(
      topology.sites.map((s) => [
        s.id,
        {
          siteId: s.id,
          handicapMs: s.handicapSeconds * 1000,
          sipUri: `sip:${s.sip.host}:${s.sip.port};transport=${s.sip.transport}`,
        },
      ]),
    ),
    staleAfterMs: topology.routing.staleAfterSeconds * 1000,
    reservationTimeoutMs: topology.routing.reservationTimeoutSeconds * 1000,
    excludedSites: new Map(
      topology.routing.tenantRestrictions.map((r) => [r.tenant, new Set(r.excludedSites)]),
    ),
    maxHops: 1,
  };
}
