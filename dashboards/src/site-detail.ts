// One site in detail, chosen with the `site` variable: per-skill figures and trends, the live
// queue, and what its agents are doing.
import {
  ABANDON_RATE,
  AGENT_SUMS,
  AHT_S,
  ASA_S,
  BUCKET_IN_RANGE,
  KPI_SUMS,
  OCCUPANCY,
  SERVICE_LEVEL,
  sums,
} from './kpi-sql.js';
import { LIVE_QUEUE_COLUMNS, liveQueueSql } from './overview.js';
import type { DashboardSpec, PanelSpec, VariableSpec } from './panel.js';

const SITE = 'site_id = ${site:singlequote}';

/** Sites that have reported calls or snapshots: the rollup and the snapshot history together. */
export const SITE_VARIABLE: VariableSpec = {
  name: 'site',
  label: 'Site',
  sql: `SELECT DISTINCT site_id FROM
(
    SELECT site_id FROM call_rollup_15m WHERE ${BUCKET_IN_RANGE}
    UNION ALL
    SELECT site_id FROM site_snapshots WHERE $__dateFilter(event_date) AND $__timeFilter(event_time)
)
ORDER BY site_id`,
};

const skills: PanelSpec = {
  key: 'skills',
  title: 'Skills',
  description:
    'Per skill at this site: offered, answered, abandoned by callers, dropped by the system, service level, ASA, abandon rate, AHT and transfers.',
  visual: 'table',
  sql: `SELECT
    skill,
    s_offered AS offered,
    s_answered AS answered,
    s_abandoned AS abandoned,
    s_dropped AS dropped,
    ${SERVICE_LEVEL} AS service_level,
    ${ASA_S} AS asa_s,
    ${ABANDON_RATE} AS abandon_rate,
    ${AHT_S} AS aht_s,
    s_transferred AS transferred
FROM
(
    SELECT
        skill,
        ${sums(KPI_SUMS)}
    FROM call_rollup_15m
    WHERE ${BUCKET_IN_RANGE} AND ${SITE}
    GROUP BY skill
)
ORDER BY skill`,
  columns: [
    ['skill', 'string'],
    ['offered', 'number'],
    ['answered', 'number'],
    ['abandoned', 'number'],
    ['dropped', 'number'],
    ['service_level', 'number', 'percentunit'],
    ['asa_s', 'number', 's'],
    ['abandon_rate', 'number', 'percentunit'],
    ['aht_s', 'number', 's'],
    ['transferred', 'number'],
  ],
  width: 24,
  height: 8,
};

const skillVolume: PanelSpec = {
  key: 'skill_volume',
  title: 'Offered per skill per 15 minutes',
  description: 'Calls offered at this site per skill and 15-minute interval.',
  visual: 'timeseries',
  sql: `SELECT
    bucket AS time,
    skill,
    sum(offered) AS offered
FROM call_rollup_15m
WHERE ${BUCKET_IN_RANGE} AND ${SITE}
GROUP BY bucket, skill
ORDER BY time, skill`,
  columns: [
    ['time', 'time'],
    ['skill', 'string'],
    ['offered', 'number'],
  ],
  width: 12,
  height: 8,
};

const skillServiceLevel: PanelSpec = {
  key: 'skill_service_level',
  title: 'Service level per skill per 15 minutes',
  description:
    'Service level per skill and interval: answered within the threshold over answered + abandoned (short abandons aside) + dropped.',
  visual: 'timeseries',
  sql: `SELECT
    time,
    skill,
    ${SERVICE_LEVEL} AS service_level
FROM
(
    SELECT
        bucket AS time,
        skill,
        ${sums(['answered', 'answered_in_sl', 'abandoned', 'abandoned_short', 'dropped'])}
    FROM call_rollup_15m
    WHERE ${BUCKET_IN_RANGE} AND ${SITE}
    GROUP BY bucket, skill
)
ORDER BY time, skill`,
  columns: [
    ['time', 'time'],
    ['skill', 'string'],
    ['service_level', 'number', 'percentunit'],
  ],
  width: 12,
  height: 8,
};

const queueNow: PanelSpec = {
  key: 'queue_now',
  title: 'Live queue',
  description: "This site's newest snapshot in the time range, per skill.",
  visual: 'table',
  sql: liveQueueSql(SITE),
  columns: LIVE_QUEUE_COLUMNS,
  width: 24,
  height: 6,
};

/** How far back the agent-state panel looks for an agent's last state change. */
export const AGENT_STATE_LOOKBACK_S = 12 * 3600;

const agentsNow: PanelSpec = {
  key: 'agents_now',
  title: 'Agents by state',
  description: `Agents of this site by the state their last event put them in (at the end of the time range, looking back ${AGENT_STATE_LOOKBACK_S / 3600} hours); logged-out agents left out.`,
  visual: 'barchart',
  sql: `SELECT
    state,
    count() AS agents
FROM
(
    SELECT agent_id, argMax(to_state, (event_time, event_ms)) AS state
    FROM agent_events
    WHERE ${SITE}
      AND event_date >= toDate($__toTime - ${AGENT_STATE_LOOKBACK_S})
      AND event_time > $__toTime - ${AGENT_STATE_LOOKBACK_S}
      AND event_time <= $__toTime
    GROUP BY agent_id
)
WHERE state != 'logged_out'
GROUP BY state
ORDER BY state`,
  columns: [
    ['state', 'string'],
    ['agents', 'number'],
  ],
  width: 8,
  height: 8,
};

const agentStates: PanelSpec = {
  key: 'agent_states',
  title: 'Agents in each state per 15 minutes',
  description:
    'Average number of agents in each state per interval (agent time in the state / 15 minutes), from agent_rollup_15m.',
  visual: 'timeseries',
  sql: `SELECT
    bucket AS time,
    sum(ready_ms) / 900000 AS ready,
    sum(reserved_ms) / 900000 AS reserved,
    sum(on_call_ms) / 900000 AS on_call,
    sum(wrap_up_ms) / 900000 AS wrap_up,
    sum(not_ready_ms) / 900000 AS not_ready
FROM agent_rollup_15m
WHERE ${BUCKET_IN_RANGE} AND ${SITE}
GROUP BY bucket
ORDER BY time`,
  columns: [
    ['time', 'time'],
    ['ready', 'number'],
    ['reserved', 'number'],
    ['on_call', 'number'],
    ['wrap_up', 'number'],
    ['not_ready', 'number'],
  ],
  width: 8,
  height: 8,
};

const occupancy: PanelSpec = {
  key: 'occupancy',
  title: 'Occupancy per 15 minutes',
  description:
    'Share of available agent time spent on calls and wrap-up: (on call + wrap-up) / (ready + reserved + on call + wrap-up).',
  visual: 'timeseries',
  sql: `SELECT
    time,
    ${OCCUPANCY} AS occupancy
FROM
(
    SELECT
        bucket AS time,
        ${AGENT_SUMS}
    FROM agent_rollup_15m
    WHERE ${BUCKET_IN_RANGE} AND ${SITE}
    GROUP BY bucket
)
ORDER BY time`,
  columns: [
    ['time', 'time'],
    ['occupancy', 'number', 'percentunit'],
  ],
  width: 8,
  height: 8,
};

export const siteDetail: DashboardSpec = {
  uid: 'ccfed-site',
  title: 'ccfed / Site detail',
  description: 'One site: skills, trends, live queue and agent states.',
  tags: ['ccfed'],
  from: 'now/d',
  to: 'now',
  refresh: '1m',
  variables: [SITE_VARIABLE],
  panels: [skills, skillVolume, skillServiceLevel, queueNow, agentsNow, agentStates, occupancy],
};
