// The scheduled churn scoring with fitted models: for each tenant, the Python fitter
// (central/modeling/churn_job.py, through churn-fit.ts) fits a model on that tenant's own
// history, validates it out of time and stores its scores with reasons; a tenant with too little
// history, or whose fit does not beat the hand-set model on the same validation customers, is
// scored by the hand-set model (churn-scoring.ts) instead. Each tenant's model, validation AUC and
// calibration are stored in churn_models with the run; then the run is completed (readers see it
// from then on), the call-back candidates enter the retention study, and old runs are dropped.
// A system job: it reads and writes every tenant, so it takes no Scope.
import { formatDateTime, ident, raw, sql, type Sql } from '@ccfed/common';
import { CHURN_FEATURES } from './churn-model.js';
import {
  CHURN_ID_COLUMNS,
  CHURN_LABEL_DAYS,
  CHURN_MODEL_FEATURES,
  churnSnapshotQuery,
} from './churn-features.js';
import type { ChurnFitRequest, ChurnFitResult } from './churn-fit.js';
import { checkDate, InvalidOptionError } from './churn-options.js';
import { scopeCondition, type Scope } from './scope.js';
import {
  churnTenantsQuery,
  completeChurnRunQuery,
  dropChurnRunQueries,
  HAND_SET_MODEL_VERSION,
  scoreChurnTenantQuery,
  staleChurnPartitionsQuery,
  type ScoringDeps,
} from './churn-scoring.js';
import {
  checkControlShare,
  DEFAULT_CALLBACK_RISK,
  DEFAULT_CONTROL_SHARE,
  retentionCohortInsertQuery,
} from './retention.js';

const DAY_MS = 86_400_000;

/**
 * "Too little history": a tenant needs at least this many customers, and this many of them
 * churning, in each of its two labelled snapshots (the training one 2 × 60 days before the run and
 * the validation one 60 days before it): about ten churners per model coefficient.
 */
export const MIN_CUSTOMERS = 1000;
export const MIN_CHURNERS = 100;

export interface ModelingDeps extends ScoringDeps {
  /** Runs the Python fitter for one tenant (churn-fit.ts: runChurnFit with the job's login). */
  fit(request: ChurnFitRequest): Promise<ChurnFitResult>;
}

export interface ModelingOptions {
  readonly scoredAt: Date;
  readonly keep: number;
  readonly controlShare?: number;
  readonly callbackRisk?: number;
  readonly labelDays?: number;
  readonly minCustomers?: number;
  readonly minChurners?: number;
}

export interface ModelingRun {
  readonly scoredAt: Date;
  readonly customers: number;
  readonly seconds: number;
  readonly removedRuns: number;
  /** Per tenant: which model scored it and how it validated. */
  readonly tenants: readonly ChurnFitResult[];
}

/** The fitter's request for one tenant's run at `scoredAt`. */
export function churnFitRequest(
  tenantId: string,
  opts: Required<Omit<ModelingOptions, 'keep' | 'callbackRisk'>>,
): ChurnFitRequest {
  const at = (daysBack: number) => new Date(opts.scoredAt.getTime() - daysBack * DAY_MS);
  const snapshot = (asOf: Date, labelled: boolean) =>
    churnSnapshotQuery({
      tenantId,
      asOf,
      controlShare: opts.controlShare,
      ...(labelled && { labelDays: opts.labelDays }),
    }).text;
  return {
    tenant_id: tenantId,
    mode: 'out_of_time',
    train_sql: snapshot(at(2 * opts.labelDays), true),
    valid_sql: snapshot(at(opts.labelDays), true),
    score_sql: snapshot(opts.scoredAt, false),
    insert: {
      table: 'churn_scores',
      constants: { scored_at: formatDateTime(opts.scoredAt) },
      passthrough: [...CHURN_ID_COLUMNS, ...CHURN_FEATURES, 'retention_group'],
    },
    spec: CHURN_MODEL_FEATURES,
    min_customers: opts.minCustomers,
    min_churners: opts.minChurners,
  };
}

/** A figure the fitter could not compute (no validation data) is stored as nan. */
const orNan = (x: number | null | undefined): Sql | number =>
  x === null || x === undefined ? raw('nan') : x;

/** The churn_models row of one tenant's part of the run. */
export function churnModelRowQuery(opts: {
  scoredAt: Date;
  result: ChurnFitResult;
  labelDays: number;
  controlShare: number;
}): Sql {
  const r = opts.result;
  const fitted = r.decision === 'fitted';
  const at = (daysBack: number) => new Date(opts.scoredAt.getTime() - daysBack * DAY_MS);
  const bins = r.calibration?.bins ?? [];
  return sql`INSERT INTO churn_models (scored_at, tenant_id, model_version, kind, fallback_reason,
    library, label_days, train_as_of, valid_as_of, train_customers, train_churners,
    valid_customers, valid_churners, valid_auc, hand_set_valid_auc, calibration_error,
    calibration_predicted, calibration_observed, calibration_customers, feature_names,
    coefficients, intercept, fit_seconds, control_share) VALUES (
    ${opts.scoredAt}, ${r.tenant_id}, ${fitted ? r.model_version! : HAND_SET_MODEL_VERSION},
    ${fitted ? 'fitted' : 'hand_set'}, ${r.reason ?? ''}, ${fitted ? r.library : 'ccfed hand-set weights'},
    ${opts.labelDays}, ${at(2 * opts.labelDays)}, ${at(opts.labelDays)},
    ${r.train.customers}, ${r.train.churners}, ${r.valid?.customers ?? 0}, ${r.valid?.churners ?? 0},
    ${orNan(r.auc)}, ${orNan(r.hand_set_auc)}, ${orNan(r.calibration?.error)},
    ${bins.map((b) => b.predicted)}, ${bins.map((b) => b.observed)}, ${bins.map((b) => b.customers)},
    ${fitted ? [...(r.feature_names ?? [])] : []}, ${fitted ? [...(r.coefficients ?? [])] : []},
    ${r.intercept ?? 0}, ${r.fit_seconds ?? 0}, ${opts.controlShare})`;
}

/**
 * Scores every tenant as of `scoredAt` with its fitted model (or the hand-set one), stores it as
 * one complete run with each tenant's model, adds the run's call-back candidates to the retention
 * study and removes the runs beyond the newest `keep`. Running it again for the same `scoredAt`
 * replaces that run.
 */
export async function runChurnModeling(
  deps: ModelingDeps,
  opts: ModelingOptions,
): Promise<ModelingRun> {
  const scoredAt = checkDate('scoredAt', opts.scoredAt);
  if (!Number.isInteger(opts.keep) || opts.keep < 1)
    throw new InvalidOptionError('keep', `${String(opts.keep)} is not a whole number ≥ 1`);
  const settings = {
    scoredAt,
    controlShare: checkControlShare('controlShare', opts.controlShare ?? DEFAULT_CONTROL_SHARE),
    labelDays: opts.labelDays ?? CHURN_LABEL_DAYS,
    minCustomers: opts.minCustomers ?? MIN_CUSTOMERS,
    minChurners: opts.minChurners ?? MIN_CHURNERS,
  };
  const started = performance.now();
  for (const q of dropChurnRunQueries({ scoredAt })) await deps.command(q);
  const tenants = await deps.rows<{ tenant_id: string }>(churnTenantsQuery({ scoredAt }));
  const results: ChurnFitResult[] = [];
  for (const { tenant_id } of tenants) {
    const result = await deps.fit(churnFitRequest(tenant_id, settings));
    if (result.decision !== 'fitted')
      await deps.command(
        scoreChurnTenantQuery({
          scoredAt,
          tenantId: tenant_id,
          controlShare: settings.controlShare,
        }),
      );
    await deps.command(
      churnModelRowQuery({
        scoredAt,
        result,
        labelDays: settings.labelDays,
        controlShare: settings.controlShare,
      }),
    );
    results.push(result);
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  await deps.command(completeChurnRunQuery({ scoredAt, seconds }));
  await deps.command(
    retentionCohortInsertQuery({ scoredAt, minRisk: opts.callbackRisk ?? DEFAULT_CALLBACK_RISK }),
  );
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
    customers: Number(run?.customers ?? 0),
    seconds,
    removedRuns: new Set(stale.map((p) => p.partition_id)).size,
    tenants: results,
  };
}

/** A tenant's model in the scoring run in force: what scored its customers and how it validated. */
export interface ChurnModelRow {
  readonly tenant_id: string;
  readonly model_version: string;
  readonly kind: 'fitted' | 'hand_set';
  readonly fallback_reason: string;
  readonly library: string;
  readonly scored_at: string;
  readonly train_as_of: string;
  readonly valid_as_of: string;
  readonly train: { readonly customers: number; readonly churners: number };
  readonly valid: { readonly customers: number; readonly churners: number };
  /** Validation AUC of the model and of the hand-set model on the same customers; null if none. */
  readonly valid_auc: number | null;
  readonly hand_set_valid_auc: number | null;
  readonly calibration_error: number | null;
  readonly calibration: readonly { predicted: number; observed: number; customers: number }[];
  /** The fitted model's coefficients per standardised feature, largest effect first. */
  readonly coefficients: readonly { feature: string; coefficient: number }[];
  readonly intercept: number;
  readonly fit_seconds: number;
  readonly control_share: number;
}

/**
 * The models of the scoring run in force at `asOf` (the newest complete run by then), one per
 * tenant the scope may see. Models belong to tenants, not sites: a site supervisor, like HQ, sees
 * every tenant's.
 */
export function churnModelsQuery(scope: Scope, opts: { asOf: Date }): Sql {
  const asOf = checkDate('asOf', opts.asOf);
  const tenant =
    scope.role === 'tenant'
      ? scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })
      : raw('1');
  return sql`SELECT tenant_id, model_version, kind, fallback_reason, library,
    toUInt32(scored_at) AS scored_at_s, toUInt32(train_as_of) AS train_as_of_s,
    toUInt32(valid_as_of) AS valid_as_of_s, train_customers, train_churners, valid_customers,
    valid_churners,
    -- nan (a figure the fitter had no data for) is not JSON: -1 stands for it.
    if(isNaN(valid_auc), -1, valid_auc) AS valid_auc,
    if(isNaN(hand_set_valid_auc), -1, hand_set_valid_auc) AS hand_set_valid_auc,
    if(isNaN(calibration_error), -1, calibration_error) AS calibration_error, calibration_predicted,
    calibration_observed, calibration_customers, feature_names, coefficients, intercept,
    fit_seconds, control_share
FROM churn_models
WHERE scored_at = (SELECT max(scored_at) FROM churn_score_runs WHERE scored_at <= ${asOf})
  AND ${tenant}
ORDER BY tenant_id`;
}

const iso = (s: unknown) => new Date(Number(s) * 1000).toISOString();
const figure = (x: unknown) => (Number(x) < 0 ? null : Number(x));

/** Rows of churnModelsQuery (JSONEachRow). */
export function parseChurnModelRows(rawRows: readonly unknown[]): ChurnModelRow[] {
  return (rawRows as Record<string, unknown>[]).map((r) => {
    const list = (k: string) => (Array.isArray(r[k]) ? (r[k] as unknown[]) : []);
    const names = list('feature_names').map(String);
    const coefs = list('coefficients').map(Number);
    const observed = list('calibration_observed').map(Number);
    const customers = list('calibration_customers').map(Number);
    return {
      tenant_id: String(r.tenant_id),
      model_version: String(r.model_version),
      kind: r.kind === 'fitted' ? 'fitted' : 'hand_set',
      fallback_reason: String(r.fallback_reason),
      library: String(r.library),
      scored_at: iso(r.scored_at_s),
      train_as_of: iso(r.train_as_of_s),
      valid_as_of: iso(r.valid_as_of_s),
      train: { customers: Number(r.train_customers), churners: Number(r.train_churners) },
      valid: { customers: Number(r.valid_customers), churners: Number(r.valid_churners) },
      valid_auc: figure(r.valid_auc),
      hand_set_valid_auc: figure(r.hand_set_valid_auc),
      calibration_error: figure(r.calibration_error),
      calibration: list('calibration_predicted').map((p, i) => ({
        predicted: Number(p),
        observed: observed[i] ?? 0,
        customers: customers[i] ?? 0,
      })),
      coefficients: names
        .map((feature, i) => ({ feature, coefficient: coefs[i] ?? 0 }))
        .sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient)),
      intercept: Number(r.intercept),
      fit_seconds: Number(r.fit_seconds),
      control_share: Number(r.control_share),
    };
  });
}
