// The routing policy: which calls may ask, how much better a site must be to move a call there,
// how far each site is handicapped, and where a tenant's calls may go. It starts as the topology
// file says (version 0) and follows the routing-policy documents HQ publishes (policy-feed.ts).
import { policyFromTopology, type PolicyDocument, type Topology } from '@ccfed/topology';

export interface SkillPolicy {
  /** A queued call asks the router once its expected total wait (waited + EWT) passes this. */
  readonly thresholdMs: number;
  /** A call moves only to a site that would answer it at least this much sooner. */
  readonly minImprovementMs: number;
  /** A call that has waited this long may move whatever its forecast (optional). */
  readonly askAfterMs?: number;
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
  /**
   * Reservations one origin site may hold at once; beyond it its calls stay. Bounds what one
   * site (buggy, or its certificate stolen) can do to every other site's overflow.
   */
  readonly maxReservationsPerOrigin: number;
}

/** The policy a topology file describes (version 0 of the routing-policy document). */
export function routingPolicy(topology: Topology): RoutingPolicy {
  return routingPolicyOf(topology, policyFromTopology(topology));
}

/**
 * The policy `doc` sets, with the sites' SIP addresses from the topology. `doc` must have passed
 * checkPolicyDocument against the same topology (every site it names is a topology site).
 */
export function routingPolicyOf(topology: Topology, doc: PolicyDocument): RoutingPolicy {
  return {
    skills: new Map(
      Object.entries(doc.skills).map(([id, s]) => [
        id,
        {
          thresholdMs: s.thresholdSeconds * 1000,
          minImprovementMs: s.minImprovementSeconds * 1000,
          ...(s.askAfterWaitingSeconds === undefined
            ? {}
            : { askAfterMs: s.askAfterWaitingSeconds * 1000 }),
        },
      ]),
    ),
    sites: new Map(
      topology.sites.map((s) => [
        s.id,
        {
          siteId: s.id,
          handicapMs: (doc.sites[s.id]?.handicapSeconds ?? s.handicapSeconds) * 1000,
          sipUri: `sip:${s.sip.host}:${s.sip.port};transport=${s.sip.transport}`,
        },
      ]),
    ),
    staleAfterMs: doc.staleAfterSeconds * 1000,
    reservationTimeoutMs: doc.reservationTimeoutSeconds * 1000,
    excludedSites: new Map(
      Object.entries(doc.tenantExclusions).map(([tenant, sites]) => [tenant, new Set(sites)]),
    ),
    maxHops: 1,
    // From the topology file, not the HQ-editable document: it is a safety bound, not a policy.
    maxReservationsPerOrigin: topology.routing.maxReservationsPerOrigin,
  };
}
