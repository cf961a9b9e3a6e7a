// The staffing plan: for every tenant, site, skill and 15-minute interval of the next 14 days, the
// offered calls and AHT forecast from the rollups' history (central/modeling/forecast_job.py), the
// patience the history shows, and the agents Erlang A needs for the skill's service level
// (staffing.ts). A scheduled job (plan-staffing-cli.ts) stores each plan as a run (migration 032);
// staffingQuery reads the run in force with the agents actually logged in beside it. Agents are
// dedicated to a tenant (a tenant's call waits for its own seats), so plans are per tenant and a
// site's figure is the sum of its tenants'.
import { formatDateTime, ident, raw, sql, type Sql } from '@ccfed/common';
import { checkDate, checkId, InvalidOptionError } from './churn-options.js';
import { scopeCondition, type Scope } from './scope.js';
import { cachedRequiredAgents, INTERVAL_S, patienceFromHistory } from './staffing.js';

const DAY_S = 86_400;
export const HORIZON_DAYS = 14;
export const HISTORY_WEEKS = 8;
export const DEFAULT_KEEP_STAFFING_RUNS = 14;

/** A time rounded down to its 15-minute interval. */
export const intervalStart = (d: Date): Date =>
  new Date(Math.floor(d.getTime() / (INTERVAL_S * 1000)) * INTERVAL_S * 1000);

/** Per series and interval of [from, to): offered, handled and handle seconds (the forecast's input). */
export function staffingHistoryQuery(opts: { from: Date; to: Date }): Sql {
  const from = checkDate('from', opts.from);
  const to = checkDate('to', opts.to);
  return sql`SELECT tenant_id, site_id, skill, toUInt32(bucket) AS bucket,
    sum(offered) AS offered,
    sum(handled) AS handled,
    (sum(talk_ms) + sum(hold_ms) + sum(wrap_up_ms)) / 1000 AS handle_s
FROM call_rollup_15m
WHERE bucket >= ${from} AND bucket < ${to}
GROUP BY tenant_id, site_id, skill, bucket
ORDER BY tenant_id, site_id, skill, bucket`;
}

/** Per series over [from, to): abandons and waiting seconds, for the patience estimate. */
export function staffingPatienceQuery(opts: { from: Date; to: Date }): Sql {
  const from = checkDate('from', opts.from);
  const to = checkDate('to', opts.to);
  return sql`SELECT tenant_id, site_id, skill,
    sum(abandoned) AS abandoned,
    sum(abandon_wait_ms) / 1000 AS abandon_wait_s,
    sum(answer_wait_ms) / 1000 AS answer_wait_s
FROM call_rollup_15m
WHERE bucket >= ${from} AND bucket < ${to}
GROUP BY tenant_id, site_id, skill`;
}

/** One series' forecast, as forecast_job.py answers it. */
export interface SeriesForecast {
  readonly tenant_id: string;
  readonly site_id: string;
  readonly skill: string;
  readonly offered: readonly number[];
  readonly aht_s: readonly number[] | null;
}

export interface ForecastRequest {
  readonly history_sql: string;
  readonly history_start: number;
  readonly history_end: number;
  readonly horizon_start: number;
  readonly horizon_intervals: number;
  readonly evaluate?: boolean;
}

export interface ForecastResult {
  readonly series: readonly SeriesForecast[];
  readonly method: string;
  readonly seconds: number;
  readonly accuracy?: readonly {
    tenant_id: string;
    site_id: string;
    skill: string;
    actual: number[];
  }[];
}

export interface StaffingDeps {
  command(q: Sql): Promise<void>;
  rows<T>(q: Sql): Promise<T[]>;
  /** Inserts rows (JSONEachRow) into `table`. */
  insert(table: string, values: readonly Record<string, unknown>[]): Promise<void>;
  /** Runs the Python forecaster (churn-fit.ts: runModelingJob('forecast_job.py', …)). */
  forecast(request: ForecastRequest): Promise<ForecastResult>;
}

/** What the plan reads of the topology file (a Topology has it). */
export interface StaffingTopology {
  readonly skills: readonly {
    readonly id: string;
    readonly serviceLevel: { readonly thresholdSeconds: number; readonly targetPercent: number };
  }[];
  readonly sites: readonly {
    readonly id: string;
    readonly agents: readonly {
      readonly id: string;
      readonly tenant: string;
      readonly skills: Readonly<Record<string, number>>;
    }[];
  }[];
}

/** Each skill's service level, and each agent's tenant, site and primary skill. */
export function staffingTargets(topology: StaffingTopology): {
  skills: Map<string, { thresholdS: number; target: number }>;
  agents: { tenant_id: string; site_id: string; agent_id: string; skill: string }[];
} {
  const skills = new Map(
    topology.skills.map((s) => [
      s.id,
      { thresholdS: s.serviceLevel.thresholdSeconds, target: s.serviceLevel.targetPercent / 100 },
    ]),
  );
  const order = topology.skills.map((s) => s.id);
  const agents = topology.sites.flatMap((site) =>
    site.agents.map((a) => {
      // The primary skill: the highest proficiency, the topology's skill order breaking ties.
      const [skill] = Object.entries(a.skills).sort(
        ([s1, p1], [s2, p2]) => p2 - p1 || order.indexOf(s1) - order.indexOf(s2),
      )[0]!;
      return { tenant_id: a.tenant, site_id: site.id, agent_id: a.id, skill };
    }),
  );
  return { skills, agents };
}

export interface StaffingRun {
  readonly runAt: Date;
  readonly series: number;
  readonly intervals: number;
  readonly seconds: number;
  readonly removedRuns: number;
}

/** The default service level of a skill the topology does not know: 80 % within 20 s. */
const DEFAULT_SL = { thresholdS: 20, target: 0.8 };

/**
 * Forecasts every series from the HISTORY_WEEKS before `runAt`, sizes every interval of the next
 * HORIZON_DAYS and stores it as one complete run, then drops the runs beyond the newest `keep`.
 */
export async function runStaffingPlan(
  deps: StaffingDeps,
  opts: { runAt: Date; topology: StaffingTopology; keep: number; historyWeeks?: number },
): Promise<StaffingRun> {
  const runAt = checkDate('runAt', opts.runAt);
  if (!Number.isInteger(opts.keep) || opts.keep < 1)
    throw new InvalidOptionError('keep', `${String(opts.keep)} is not a whole number ≥ 1`);
  const started = performance.now();
  const weeks = opts.historyWeeks ?? HISTORY_WEEKS;
  const horizonStart = intervalStart(runAt);
  const historyStart = new Date(horizonStart.getTime() - weeks * 7 * DAY_S * 1000);
  const intervals = (HORIZON_DAYS * DAY_S) / INTERVAL_S;
  const id = String(Math.floor(runAt.getTime() / 1000));
  for (const t of ['staffing_runs', 'staffing_plan', 'staffing_agents'])
    await deps.command(sql`ALTER TABLE ${ident(t)} DROP PARTITION ID ${id}`);

  const forecast = await deps.forecast({
    history_sql: staffingHistoryQuery({ from: historyStart, to: horizonStart }).text,
    history_start: historyStart.getTime() / 1000,
    history_end: horizonStart.getTime() / 1000,
    horizon_start: horizonStart.getTime() / 1000,
    horizon_intervals: intervals,
  });
  const patience = new Map(
    (
      await deps.rows<Record<string, string | number>>(
        staffingPatienceQuery({ from: historyStart, to: horizonStart }),
      )
    ).map((r) => [
      `${r.tenant_id}/${r.site_id}/${r.skill}`,
      patienceFromHistory({
        abandoned: Number(r.abandoned),
        abandonWaitS: Number(r.abandon_wait_s),
        answerWaitS: Number(r.answer_wait_s),
      }),
    ]),
  );
  const { skills, agents } = staffingTargets(opts.topology);
  const size = cachedRequiredAgents();
  const runText = formatDateTime(runAt);
  for (const s of forecast.series) {
    const sl = skills.get(s.skill) ?? DEFAULT_SL;
    const patienceS = patience.get(`${s.tenant_id}/${s.site_id}/${s.skill}`) ?? Infinity;
    const rows = s.offered.map((offered, i) => {
      const ahtS = s.aht_s?.[i] ?? 0;
      const need = size({
        offered,
        ahtS,
        patienceS,
        thresholdS: sl.thresholdS,
        targetSl: sl.target,
      });
      return {
        run_at: runText,
        tenant_id: s.tenant_id,
        site_id: s.site_id,
        skill: s.skill,
        bucket: formatDateTime(new Date(horizonStart.getTime() + i * INTERVAL_S * 1000)),
        offered,
        aht_s: ahtS,
        // 0 stands for "never gave up" (Infinity is no number in JSON).
        patience_s: Number.isFinite(patienceS) ? patienceS : 0,
        sl_threshold_s: sl.thresholdS,
        sl_target: sl.target,
        required_agents: need.agents,
        expected_sl: need.sl,
      };
    });
    await deps.insert('staffing_plan', rows);
  }
  await deps.insert(
    'staffing_agents',
    agents.map((a) => ({ run_at: runText, ...a })),
  );
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  await deps.insert('staffing_runs', [
    {
      run_at: runText,
      horizon_start: formatDateTime(horizonStart),
      horizon_end: formatDateTime(new Date(horizonStart.getTime() + HORIZON_DAYS * DAY_S * 1000)),
      history_weeks: weeks,
      series: forecast.series.length,
      intervals: forecast.series.length * intervals,
      method: forecast.method,
      seconds,
      finished_at: formatDateTime(new Date()),
    },
  ]);
  const stale = await deps.rows<{ table: string; partition_id: string }>(
    sql`SELECT DISTINCT table, partition_id FROM system.parts
WHERE database = currentDatabase() AND active
  AND table IN ('staffing_plan', 'staffing_agents', 'staffing_runs')
  AND toUInt32(partition_id) < ${Math.floor(runAt.getTime() / 1000)}
  AND partition_id NOT IN
      (SELECT toString(toUInt32(run_at)) FROM staffing_runs ORDER BY run_at DESC LIMIT ${opts.keep})
ORDER BY table != 'staffing_runs', partition_id`,
  );
  for (const p of stale)
    await deps.command(sql`ALTER TABLE ${ident(p.table)} DROP PARTITION ID ${p.partition_id}`);
  return {
    runAt,
    series: forecast.series.length,
    intervals: forecast.series.length * intervals,
    seconds,
    removedRuns: new Set(stale.map((p) => p.partition_id)).size,
  };
}

/** Row of staffingQuery: one series' interval, planned and, once it has passed, staffed. */
export interface StaffingRow {
  readonly tenant_id: string;
  readonly site_id: string;
  readonly skill: string;
  /** The interval's start (ISO 8601). */
  readonly interval: string;
  readonly offered: number;
  readonly aht_s: number;
  readonly required_agents: number;
  /** Agents logged in and not in not-ready, on average over the interval; null before it ends. */
  readonly staffed_agents: number | null;
  /** staffed < required, once the interval has ended; false before. */
  readonly understaffed: boolean;
  readonly expected_sl: number;
  /** When the plan in force was made (ISO 8601). */
  readonly planned_at: string;
}

/**
 * The plan in force at `asOf` (the newest complete run by then) for the intervals in [from, to)
 * that the scope may see, with the agents actually staffed in each interval that ended by `asOf`:
 * (ready + reserved + on call + wrap-up) ms / 900,000 over the agents whose primary skill it is.
 */
export function staffingQuery(
  scope: Scope,
  opts: { from: Date; to: Date; asOf: Date; siteId?: string; skill?: string },
): Sql {
  const from = checkDate('from', opts.from);
  const to = checkDate('to', opts.to);
  const asOf = checkDate('asOf', opts.asOf);
  if (to.getTime() <= from.getTime()) throw new InvalidOptionError('to', 'must be after from');
  if (to.getTime() - from.getTime() > (HORIZON_DAYS + 1) * DAY_S * 1000)
    throw new InvalidOptionError('to', `at most ${HORIZON_DAYS + 1} days after from`);
  const site =
    opts.siteId === undefined ? raw('1') : sql`site_id = ${checkId('siteId', opts.siteId)}`;
  const skill = opts.skill === undefined ? raw('1') : sql`skill = ${checkId('skill', opts.skill)}`;
  const filter = sql`${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })} AND ${site} AND ${skill}`;
  const run = sql`(SELECT max(run_at) FROM staffing_runs WHERE run_at <= ${asOf})`;
  const ended = new Date(intervalStart(asOf).getTime());
  return sql`SELECT tenant_id, site_id, skill, toUInt32(bucket) AS interval_s, offered, aht_s,
    required_agents, expected_sl, staffed_ms, toUInt32(run_at) AS planned_at_s,
    toUInt8(bucket < ${ended}) AS ended
FROM
(
    SELECT run_at, tenant_id, site_id, skill, bucket, offered, aht_s, required_agents, expected_sl
    FROM staffing_plan
    WHERE run_at = ${run} AND bucket >= ${from} AND bucket < ${to} AND ${filter}
) AS plan
ANY LEFT JOIN
(
    SELECT tenant_id, site_id, skill, bucket, sum(productive_ms) AS staffed_ms
    FROM
    (
        SELECT tenant_id, site_id, agent_id, bucket,
            ready_ms + reserved_ms + on_call_ms + wrap_up_ms AS productive_ms
        FROM agent_rollup_15m
        WHERE bucket >= ${from} AND bucket < ${to} AND bucket < ${ended}
          AND ${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })} AND ${site}
    ) AS worked
    ALL INNER JOIN
    (
        SELECT tenant_id, site_id, agent_id, skill FROM staffing_agents WHERE run_at = ${run}
    ) AS roster USING (tenant_id, site_id, agent_id)
    WHERE ${skill}
    GROUP BY tenant_id, site_id, skill, bucket
) AS staffed USING (tenant_id, site_id, skill, bucket)
ORDER BY tenant_id, site_id, skill, interval_s`;
}

/** Rows of staffingQuery (JSONEachRow), with staffed agents and the understaffed mark. */
export function parseStaffingRows(rawRows: readonly unknown[]): StaffingRow[] {
  return (rawRows as Record<string, unknown>[]).map((r) => {
    const ended = Number(r.ended) === 1;
    const staffed = ended ? Number(r.staffed_ms) / (INTERVAL_S * 1000) : null;
    const required = Number(r.required_agents);
    return {
      tenant_id: String(r.tenant_id),
      site_id: String(r.site_id),
      skill: String(r.skill),
      interval: new Date(Number(r.interval_s) * 1000).toISOString(),
      offered: Number(r.offered),
      aht_s: Number(r.aht_s),
      required_agents: required,
      staffed_agents: staffed,
      understaffed: staffed !== null && staffed < required,
      expected_sl: Number(r.expected_sl),
      planned_at: new Date(Number(r.planned_at_s) * 1000).toISOString(),
    };
  });
}
