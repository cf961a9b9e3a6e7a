// Nationwide overview for HQ: every site's figures for the day, the federation's totals, the
// 15-minute trend and the live queues from the newest site snapshots.
import { ABANDON_RATE, ASA_S, BUCKET_IN_RANGE, KPI_SUMS, SERVICE_LEVEL, sums } from './kpi-sql.js';
import type { DashboardSpec, PanelSpec } from './panel.js';

/** Federation-wide: each call once (offered − overflow_in), waits judged where they ended. */
const federation: PanelSpec = {
  key: 'federation',
  title: 'Federation',
  description:
    'Calls that reached the federation (each overflowed call once), answered, service level, ASA and abandon rate over all sites.',
  visual: 'stat',
  sql: `SELECT
    s_offered - s_overflow_in AS offered,
    s_answered AS answered,
    ${SERVICE_LEVEL} AS service_level,
    ${ASA_S} AS asa_s,
    ${ABANDON_RATE} AS abandon_rate
FROM
(
    SELECT
        ${sums(KPI_SUMS)}
    FROM call_rollup_15m
    WHERE ${BUCKET_IN_RANGE}
)`,
  columns: [
    ['offered', 'number'],
    ['answered', 'number'],
    ['service_level', 'number', 'percentunit'],
    ['asa_s', 'number', 's'],
    ['abandon_rate', 'number', 'percentunit'],
  ],
  width: 24,
  height: 5,
};

const sites: PanelSpec = {
  key: 'sites',
  title: 'Sites',
  description:
    'Per site: calls offered there (overflowed-in calls included), answered, service level, ASA, abandon rate, and calls overflowed in and out.',
  visual: 'table',
  sql: `SELECT
    site,
    s_offered AS offered,
    s_answered AS answered,
    ${SERVICE_LEVEL} AS service_level,
    ${ASA_S} AS asa_s,
    ${ABANDON_RATE} AS abandon_rate,
    s_overflow_in AS overflow_in,
    s_overflow_out AS overflow_out
FROM
(
    SELECT
        site_id AS site,
        ${sums(KPI_SUMS)}
    FROM call_rollup_15m
    WHERE ${BUCKET_IN_RANGE}
    GROUP BY site_id
)
ORDER BY site`,
  columns: [
    ['site', 'string'],
    ['offered', 'number'],
    ['answered', 'number'],
    ['service_level', 'number', 'percentunit'],
    ['asa_s', 'number', 's'],
    ['abandon_rate', 'number', 'percentunit'],
    ['overflow_in', 'number'],
    ['overflow_out', 'number'],
  ],
  width: 24,
  height: 8,
};

const trend: PanelSpec = {
  key: 'trend',
  title: 'Offered and answered per 15 minutes',
  description:
    'Federation-wide per 15-minute interval: calls that reached the federation (each once) and calls answered, each booked in the interval of its own event.',
  visual: 'timeseries',
  sql: `SELECT
    time,
    s_offered - s_overflow_in AS offered,
    s_answered AS answered
FROM
(
    SELECT
        bucket AS time,
        ${sums(['offered', 'overflow_in', 'answered'])}
    FROM call_rollup_15m
    WHERE ${BUCKET_IN_RANGE}
    GROUP BY bucket
)
ORDER BY time`,
  columns: [
    ['time', 'time'],
    ['offered', 'number'],
    ['answered', 'number'],
  ],
  width: 24,
  height: 8,
};

/**
 * The newest snapshot of each site (highest sequence in the range), one row per skill. max() over
 * the rows of that snapshot collapses a snapshot stored twice.
 */
export function liveQueueSql(siteCondition: string): string {
  return `SELECT
    site_id AS site,
    skill,
    max(event_time) AS snapshot_time,
    max(queued) AS queued,
    max(oldest_wait_ms) / 1000 AS oldest_wait_s,
    max(agents_staffed) AS agents_staffed,
    max(agents_idle) AS agents_idle,
    max(expected_wait_ms) / 1000 AS expected_wait_s,
    max(accepting_overflow) AS accepting_overflow
FROM site_snapshots
WHERE $__dateFilter(event_date) AND $__timeFilter(event_time) AND ${siteCondition}
  AND (site_id, sequence) IN
  (
      SELECT site_id, max(sequence)
      FROM site_snapshots
      WHERE $__dateFilter(event_date) AND $__timeFilter(event_time) AND ${siteCondition}
      GROUP BY site_id
  )
GROUP BY site_id, skill
ORDER BY site, skill`;
}

export const LIVE_QUEUE_COLUMNS = [
  ['site', 'string'],
  ['skill', 'string'],
  ['snapshot_time', 'time'],
  ['queued', 'number'],
  ['oldest_wait_s', 'number', 's'],
  ['agents_staffed', 'number'],
  ['agents_idle', 'number'],
  ['expected_wait_s', 'number', 's'],
  ['accepting_overflow', 'number'],
] as const;

const liveQueue: PanelSpec = {
  key: 'live_queue',
  title: 'Live queues',
  description:
    "Each site's newest snapshot in the time range, per skill: calls queued, the oldest wait, agents staffed and idle, expected wait, and whether the site accepts overflow.",
  visual: 'table',
  sql: liveQueueSql('1'),
  columns: LIVE_QUEUE_COLUMNS,
  width: 24,
  height: 8,
};

export const overview: DashboardSpec = {
  uid: 'ccfed-overview',
  title: 'ccfed / Nationwide overview',
  description: 'Every site at a glance: volumes, service level, overflow and live queues.',
  tags: ['ccfed'],
  from: 'now/d',
  to: 'now',
  refresh: '1m',
  variables: [],
  panels: [federation, sites, trend, liveQueue],
};
