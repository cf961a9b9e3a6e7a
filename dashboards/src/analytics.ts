// Analytics for HQ: CSAT and NPS by site, first-contact resolution, the churn call-back list's
// size and overflow shares. CSAT/NPS, FCR and churn are not re-derived here: their SQL is the
// query of central/analytics (the same text the API runs), built for sentinel dates that are
// then replaced by the plugin's time-range macros, and wrapped to compute the ratios that the
// API computes in TypeScript.
import { storedChurnScoresQuery } from '@ccfed/analytics/churn';
import { fcrQuery, REPEAT_WINDOW_DAYS } from '@ccfed/analytics/kpi-fcr';
import { satisfactionQuery } from '@ccfed/analytics/satisfaction';
import type { Scope } from '@ccfed/analytics/scope';
import { dateTimeLiteral, type Sql } from '@ccfed/common';
import { BUCKET_IN_RANGE, sums } from './kpi-sql.js';
import type { DashboardSpec, PanelSpec } from './panel.js';

// Grafana is an HQ tool: it sees every site and tenant (site supervisors and tenant clients use
// the API, which scopes every query).
const HQ: Scope = { role: 'hq' };
const DAY_S = 86_400;

/**
 * The text of `query` with each sentinel date's literal replaced by its macro expression. Every
 * sentinel must occur, and none may be left: if the analytics query changes how it uses its dates,
 * this fails at build time instead of producing a dashboard that reads the wrong period.
 */
export function withTimeMacros(
  what: string,
  query: Sql,
  replacements: readonly (readonly [sentinel: Date, macro: string])[],
): string {
  let text = query.text;
  for (const [sentinel, macro] of replacements) {
    const literal = dateTimeLiteral(sentinel);
    if (!text.includes(literal))
      throw new Error(`${what}: the query no longer contains ${literal}; cannot place ${macro}`);
    text = text.split(literal).join(macro);
  }
  const left = /toDateTime\('[^']*', 'UTC'\)/.exec(text);
  if (left) throw new Error(`${what}: a date of the query was not replaced by a macro: ${left[0]}`);
  return text;
}

const FROM = new Date('2000-01-10T00:00:00Z');
const TO = new Date('2000-01-20T00:00:00Z');
const shift = (d: Date, days: number): Date => new Date(d.getTime() + days * DAY_S * 1000);

const satisfaction: PanelSpec = {
  key: 'satisfaction',
  title: 'CSAT and NPS by site',
  description:
    'From post-call surveys in the range: CSAT top-2-box (4 or 5 among those who answered) and NPS (% promoters 9–10 − % detractors 0–6 among those asked).',
  visual: 'table',
  sql: `SELECT
    key AS site,
    responses,
    if(csat_answered > 0, csat_top2 / csat_answered, NULL) AS csat,
    if(nps_answered > 0, 100 * (toInt64(promoters) - toInt64(detractors)) / nps_answered, NULL) AS nps
FROM
(
${withTimeMacros('satisfaction', satisfactionQuery(HQ, { from: FROM, to: TO, by: 'site' }), [
  [FROM, '$__fromTime'],
  [TO, '$__toTime'],
])}
)
ORDER BY site`,
  columns: [
    ['site', 'string'],
    ['responses', 'number'],
    ['csat', 'number', 'percentunit'],
    ['nps', 'number'],
  ],
  width: 12,
  height: 8,
};

const WINDOW_S = REPEAT_WINDOW_DAYS * DAY_S;

const fcr: PanelSpec = {
  key: 'fcr',
  title: 'First-contact resolution by site',
  description: `First contacts answered at each site in the range, and the share with no further call about the skill within ${REPEAT_WINDOW_DAYS} days (short abandons aside). The last ${REPEAT_WINDOW_DAYS} days are provisional.`,
  visual: 'table',
  sql: `SELECT
    site,
    first_contacts,
    resolved,
    if(first_contacts > 0, resolved / first_contacts, NULL) AS fcr
FROM
(
${withTimeMacros('fcr', fcrQuery(HQ, { from: FROM, to: TO, groupBy: ['site'] }), [
  [shift(FROM, -REPEAT_WINDOW_DAYS), `($__fromTime - ${WINDOW_S})`],
  [shift(TO, REPEAT_WINDOW_DAYS), `($__toTime + ${WINDOW_S})`],
  [FROM, '$__fromTime'],
  [TO, '$__toTime'],
])}
)
ORDER BY site`,
  columns: [
    ['site', 'string'],
    ['first_contacts', 'number'],
    ['resolved', 'number'],
    ['fcr', 'number', 'percentunit'],
  ],
  width: 12,
  height: 8,
};

/** A customer is on the retention call-back list from this churn risk up. */
export const CALLBACK_RISK = 0.5;

const churnCallbacks: PanelSpec = {
  key: 'churn_callbacks',
  title: 'Churn call-backs by site',
  description: `From the stored churn scoring in force at the end of the range (the newest complete run by then): customers not yet churned whose churn risk is at least ${CALLBACK_RISK * 100} %, by the site that last handled them, and the value at stake (risk × value, minor units).`,
  visual: 'table',
  sql: `SELECT
    site_id AS site,
    countIf(risk >= ${CALLBACK_RISK}) AS callbacks,
    count() AS customers,
    sumIf(priority, risk >= ${CALLBACK_RISK}) AS value_at_risk
FROM
(
${withTimeMacros('churn', storedChurnScoresQuery(HQ, { asOf: TO }), [[TO, '$__toTime']])}
)
GROUP BY site_id
ORDER BY site`,
  columns: [
    ['site', 'string'],
    ['callbacks', 'number'],
    ['customers', 'number'],
    ['value_at_risk', 'number'],
  ],
  width: 12,
  height: 8,
};

const overflowShare: PanelSpec = {
  key: 'overflow_share',
  title: 'Overflow share by site',
  description:
    'Per site: the share of the calls that first reached it which it overflowed to another site (overflow out / first offered), and the share of its load it received by overflow (overflow in / offered).',
  visual: 'table',
  sql: `SELECT
    site,
    s_offered - s_overflow_in AS first_offered,
    s_overflow_out AS overflow_out,
    s_overflow_in AS overflow_in,
    if(s_offered - s_overflow_in > 0, s_overflow_out / (s_offered - s_overflow_in), NULL) AS overflow_out_share,
    if(s_offered > 0, s_overflow_in / s_offered, NULL) AS overflow_in_share
FROM
(
    SELECT
        site_id AS site,
        ${sums(['offered', 'overflow_in', 'overflow_out'])}
    FROM call_rollup_15m
    WHERE ${BUCKET_IN_RANGE}
    GROUP BY site_id
)
ORDER BY site`,
  columns: [
    ['site', 'string'],
    ['first_offered', 'number'],
    ['overflow_out', 'number'],
    ['overflow_in', 'number'],
    ['overflow_out_share', 'number', 'percentunit'],
    ['overflow_in_share', 'number', 'percentunit'],
  ],
  width: 12,
  height: 8,
};

export const analytics: DashboardSpec = {
  uid: 'ccfed-analytics',
  title: 'ccfed / Analytics',
  description: 'Satisfaction, first-contact resolution, churn call-backs and overflow.',
  tags: ['ccfed'],
  from: 'now-7d/d',
  to: 'now',
  refresh: '',
  variables: [],
  panels: [satisfaction, fcr, churnCallbacks, overflowShare],
};
