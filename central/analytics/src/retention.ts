// Retention that proves itself: a random control group held back from the call-back list, and
// churn after N days compared between the customers called back and those held back.
//
// Every customer has a fixed place in [0, 1): cityHash64(tenant, customer, salt) / 10,000. Those
// below the control share are the control group, so a customer's group is the same in every
// scoring run and at every site, and raising the share only moves customers into the control
// group, never out of it. The scoring job
// stores each customer's group with their score; the call-back list never shows the control
// group. A customer enters the study the first time a run scores them at or above the call-back
// risk (retention_cohort, migration 031), and counts once, in the group of that day.
import { raw, sql, type Sql } from '@ccfed/common';
import { checkDate, InvalidOptionError } from './churn-options.js';
import { scopeCondition, type Scope } from './scope.js';

/** The share held back when HQ sets none. */
export const DEFAULT_CONTROL_SHARE = 0.1;
/** From this risk up a scored customer is a call-back candidate (and enters the study). */
export const DEFAULT_CALLBACK_RISK = 0.5;
const SALT = 'ccfed-retention-control';
const DAY_S = 86_400;

/** A control share: a number in [0, 0.5] (holding back more than half starves the call-backs). */
export function checkControlShare(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 0.5)
    throw new InvalidOptionError(field, `${String(value)} is not a share from 0 to 0.5`);
  return value;
}

/** 'control' or 'callback' for the row's tenant_id and customer_id, stable per customer. */
export function retentionGroupExpression(controlShare: number): Sql {
  const basisPoints = Math.round(checkControlShare('controlShare', controlShare) * 10_000);
  return sql`if(cityHash64(tenant_id, customer_id, ${SALT}) % 10000 < ${basisPoints}, 'control', 'callback')`;
}

/**
 * Adds the customers the run of `scoredAt` scored at or above `minRisk` who are not in the study
 * yet, with the group and site of that run. Run after the run is complete.
 */
export function retentionCohortInsertQuery(opts: { scoredAt: Date; minRisk: number }): Sql {
  const scoredAt = checkDate('scoredAt', opts.scoredAt);
  if (!(opts.minRisk > 0 && opts.minRisk < 1))
    throw new InvalidOptionError('minRisk', `${opts.minRisk} is not a risk in (0, 1)`);
  return sql`INSERT INTO retention_cohort (tenant_id, customer_id, site_id, entered_at, retention_group, risk, model_version)
SELECT tenant_id, customer_id, site_id, scored_at, retention_group, risk, model_version
FROM churn_scores
WHERE scored_at = ${scoredAt} AND risk >= ${opts.minRisk} AND retention_group != ''
  AND (tenant_id, customer_id) NOT IN (SELECT tenant_id, customer_id FROM retention_cohort)`;
}

export interface UpliftOptions {
  /** Churn is counted over this many days from a customer's entry into the study. */
  readonly days: number;
  /** Only customers whose N days are over by then (default: now). */
  readonly asOf: Date;
  /** Only customers who entered the study in [from, asOf − days]. */
  readonly from?: Date;
}

/**
 * Per tenant, site and group: customers who entered the study and whose `days` are over, and how
 * many of them churned within those days. Rows for the scope only.
 */
export function retentionUpliftQuery(scope: Scope, opts: UpliftOptions): Sql {
  const asOf = checkDate('asOf', opts.asOf);
  if (!Number.isInteger(opts.days) || opts.days < 1 || opts.days > 365)
    throw new InvalidOptionError('days', `${String(opts.days)} is not a whole number 1..365`);
  const from = opts.from === undefined ? raw('1') : sql`entered >= ${checkDate('from', opts.from)}`;
  const window = opts.days * DAY_S;
  // Each customer once, from their first entry; the scope applies to that entry's site.
  const cohort = sql`SELECT tenant_id, customer_id,
        argMin(site_id, entered_at) AS entry_site,
        argMin(retention_group, entered_at) AS entry_group,
        min(entered_at) AS entered
    FROM retention_cohort
    WHERE ${scope.role === 'tenant' ? scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' }) : raw('1')}
    GROUP BY tenant_id, customer_id
    HAVING toUInt32(entered) + ${window} <= toUInt32(${asOf}) AND ${from}
      AND ${scopeCondition(scope, { site: 'entry_site', tenant: 'tenant_id' })}`;
  return sql`SELECT tenant_id, entry_site AS site_id, entry_group AS retention_group,
    count() AS customers,
    sum(toUInt64(churned_at >= entered AND toUInt32(churned_at) < toUInt32(entered) + ${window})) AS churned
FROM (${cohort}) AS cohort
ANY LEFT JOIN
(
    SELECT tenant_id, customer_id, min(event_time) AS churned_at
    FROM crm_events
    WHERE kind = 'cancellation' AND intent_only = 0
      AND (tenant_id, customer_id) IN (SELECT tenant_id, customer_id FROM retention_cohort)
    GROUP BY tenant_id, customer_id
) AS churn USING (tenant_id, customer_id)
GROUP BY tenant_id, site_id, retention_group
ORDER BY tenant_id, site_id, retention_group`;
}

/** One comparison: called back against held back, with the difference and its 95 % interval. */
export interface UpliftRow {
  readonly tenant_id: string;
  readonly site_id: string;
  readonly callback_customers: number;
  readonly callback_churned: number;
  readonly control_customers: number;
  readonly control_churned: number;
  /** Churn rates; null for an empty group. */
  readonly callback_churn_rate: number | null;
  readonly control_churn_rate: number | null;
  /** control − callback churn rate: how much churn the call-backs prevented (positive is good). */
  readonly uplift: number | null;
  /** The 95 % confidence interval of the uplift (normal approximation). */
  readonly uplift_ci_low: number | null;
  readonly uplift_ci_high: number | null;
}

const Z95 = 1.959963984540054;

/** The uplift and its 95 % interval from the two groups' counts (null when either is empty). */
export function uplift(
  callback: { customers: number; churned: number },
  control: { customers: number; churned: number },
): { uplift: number | null; low: number | null; high: number | null } {
  if (callback.customers === 0 || control.customers === 0)
    return { uplift: null, low: null, high: null };
  const pt = callback.churned / callback.customers;
  const pc = control.churned / control.customers;
  const se = Math.sqrt((pt * (1 - pt)) / callback.customers + (pc * (1 - pc)) / control.customers);
  const d = pc - pt;
  return { uplift: d, low: d - Z95 * se, high: d + Z95 * se };
}

/**
 * Rows of retentionUpliftQuery folded per (tenant, site), and `by: 'tenant'` or 'all' summing the
 * sites (or everything) first; the uplift of a sum is computed from the summed counts.
 */
export function parseUpliftRows(
  rawRows: readonly unknown[],
  by: 'site' | 'tenant' | 'all' = 'site',
): UpliftRow[] {
  const groups = new Map<string, { tenant: string; site: string; t: number[]; c: number[] }>();
  for (const r of rawRows as Record<string, unknown>[]) {
    const tenant = by === 'all' ? '' : String(r.tenant_id);
    const site = by === 'site' ? String(r.site_id) : '';
    const key = `${tenant}\u0000${site}`;
    const g = groups.get(key) ?? { tenant, site, t: [0, 0], c: [0, 0] };
    groups.set(key, g);
    const counts = r.retention_group === 'control' ? g.c : g.t;
    counts[0]! += Number(r.customers);
    counts[1]! += Number(r.churned);
  }
  return [...groups.values()].map((g) => {
    const callback = { customers: g.t[0]!, churned: g.t[1]! };
    const control = { customers: g.c[0]!, churned: g.c[1]! };
    const u = uplift(callback, control);
    return {
      tenant_id: g.tenant,
      site_id: g.site,
      callback_customers: callback.customers,
      callback_churned: callback.churned,
      control_customers: control.customers,
      control_churned: control.churned,
      callback_churn_rate: callback.customers ? callback.churned / callback.customers : null,
      control_churn_rate: control.customers ? control.churned / control.customers : null,
      uplift: u.uplift,
      uplift_ci_low: u.low,
      uplift_ci_high: u.high,
    };
  });
}
