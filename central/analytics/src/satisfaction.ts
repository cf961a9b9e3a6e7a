// Customer satisfaction from post-call surveys, grouped by site, skill, agent or wait band:
//   CSAT = top-2-box: share of csat ∈ {4, 5} among surveys that answered it (csat > 0);
//   NPS  = % promoters (9–10) − % detractors (0–6) among surveys that asked it (has_nps = 1).
// The wait band comes from the call the survey is about (the `calls` view, joined on call id).
import { sql, type Sql } from '@ccfed/common';
import { checkDate, checkOneOf, InvalidOptionError } from './churn-options.js';
import { scopeCondition, type Scope } from './scope.js';

export const SATISFACTION_GROUPINGS = ['site', 'skill', 'agent', 'wait_band'] as const;
export type SatisfactionGrouping = (typeof SATISFACTION_GROUPINGS)[number];

/** Wait bands, by the call's wait from arrival to answer or hang-up; 'unknown' = call not found. */
export const WAIT_BANDS = ['<20s', '20-60s', '1-3min', '>3min', 'unknown'] as const;
export type WaitBand = (typeof WAIT_BANDS)[number];

export interface SatisfactionRow {
  /** The site id, skill, agent id or wait band. */
  readonly key: string;
  readonly responses: number;
  readonly csat_answered: number;
  readonly csat_top2: number;
  /** Top-2-box share in [0, 1]; null when no survey in the group answered CSAT. */
  readonly csat: number | null;
  readonly nps_answered: number;
  readonly promoters: number;
  readonly detractors: number;
  /** −100..100; null when no survey in the group was asked NPS. */
  readonly nps: number | null;
}

/** Most days between a call and its survey that the wait-band grouping looks back. */
export const SURVEY_LAG_DAYS = 3;

/** Surveys answered in [from, to), grouped as asked; the groups in key order. */
export function satisfactionQuery(
  scope: Scope,
  opts: { from: Date; to: Date; by: SatisfactionGrouping },
): Sql {
  const from = checkDate('from', opts.from);
  const to = checkDate('to', opts.to);
  if (to.getTime() <= from.getTime()) throw new InvalidOptionError('to', 'must be after from');
  const by = checkOneOf('by', opts.by, SATISFACTION_GROUPINGS);
  // Surveys are scoped by the site that ran them and their tenant.
  const inRange = sql`event_date >= toDate(${from}) AND event_date <= toDate(${to})
        AND event_time >= ${from} AND event_time < ${to}
        AND ${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })}`;
  const measures = sql`count() AS responses,
    countIf(csat > 0) AS csat_answered,
    countIf(csat >= 4) AS csat_top2,
    countIf(has_nps = 1) AS nps_answered,
    countIf(has_nps = 1 AND nps >= 9) AS promoters,
    countIf(has_nps = 1 AND nps <= 6) AS detractors`;
  if (by !== 'wait_band') {
    const column = { site: sql`site_id`, skill: sql`skill`, agent: sql`agent_id` }[by];
    return sql`SELECT ${column} AS key, ${measures}
FROM surveys
WHERE ${inRange}
GROUP BY key
ORDER BY key`;
  }
  // The calls view would fold every call ever taken: fold only the surveyed calls, from the
  // call_facts partitions of the days they can have happened on (a survey follows its call
  // within SURVEY_LAG_DAYS; a later one is booked as 'unknown').
  const callsFrom = new Date(from.getTime() - SURVEY_LAG_DAYS * 86_400_000);
  return sql`SELECT
    multiIf(found = 0, 'unknown', wait_ms < 20000, '<20s', wait_ms < 60000, '20-60s',
            wait_ms < 180000, '1-3min', '>3min') AS key,
    ${measures}
FROM
(
    SELECT tenant_id, call_id, csat, nps, has_nps FROM surveys WHERE ${inRange}
) AS surveyed
ANY LEFT JOIN
(
    SELECT tenant_id, call_id, maxMerge(wait_ms) AS wait_ms, toUInt8(1) AS found
    FROM call_facts
    WHERE event_date >= toDate(${callsFrom}) AND event_date <= toDate(${to})
      AND call_id IN (SELECT call_id FROM surveys WHERE ${inRange})
    GROUP BY tenant_id, call_id
) AS waits USING (tenant_id, call_id)
GROUP BY key
ORDER BY indexOf(${[...WAIT_BANDS]}, key)`;
}

function count(row: Record<string, unknown>, key: string): number {
  const v = Number(row[key]);
  if (!Number.isInteger(v) || v < 0)
    throw new Error(`satisfaction row: ${key} is ${JSON.stringify(row[key])}, not a count`);
  return v;
}

/** Rows of satisfactionQuery, with CSAT and NPS computed from the counts. */
export function parseSatisfactionRows(raw: readonly unknown[]): SatisfactionRow[] {
  return raw.map((r) => {
    const row = r as Record<string, unknown>;
    const csatAnswered = count(row, 'csat_answered');
    const csatTop2 = count(row, 'csat_top2');
    const npsAnswered = count(row, 'nps_answered');
    const promoters = count(row, 'promoters');
    const detractors = count(row, 'detractors');
    return {
      key: String(row.key),
      responses: count(row, 'responses'),
      csat_answered: csatAnswered,
      csat_top2: csatTop2,
      csat: csatAnswered === 0 ? null : csatTop2 / csatAnswered,
      nps_answered: npsAnswered,
      promoters,
      detractors,
      nps: npsAnswered === 0 ? null : (100 * (promoters - detractors)) / npsAnswered,
    };
  });
}
