// Live status of the sites from site_snapshots: the newest snapshot of each (site, skill) within
// the last ten minutes. HQ and site supervisors read the site totals; a tenant client reads only
// its own tenant's figures from the per-tenant arrays, never the totals, which count other
// tenants' calls and seats. Site agents send a snapshot at least every second, so ten minutes
// without one means the site is gone, not quiet.
import { scopeCondition, type Scope } from '@ccfed/analytics/scope';
import { join, raw, sql, type Sql } from '@ccfed/common';
import { z } from 'zod';

/** How far back a snapshot still counts as the site's live status. */
export const LIVE_WINDOW_MS = 10 * 60_000;

export interface SiteStatusFilter {
  readonly sites?: readonly string[];
  readonly skills?: readonly string[];
  /** Per-tenant figures of these tenants instead of site totals (a tenant client always gets its own). */
  readonly tenants?: readonly string[];
}

// The newest snapshot per (site, skill): argMax over (time, ms, sequence), so a site-agent
// restart (sequence back to 1) does not hide its new snapshots behind the old ones.
const NEWEST = raw('(event_time, event_ms, sequence)');

/** One query for the live status visible to `scope` at `now` (ms since the epoch). */
export function siteStatusQuery(scope: Scope, filter: SiteStatusFilter, now: number): Sql {
  const since = new Date(now - LIVE_WINDOW_MS);
  // No event_date condition: on 18.16 a JSONEachRow insert that omits event_date stores
  // 0000-00-00 instead of its DEFAULT, so only event_time can be trusted.
  // The event_date bound lets ClickHouse skip every other month's parts: on event_time alone it
  // opened all of them (bench:queries: 450 ms → 7 ms at a year of snapshots).
  const where: Sql[] = [sql`event_date >= toDate(${since})`, sql`event_time >= ${since}`];
  if (filter.sites) where.push(sql`site_id IN (${join(filter.sites.map((s) => sql`${s}`))})`);
  if (filter.skills) where.push(sql`skill IN (${join(filter.skills.map((s) => sql`${s}`))})`);
  const newest = sql`
    SELECT
      site_id,
      skill,
      argMax(sequence, ${NEWEST}) AS snapshot_sequence,
      max(toUInt64(event_time) * 1000 + event_ms) AS snapshot_ms,
      argMax(accepting_overflow, ${NEWEST}) AS snapshot_accepting_overflow,
      argMax(queued, ${NEWEST}) AS site_queued,
      argMax(oldest_wait_ms, ${NEWEST}) AS site_oldest_wait_ms,
      argMax(agents_staffed, ${NEWEST}) AS site_agents_staffed,
      argMax(agents_idle, ${NEWEST}) AS site_agents_idle,
      argMax(expected_wait_ms, ${NEWEST}) AS site_expected_wait_ms,
      argMax(tenant_ids, ${NEWEST}) AS t_ids,
      argMax(tenant_queued, ${NEWEST}) AS t_queued,
      argMax(tenant_agents_staffed, ${NEWEST}) AS t_agents_staffed,
      argMax(tenant_agents_idle, ${NEWEST}) AS t_agents_idle,
      argMax(tenant_expected_wait_ms, ${NEWEST}) AS t_expected_wait_ms
    FROM site_snapshots
    WHERE ${join(where, ' AND ')}
    GROUP BY site_id, skill`;

  const perTenant = scope.role === 'tenant' || filter.tenants !== undefined;
  if (!perTenant) {
    return sql`
      SELECT
        site_id,
        skill,
        '' AS tenant_id,
        snapshot_sequence AS sequence,
        snapshot_ms,
        snapshot_accepting_overflow AS accepting_overflow,
        site_queued AS queued,
        site_oldest_wait_ms AS oldest_wait_ms,
        site_agents_staffed AS agents_staffed,
        site_agents_idle AS agents_idle,
        site_expected_wait_ms AS expected_wait_ms
      FROM (${newest})
      WHERE ${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })}
      ORDER BY site_id, skill`;
  }
  const tenantWhere = [scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })];
  if (filter.tenants) {
    tenantWhere.push(sql`tenant_id IN (${join(filter.tenants.map((t) => sql`${t}`))})`);
  }
  // One row per tenant of each newest snapshot; the arrays are parallel, one element per tenant.
  return sql`
    SELECT
      site_id,
      skill,
      tenant_id,
      snapshot_sequence AS sequence,
      snapshot_ms,
      snapshot_accepting_overflow AS accepting_overflow,
      queued,
      agents_staffed,
      agents_idle,
      expected_wait_ms
    FROM (${newest})
    ARRAY JOIN
      t_ids AS tenant_id,
      t_queued AS queued,
      t_agents_staffed AS agents_staffed,
      t_agents_idle AS agents_idle,
      t_expected_wait_ms AS expected_wait_ms
    WHERE ${join(tenantWhere, ' AND ')}
    ORDER BY site_id, skill, tenant_id`;
}

/** A row of the live status, as the API answers it. */
export const siteStatusRowSchema = z.object({
  siteId: z.string(),
  skill: z.string(),
  /** Null for site totals; the tenant for per-tenant figures. */
  tenantId: z.string().nullable(),
  sequence: z.number(),
  snapshotAt: z.string(),
  ageMs: z.number(),
  acceptingOverflow: z.boolean(),
  queued: z.number(),
  /** Site totals only: the per-tenant figures carry no oldest wait. */
  oldestWaitMs: z.number().nullable(),
  agentsStaffed: z.number(),
  agentsIdle: z.number(),
  expectedWaitMs: z.number(),
});

export type SiteStatusRow = z.output<typeof siteStatusRowSchema>;

const rawRow = z.object({
  site_id: z.string(),
  skill: z.string(),
  tenant_id: z.string(),
  sequence: z.coerce.number(),
  snapshot_ms: z.coerce.number(),
  accepting_overflow: z.coerce.number(),
  queued: z.coerce.number(),
  oldest_wait_ms: z.coerce.number().optional(),
  agents_staffed: z.coerce.number(),
  agents_idle: z.coerce.number(),
  expected_wait_ms: z.coerce.number(),
});

/** The rows of siteStatusQuery (JSONEachRow; UInt64 may come as strings), with their age at `now`. */
export function parseSiteStatusRows(rows: readonly unknown[], now: number): SiteStatusRow[] {
  return rows.map((input) => {
    const r = rawRow.parse(input);
    return {
      siteId: r.site_id,
      skill: r.skill,
      tenantId: r.tenant_id === '' ? null : r.tenant_id,
      sequence: r.sequence,
      snapshotAt: new Date(r.snapshot_ms).toISOString(),
      ageMs: Math.max(0, now - r.snapshot_ms),
      acceptingOverflow: r.accepting_overflow === 1,
      queued: r.queued,
      oldestWaitMs: r.tenant_id === '' ? (r.oldest_wait_ms ?? null) : null,
      agentsStaffed: r.agents_staffed,
      agentsIdle: r.agents_idle,
      expectedWaitMs: r.expected_wait_ms,
    };
  });
}
