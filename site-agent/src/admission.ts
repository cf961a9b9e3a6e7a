// Whether a site takes a new call at all, before the ACD sees it: a tenant's call at a site the
// routing policy keeps it out of is refused (contracts, data residency), and a skill's queue is
// capped (topology skills[].queueLimit) so a flood of calls cannot grow it without bound. Pure.

export type Admission =
  | { readonly admit: true }
  | {
      readonly admit: false;
      readonly code: 403 | 486 | 503;
      readonly reason: string;
      readonly retryAfterSeconds?: number;
      /** For the log: which rule refused it. */
      readonly rule: 'tenant_excluded' | 'queue_full';
    };

/** Decides whether this site takes a call now. */
export function admission(input: {
  readonly siteId: string;
  readonly tenantId: string;
  /** Tenant → sites that must never receive its calls (the routing policy in force). */
  readonly tenantExclusions: ReadonlyMap<string, ReadonlySet<string>>;
  /** Calls of the call's skill waiting here now. */
  readonly queued: number;
  readonly queueLimit: { readonly maxQueued: number; readonly retryAfterSeconds: number };
  /** Sent here by another site: a refusal sends it back to its place there. */
  readonly overflowedIn: boolean;
}): Admission {
  if (input.tenantExclusions.get(input.tenantId)?.has(input.siteId))
    return {
      admit: false,
      code: 403,
      reason: 'Tenant Not Served Here',
      rule: 'tenant_excluded',
    };
  if (input.queued < input.queueLimit.maxQueued) return { admit: true };
  // The origin of an overflowed call keeps it in its own queue on 486; a caller is told when
  // to try again.
  return input.overflowedIn
    ? { admit: false, code: 486, reason: 'Queue Full', rule: 'queue_full' }
    : {
        admit: false,
        code: 503,
        reason: 'Queue Full',
        retryAfterSeconds: input.queueLimit.retryAfterSeconds,
        rule: 'queue_full',
      };
}

/** Tenant → excluded sites, from a routing policy's tenantExclusions. */
export function exclusionsOf(
  tenantExclusions: Readonly<Record<string, readonly string[]>>,
): Map<string, Set<string>> {
  return new Map(Object.entries(tenantExclusions).map(([t, sites]) => [t, new Set(sites)]));
}
