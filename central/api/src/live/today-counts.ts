// Today's counts per site, skill and tenant from call_rollup_15m, restricted to one scope: the
// overflow in/out of the live wall (snapshots do not carry them) and, for a tenant client, its
// own answered/abandoned figures (a snapshot's day totals count every tenant's calls).
import { scopeCondition, type Scope } from '@ccfed/analytics/scope';
import { sql, type Sql } from '@ccfed/common';
import { z } from 'zod';
import type { TodayCounts } from './live-state.js';

/** Midnight UTC of the day `now` falls in. */
export function startOfUtcDay(now: number): Date {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

/** One query for the counts `scope` may see since `dayStart` (a SummingMergeTree: sum()). */
export function todayCountsQuery(scope: Scope, dayStart: Date): Sql {
  return sql`
    SELECT
      site_id,
      skill,
      tenant_id,
      sum(offered) AS offered,
      sum(answered) AS answered,
      sum(answered_in_sl) AS answered_in_sl,
      sum(abandoned) AS abandoned,
      sum(overflow_in) AS overflow_in,
      sum(overflow_out) AS overflow_out
    FROM call_rollup_15m
    WHERE bucket >= ${dayStart}
      AND ${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })}
    GROUP BY site_id, skill, tenant_id
    ORDER BY site_id, skill, tenant_id`;
}

const num = z.coerce.number();
const rawRow = z.object({
  site_id: z.string(),
  skill: z.string(),
  tenant_id: z.string(),
  offered: num,
  answered: num,
  answered_in_sl: num,
  abandoned: num,
  overflow_in: num,
  overflow_out: num,
});

/** The rows of todayCountsQuery (UInt64 arrives as strings from 18.16). */
export function parseTodayCounts(rows: readonly unknown[]): TodayCounts[] {
  return rows.map((input) => {
    const r = rawRow.parse(input);
    return {
      siteId: r.site_id,
      skill: r.skill,
      tenantId: r.tenant_id,
      offered: r.offered,
      answered: r.answered,
      answeredInSl: r.answered_in_sl,
      abandoned: r.abandoned,
      overflowIn: r.overflow_in,
      overflowOut: r.overflow_out,
    };
  });
}
