// Stored churn scoring. A scheduled job (score-churn-cli.ts) scores every customer not churned as
// of the run's time with the one model of churn.ts (scoredCustomers: the features and weights of
// churnScoresQuery) and stores the run in churn_scores (migration 022); the call-back list
// (churnCallbackQuery) reads the newest complete run. A run is written as its rows, one INSERT per
// tenant so that no query holds every customer's features at once, and then its churn_score_runs
// row: until that row exists readers keep reading the previous run. A system job, not a request:
// it reads and writes every tenant, so it takes no Scope.
import { ident, raw, sql, type Sql } from '@ccfed/common';
import { scoredCustomers } from './churn.js';
import { CHURN_FEATURES } from './churn-model.js';
import { checkDate, checkId, InvalidOptionError } from './churn-options.js';
import { DEFAULT_CONTROL_SHARE, retentionGroupExpression } from './retention.js';

/** The model_version of scores from the hand-set model (churn-model.ts). */
export const HAND_SET_MODEL_VERSION = 'hand-set-v1';

const DAY_MS = 86_400_000;

/** How many complete runs the job keeps by default: two days of hourly runs. */
export const DEFAULT_KEEP_RUNS = 48;

const COLUMNS = [
  'tenant_id',
  'customer_id',
  'site_id',
  'value',
  ...CHURN_FEATURES,
  'risk',
  'priority',
] as const;

/** What the job talks to ClickHouse with. */
export interface ScoringDeps {
  /** Runs a statement that returns nothing. */
  command(q: Sql): Promise<void>;
  rows<T>(q: Sql): Promise<T[]>;
}

/** What one run stored. */
export interface ChurnRun {
  readonly scoredAt: Date;
  readonly tenants: number;
  readonly customers: number;
  readonly seconds: number;
  /** Runs removed because they are older than the newest `keep`, or were never completed. */
  readonly removedRuns: number;
}

// DateTime partitions are named by their unix seconds (system.parts partition_id).
const partitionId = (at: Date) => String(Math.floor(at.getTime() / 1000));

/**
 * The tenants with a customer the run can score: any with CRM events, or with calls or surveys
 * in the 90-day look-back window before `scoredAt`.
 */
export function churnTenantsQuery(opts: { scoredAt: Date }): Sql {
  const scoredAt = checkDate('scoredAt', opts.scoredAt);
  const firstDay = new Date(scoredAt.getTime() - 91 * DAY_MS);
  return sql`SELECT DISTINCT tenant_id FROM
(
    SELECT tenant_id FROM crm_events
    UNION ALL
    SELECT tenant_id FROM call_facts WHERE event_date >= toDate(${firstDay})
    UNION ALL
    SELECT tenant_id FROM surveys WHERE event_date >= toDate(${firstDay})
)
ORDER BY tenant_id`;
}

/** Statements that remove whatever a run of `scoredAt` stored: its run row first, then its rows. */
export function dropChurnRunQueries(opts: { scoredAt: Date }): Sql[] {
  const id = partitionId(checkDate('scoredAt', opts.scoredAt));
  return [
    sql`ALTER TABLE churn_score_runs DROP PARTITION ID ${id}`,
    sql`ALTER TABLE churn_scores DROP PARTITION ID ${id}`,
    sql`ALTER TABLE churn_models DROP PARTITION ID ${id}`,
  ];
}

/**
 * Stores the hand-set model's scores of one tenant's customers as of `scoredAt` as rows of that
 * run, each with its retention group (retention.ts) for `controlShare`.
 */
export function scoreChurnTenantQuery(opts: {
  scoredAt: Date;
  tenantId: string;
  controlShare?: number;
}): Sql {
  const scoredAt = checkDate('scoredAt', opts.scoredAt);
  const tenantId = checkId('tenantId', opts.tenantId);
  const columns = raw(COLUMNS.join(', '));
  const group = retentionGroupExpression(opts.controlShare ?? DEFAULT_CONTROL_SHARE);
  return sql`INSERT INTO churn_scores (scored_at, ${columns}, model_version, retention_group)
SELECT ${scoredAt}, ${columns}, ${HAND_SET_MODEL_VERSION}, ${group}
FROM (${scoredCustomers({ role: 'tenant', tenantId }, scoredAt, raw('1'))})`;
}

/** Marks the run of `scoredAt` complete: readers take it from now on. */
export function completeChurnRunQuery(opts: { scoredAt: Date; seconds: number }): Sql {
  const scoredAt = checkDate('scoredAt', opts.scoredAt);
  return sql`INSERT INTO churn_score_runs (scored_at, customers, seconds, finished_at)
SELECT ${scoredAt}, count(), ${opts.seconds}, now() FROM churn_scores WHERE scored_at = ${scoredAt}`;
}

/**
 * The partitions to drop, run rows before score rows: every run but the newest `keep` complete
 * ones, and the rows of unfinished runs, all older than `before` (a run still being written is
 * newer and left alone).
 */
export function staleChurnPartitionsQuery(opts: { keep: number; before: Date }): Sql {
  const before = checkDate('before', opts.before);
  return sql`SELECT DISTINCT table, partition_id
FROM system.parts
WHERE database = currentDatabase() AND active
  AND table IN ('churn_scores', 'churn_score_runs', 'churn_models')
  AND toUInt32(partition_id) < ${Math.floor(before.getTime() / 1000)}
  AND partition_id NOT IN
      (SELECT toString(toUInt32(scored_at)) FROM churn_score_runs ORDER BY scored_at DESC LIMIT ${opts.keep})
ORDER BY table != 'churn_score_runs', partition_id`;
}

/**
 * Scores every customer not churned at `scoredAt` and stores it as one complete run, then removes
 * the runs beyond the newest `keep`. Running it again for the same `scoredAt` replaces that run.
 */
export async function runChurnScoring(
  deps: ScoringDeps,
  opts: { scoredAt: Date; keep: number; controlShare?: number },
): Promise<ChurnRun> {
  const scoredAt = checkDate('scoredAt', opts.scoredAt);
  if (!Number.isInteger(opts.keep) || opts.keep < 1)
    throw new InvalidOptionError('keep', `${String(opts.keep)} is not a whole number ≥ 1`);
  const started = performance.now();
  for (const q of dropChurnRunQueries({ scoredAt })) await deps.command(q);
  const tenants = await deps.rows<{ tenant_id: string }>(churnTenantsQuery({ scoredAt }));
  for (const { tenant_id } of tenants)
    await deps.command(
      scoreChurnTenantQuery({
        scoredAt,
        tenantId: tenant_id,
        ...(opts.controlShare !== undefined && { controlShare: opts.controlShare }),
      }),
    );
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  await deps.command(completeChurnRunQuery({ scoredAt, seconds }));
  const [run] = await deps.rows<{ customers: string }>(
    sql`SELECT customers FROM churn_score_runs WHERE scored_at = ${scoredAt}`,
  );
  const stale = await deps.rows<{ table: string; partition_id: string }>(
    staleChurnPartitionsQuery({ keep: opts.keep, before: scoredAt }),
  );
  for (const p of stale)
    await deps.command(sql`ALTER TABLE ${ident(p.table)} DROP PARTITION ID ${p.partition_id}`);
  return {
    scoredAt,
    tenants: tenants.length,
    customers: Number(run?.customers ?? 0),
    seconds,
    removedRuns: new Set(stale.map((p) => p.partition_id)).size,
  };
}
