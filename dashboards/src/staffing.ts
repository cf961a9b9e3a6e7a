// Staffing for HQ: per site, the agents the plan in force says each 15-minute interval needs
// beside the agents actually staffed, and the intervals that were short. The SQL is the API's
// staffing query (central/analytics/src/staffing-plan.ts), built for sentinel dates that the
// plugin's time-range macros then replace, so Grafana and the console show the same figures.
import type { Scope } from '@ccfed/analytics/scope';
import { staffingQuery } from '@ccfed/analytics/staffing-plan';
import { withTimeMacros } from './analytics.js';
import type { DashboardSpec, PanelSpec } from './panel.js';
import { SITE_VARIABLE } from './site-detail.js';

const HQ: Scope = { role: 'hq' };
const FROM = new Date('2000-01-10T00:00:00Z');
const TO = new Date('2000-01-20T00:00:00Z');

/**
 * The plan in force at the end of the range, for the intervals in the range, with staffed agents
 * for the intervals that had ended by then. The range's end stands for "now" (Grafana's default).
 */
const plan = withTimeMacros('staffing', staffingQuery(HQ, { from: FROM, to: TO, asOf: TO }), [
  [FROM, '$__fromTime'],
  [TO, '$__toTime'],
]);

const requiredAndStaffed: PanelSpec = {
  key: 'required_staffed',
  title: 'Agents required and staffed per 15 minutes',
  description:
    "At the site, every tenant and skill summed: the agents Erlang A needs for each skill's service level with the forecast calls, AHT and patience of the plan in force, and the agents actually staffed (logged in, not in not-ready) once the interval has ended; the forecast calls beside them.",
  visual: 'timeseries',
  sql: `SELECT
    toDateTime(interval_s) AS time,
    sum(required_agents) AS required,
    if(max(ended) = 1, sum(staffed_ms) / 900000, NULL) AS staffed,
    sum(offered) AS forecast_calls
FROM
(
${plan}
)
WHERE site_id = \${site:singlequote}
GROUP BY time
ORDER BY time`,
  columns: [
    ['time', 'time'],
    ['required', 'number'],
    ['staffed', 'number'],
    ['forecast_calls', 'number'],
  ],
  width: 24,
  height: 9,
};

const understaffed: PanelSpec = {
  key: 'understaffed',
  title: 'Understaffed intervals',
  description:
    'Intervals of the range that have ended with fewer agents staffed than the plan required, by skill and tenant, the shortest first.',
  visual: 'table',
  sql: `SELECT
    toDateTime(interval_s) AS interval,
    skill,
    tenant_id AS tenant,
    required_agents AS required,
    staffed_ms / 900000 AS staffed,
    required_agents - staffed_ms / 900000 AS short_by
FROM
(
${plan}
)
WHERE site_id = \${site:singlequote} AND ended = 1 AND staffed_ms / 900000 < required_agents
ORDER BY short_by DESC, interval_s, skill, tenant
LIMIT 200`,
  columns: [
    ['interval', 'time'],
    ['skill', 'string'],
    ['tenant', 'string'],
    ['required', 'number'],
    ['staffed', 'number'],
    ['short_by', 'number'],
  ],
  width: 24,
  height: 10,
};

export const staffing: DashboardSpec = {
  uid: 'ccfed-staffing',
  title: 'ccfed / Staffing',
  description:
    'The staffing plan per site: agents required against agents staffed, understaffed intervals.',
  tags: ['ccfed'],
  from: 'now-1d/d',
  to: 'now',
  refresh: '5m',
  variables: [SITE_VARIABLE],
  panels: [requiredAndStaffed, understaffed],
};
