// Agent performance for the sites chosen with the multi-value `site` variable: per agent calls
// handled, AHT and occupancy, and not-ready time by reason.
import { AHT_S, BUCKET_IN_RANGE, OCCUPANCY, STAFFED_MS } from './kpi-sql.js';
import type { DashboardSpec, PanelSpec } from './panel.js';
import { SITE_VARIABLE } from './site-detail.js';

const SITES = 'site_id IN (${site:singlequote})';

// call_rollup_15m has no agent, so handled and AHT per agent come from the call events with the
// rollup's own rules: `ended` with an agent counts as handled and carries talk and hold,
// `wrap_up_done` carries wrap-up, each booked in the 15-minute interval of its own time. Agent
// time comes from agent_rollup_15m. The two are stacked with UNION ALL and summed per agent.
const agents: PanelSpec = {
  key: 'agents',
  title: 'Agents',
  description:
    'Per agent: calls handled (ended with the agent), AHT ((talk + hold + wrap-up) / handled), occupancy, time available or working, and not-ready time.',
  visual: 'table',
  sql: `SELECT
    site,
    agent,
    s_handled AS handled,
    ${AHT_S} AS aht_s,
    ${OCCUPANCY} AS occupancy,
    ${STAFFED_MS} / 1000 AS staffed_s,
    s_not_ready_ms / 1000 AS not_ready_s
FROM
(
    SELECT
        site,
        agent,
        sum(e_handled) AS s_handled,
        sum(e_talk_ms) AS s_talk_ms,
        sum(e_hold_ms) AS s_hold_ms,
        sum(e_wrap_up_ms) AS s_wrap_up_ms,
        sum(a_ready_ms) AS s_ready_ms,
        sum(a_reserved_ms) AS s_reserved_ms,
        sum(a_on_call_ms) AS s_on_call_ms,
        sum(a_wrap_up_ms) AS s_agent_wrap_up_ms,
        sum(a_not_ready_ms) AS s_not_ready_ms
    FROM
    (
        SELECT
            site_id AS site,
            agent_id AS agent,
            toUInt64(kind = 'ended') AS e_handled,
            toUInt64(if(kind = 'ended', talk_ms, 0)) AS e_talk_ms,
            toUInt64(if(kind = 'ended', hold_ms, 0)) AS e_hold_ms,
            toUInt64(if(kind = 'wrap_up_done', wrap_up_ms, 0)) AS e_wrap_up_ms,
            toUInt64(0) AS a_ready_ms,
            toUInt64(0) AS a_reserved_ms,
            toUInt64(0) AS a_on_call_ms,
            toUInt64(0) AS a_wrap_up_ms,
            toUInt64(0) AS a_not_ready_ms
        FROM call_events
        WHERE $__dateFilter(event_date) AND kind IN ('ended', 'wrap_up_done') AND agent_id != '' AND ${SITES}
          AND toStartOfFifteenMinutes(event_time) >= $__fromTime
          AND toStartOfFifteenMinutes(event_time) < $__toTime
        UNION ALL
        SELECT
            site_id AS site,
            agent_id AS agent,
            toUInt64(0) AS e_handled,
            toUInt64(0) AS e_talk_ms,
            toUInt64(0) AS e_hold_ms,
            toUInt64(0) AS e_wrap_up_ms,
            ready_ms AS a_ready_ms,
            reserved_ms AS a_reserved_ms,
            on_call_ms AS a_on_call_ms,
            wrap_up_ms AS a_wrap_up_ms,
            not_ready_ms AS a_not_ready_ms
        FROM agent_rollup_15m
        WHERE ${BUCKET_IN_RANGE} AND ${SITES}
    )
    GROUP BY site, agent
)
ORDER BY site, agent`,
  columns: [
    ['site', 'string'],
    ['agent', 'string'],
    ['handled', 'number'],
    ['aht_s', 'number', 's'],
    ['occupancy', 'number', 'percentunit'],
    ['staffed_s', 'number', 's'],
    ['not_ready_s', 'number', 's'],
  ],
  width: 24,
  height: 10,
};

/**
 * Not-ready milliseconds of each interval inside [from, to): whole when it lies inside, else the
 * part inside, at second precision (the range's edges are whole seconds).
 */
const NOT_READY_MS_IN_RANGE = `if(started_at >= $__fromTime AND ended_at <= $__toTime,
            duration_ms,
            toUInt64(toUInt64(least(ended_at, $__toTime)) - toUInt64(greatest(started_at, $__fromTime))) * 1000)`;
const NOT_READY_IN_RANGE = `state = 'not_ready' AND started_at < $__toTime AND ended_at > $__fromTime AND ${SITES}`;

const notReady: PanelSpec = {
  key: 'not_ready',
  title: 'Not-ready time by agent and reason',
  description:
    'Time each agent spent not ready, by the reason they gave, from the agent-state intervals (the part of each interval inside the time range).',
  visual: 'table',
  sql: `SELECT
    site_id AS site,
    agent_id AS agent,
    reason_code AS reason,
    sum(${NOT_READY_MS_IN_RANGE}) / 1000 AS not_ready_s
FROM agent_state_intervals
WHERE ${NOT_READY_IN_RANGE}
GROUP BY site_id, agent_id, reason_code
ORDER BY site, agent, reason`,
  columns: [
    ['site', 'string'],
    ['agent', 'string'],
    ['reason', 'string'],
    ['not_ready_s', 'number', 's'],
  ],
  width: 12,
  height: 10,
};

const notReadyByReason: PanelSpec = {
  key: 'not_ready_by_reason',
  title: 'Not-ready time by reason',
  description: 'Not-ready time of all agents of the chosen sites, by reason.',
  visual: 'barchart',
  sql: `SELECT
    reason_code AS reason,
    sum(${NOT_READY_MS_IN_RANGE}) / 1000 AS not_ready_s
FROM agent_state_intervals
WHERE ${NOT_READY_IN_RANGE}
GROUP BY reason_code
ORDER BY reason`,
  columns: [
    ['reason', 'string'],
    ['not_ready_s', 'number', 's'],
  ],
  width: 12,
  height: 10,
};

export const agentPerformance: DashboardSpec = {
  uid: 'ccfed-agents',
  title: 'ccfed / Agent performance',
  description: 'Per agent: handled, AHT, occupancy and not-ready time by reason.',
  tags: ['ccfed'],
  from: 'now/d',
  to: 'now',
  refresh: '5m',
  variables: [{ ...SITE_VARIABLE, multi: true }],
  panels: [agents, notReady, notReadyByReason],
};
