// Routing decisions from route_decisions, each with the alternatives the router weighed (stored
// as parallel arrays, zipped back here into one object per site). A site supervisor sees the
// decisions about calls that started at its site or were sent to it; a tenant client those of
// its own calls.
import { scopeCondition, type Scope } from '@ccfed/analytics/scope';
import { join, sql, type Sql } from '@ccfed/common';
import { z } from 'zod';

export type RouteDecisionFilter =
  | { readonly callId: string; readonly limit: number }
  | {
      readonly from: Date;
      readonly to: Date;
      readonly site?: string;
      readonly limit: number;
    };

/** One query for the decisions visible to `scope` that match `filter`, oldest first. */
export function routeDecisionsQuery(scope: Scope, filter: RouteDecisionFilter): Sql {
  const where: Sql[] = [
    sql`(${scopeCondition(scope, { site: 'origin_site_id', tenant: 'tenant_id' })} OR ${scopeCondition(scope, { site: 'target_site_id', tenant: 'tenant_id' })})`,
  ];
  if ('callId' in filter) {
    where.push(sql`call_id = ${filter.callId}`);
  } else {
    where.push(sql`event_time >= ${filter.from}`, sql`event_time < ${filter.to}`);
    if (filter.site !== undefined) {
      where.push(sql`(origin_site_id = ${filter.site} OR target_site_id = ${filter.site})`);
    }
  }
  return sql`
    SELECT
      decision_id,
      call_id,
      tenant_id,
      origin_site_id,
      skill,
      tier,
      waited_ms,
      origin_expected_wait_ms,
      hop_count,
      toUInt64(event_time) * 1000 + event_ms AS decided_ms,
      verdict,
      target_site_id,
      reason,
      alt_site_ids,
      alt_eligible,
      alt_excluded_reasons,
      alt_expected_wait_ms,
      alt_handicap_ms,
      alt_state_age_ms
    FROM route_decisions
    WHERE ${join(where, ' AND ')}
    ORDER BY event_time, event_ms, decision_id
    LIMIT ${filter.limit}`;
}

const alternativeSchema = z.object({
  siteId: z.string(),
  eligible: z.boolean(),
  excludedReason: z.string().nullable(),
  expectedWaitMs: z.number(),
  handicapMs: z.number(),
  stateAgeMs: z.number(),
});

/** A decision as the API answers it. */
export const routeDecisionSchema = z.object({
  decisionId: z.string(),
  callId: z.string(),
  tenantId: z.string(),
  originSiteId: z.string(),
  skill: z.string(),
  tier: z.number(),
  waitedMs: z.number(),
  originExpectedWaitMs: z.number(),
  hopCount: z.number(),
  decidedAt: z.string(),
  verdict: z.string(),
  /** Empty when the call stayed. */
  targetSiteId: z.string(),
  reason: z.string(),
  alternatives: z.array(alternativeSchema),
});

export type RouteDecision = z.output<typeof routeDecisionSchema>;

const num = z.coerce.number();
const rawRow = z.object({
  decision_id: z.string(),
  call_id: z.string(),
  tenant_id: z.string(),
  origin_site_id: z.string(),
  skill: z.string(),
  tier: num,
  waited_ms: num,
  origin_expected_wait_ms: num,
  hop_count: num,
  decided_ms: num,
  verdict: z.string(),
  target_site_id: z.string(),
  reason: z.string(),
  alt_site_ids: z.array(z.string()),
  alt_eligible: z.array(num),
  alt_excluded_reasons: z.array(z.string()),
  alt_expected_wait_ms: z.array(num),
  alt_handicap_ms: z.array(num),
  alt_state_age_ms: z.array(num),
});

/** The rows of routeDecisionsQuery; throws when the parallel arrays differ in length. */
export function parseRouteDecisionRows(rows: readonly unknown[]): RouteDecision[] {
  return rows.map((input) => {
    const r = rawRow.parse(input);
    const n = r.alt_site_ids.length;
    const arrays = [
      r.alt_eligible,
      r.alt_excluded_reasons,
      r.alt_expected_wait_ms,
      r.alt_handicap_ms,
      r.alt_state_age_ms,
    ];
    if (arrays.some((a) => a.length !== n)) {
      throw new Error(`decision ${r.decision_id}: alternative arrays differ in length`);
    }
    return {
      decisionId: r.decision_id,
      callId: r.call_id,
      tenantId: r.tenant_id,
      originSiteId: r.origin_site_id,
      skill: r.skill,
      tier: r.tier,
      waitedMs: r.waited_ms,
      originExpectedWaitMs: r.origin_expected_wait_ms,
      hopCount: r.hop_count,
      decidedAt: new Date(r.decided_ms).toISOString(),
      verdict: r.verdict,
      targetSiteId: r.target_site_id,
      reason: r.reason,
      alternatives: r.alt_site_ids.map((siteId, i) => ({
        siteId,
        eligible: r.alt_eligible[i] === 1,
        excludedReason: r.alt_excluded_reasons[i] || null,
        expectedWaitMs: r.alt_expected_wait_ms[i]!,
        handicapMs: r.alt_handicap_ms[i]!,
        stateAgeMs: r.alt_state_age_ms[i]!,
      })),
    };
  });
}
