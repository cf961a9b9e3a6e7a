// Churn risk per customer, from what the contact centre saw (calls, surveys) and what the CRM
// says (cancellation intent, customer value). The features and the logistic score are computed
// in ClickHouse; the weights come from churn-model.ts, and the reasons are recomputed from the
// returned features by the same model. Scoring every customer takes seconds at a million
// customers, so a scheduled job stores each scoring as a run (churn-scoring.ts,
// score-churn-cli.ts) and the call-back list reads the newest complete run.
import { join, raw, sql, type Sql } from '@ccfed/common';
import {
  CHURN_FEATURES,
  CHURN_MODEL,
  scoreChurn,
  type ChurnFeatures,
  type ChurnReason,
} from './churn-model.js';
import { checkDate, checkId, checkLimit, MAX_CAMPAIGN_LIST } from './churn-options.js';
import { scopeCondition, type Scope } from './scope.js';

const DAY_S = 86_400;
/** Long waits: more than 2 minutes from arrival to answer or hang-up. */
export const LONG_WAIT_MS = 120_000;

/** One customer's features and risk as of `asOf`; value is the latest CRM customer value. */
export interface ChurnScoreRow extends ChurnFeatures {
  readonly tenant_id: string;
  readonly customer_id: string;
  /** The site that last handled one of the customer's calls (else the CRM's latest site). */
  readonly site_id: string;
  /** Customer value in minor currency units (CRM customer_value_minor, latest). */
  readonly value: number;
  readonly risk: number;
  /** risk × value: what a retention call-back is expected to save. */
  readonly priority: number;
  /** The features that raised the risk most, largest first. */
  readonly reasons: ChurnReason[];
}

/** A call-back list row: a stored score, the model that gave it, and when the run scored. */
export interface ChurnCallbackRow extends Omit<ChurnScoreRow, 'reasons'> {
  /**
   * The reasons of the model that scored the customer: a fitted model's features that add at
   * least 0.3 log-odds over the tenant's average customer (`plan:month-to-month`,
   * `products:no support`, `repeat_contacts`, …), or the hand-set model's (churn-model.ts).
   */
  readonly reasons: string[];
  /** A fitted model's version (churn_models), or hand-set-v1. */
  readonly model_version: string;
  /** The run's as-of time (ISO 8601): the features count up to it. */
  readonly scored_at: string;
}

function tenantOnly(scope: Scope): Sql {
  // Features are counted over every site the customer called, so only the tenant bound is
  // applied inside; the site bound applies to the site that last handled the customer.
  return scope.role === 'tenant'
    ? scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })
    : raw('1');
}

function riskExpression(): Sql {
  const terms = CHURN_FEATURES.map((name) => {
    const { perUnit, cap } = CHURN_MODEL.weights[name];
    return sql`${perUnit} * least(${raw(name)}, ${cap})`;
  });
  return sql`1 / (1 + exp(-(${CHURN_MODEL.intercept} + ${join(terms, ' + ')})))`;
}

/**
 * Every customer not yet churned at `asOf` (no CRM cancellation with intent_only = 0 before
 * it), with features, risk and value; unordered. For batch scoring and model validation.
 */
export function churnScoresQuery(scope: Scope, opts: { asOf: Date }): Sql {
  return scoredCustomers(scope, checkDate('asOf', opts.asOf), raw('1'));
}

const STORED_COLUMNS = raw(
  `tenant_id, customer_id, site_id, value, ${CHURN_FEATURES.join(', ')}, risk, priority,
    model_version, reasons, retention_group, toUInt64(scored_at) AS scored_at_s`,
);

/** The rows of the run in force at `asOf` that the scope may see, narrowed by `extra`. */
function inForce(scope: Scope, asOf: Date, extra: Sql): Sql {
  return sql`scored_at = (SELECT max(scored_at) FROM churn_score_runs WHERE scored_at <= ${asOf})
  AND ${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })} AND ${extra}`;
}

/**
 * The stored scores of the newest complete scoring run at or before `asOf` (the scoring in force
 * then) that the scope may see: customers not yet churned when it scored; unordered. No rows when
 * no kept run is that old. Cost: one run's rows of the scope, never a pass over the calls.
 */
export function storedChurnScoresQuery(scope: Scope, opts: { asOf: Date }): Sql {
  const asOf = checkDate('asOf', opts.asOf);
  return sql`SELECT ${STORED_COLUMNS}
FROM churn_scores
WHERE ${inForce(scope, asOf, raw('1'))}`;
}

/**
 * The retention call-back list from the stored scoring in force at `asOf`
 * (storedChurnScoresQuery): highest risk × value first, at most `limit` (up to MAX_CAMPAIGN_LIST), optionally only the
 * customers last handled by `siteId`. The retention control group (retention.ts) is never on it.
 */
export function churnCallbackQuery(
  scope: Scope,
  opts: { siteId?: string; limit: number; asOf: Date },
): Sql {
  const asOf = checkDate('asOf', opts.asOf);
  const limit = checkLimit('limit', opts.limit, MAX_CAMPAIGN_LIST);
  const site =
    opts.siteId === undefined ? raw('1') : sql`site_id = ${checkId('siteId', opts.siteId)}`;
  const rows = inForce(scope, asOf, sql`${site} AND retention_group != 'control'`);
  // The list's rows all have at least the limit-th highest priority: finding that bound reads
  // only the priority column, and PREWHERE then reads the other columns only where it holds
  // (at 1.5 M customers, a third of the time of sorting every row with all its columns).
  return sql`SELECT ${STORED_COLUMNS}
FROM churn_scores
PREWHERE priority >=
    (SELECT min(priority) FROM
        (SELECT priority FROM churn_scores WHERE ${rows} ORDER BY priority DESC LIMIT ${limit}))
WHERE ${rows}
ORDER BY priority DESC, risk DESC, tenant_id, customer_id
LIMIT ${limit}`;
}

/**
 * Per customer, over the union of call, survey and CRM rows that the hand-set scoring and the
 * fitted model's features both read: the site that last served them, their value, and the
 * hand-set model's six behaviours. One fragment, so the two models see the same behaviours.
 */
export const CUSTOMER_BEHAVIOUR: Sql =
  raw(`if(argMaxIf(site_id, at, source = 'call' AND site_id != '') != '',
           argMaxIf(site_id, at, source = 'call' AND site_id != ''),
           argMaxIf(site_id, at, source = 'crm' AND site_id != '')) AS site_id,
        argMaxIf(customer_value, at, source = 'crm' AND customer_value > 0) AS value,
        if(sum(calls_30d) > 1, sum(calls_30d) - 1, 0) AS repeat_contacts,
        sum(complaint_points) AS complaint,
        sum(caller_abandons) AS abandons,
        sum(waited_long) AS long_waits,
        sum(csat_low) AS low_csat,
        sum(intents) AS cancellation_intent,`);

/**
 * The calls with a customer that arrived in [from, to), folded from call_facts as the `calls`
 * view does, but only over the event dates such a call can have events on. The view folds every
 * call ever taken before filtering, which at 10 M calls does not fit a 4 GB query; call_facts is
 * partitioned by month of event_date, so this reads the look-back window's months only. A call's
 * events fall within a day of its arrival; a call whose offered event (the one that carries
 * arrival_time) is outside the bound folds to arrival_time 0 and is dropped.
 */
export function callsArrived(from: Date, to: Date, tenant: Sql): Sql {
  const firstDay = new Date(from.getTime() - DAY_S * 1000);
  const lastDay = new Date(to.getTime() + DAY_S * 1000);
  return sql`SELECT tenant_id, customer_id, handling_site_id, arrival_time, abandoned_by_caller, wait_ms, overflowed
            FROM
            (
                SELECT
                    tenant_id,
                    call_id,
                    maxMerge(customer_id) AS customer_id,
                    maxMerge(handling_site_id) AS handling_site_id,
                    maxMerge(arrival_time) AS arrival_time,
                    maxMerge(abandoned_by_caller) AS abandoned_by_caller,
                    maxMerge(wait_ms) AS wait_ms,
                    maxMerge(overflowed) AS overflowed
                FROM call_facts
                WHERE event_date >= toDate(${firstDay}) AND event_date <= toDate(${lastDay}) AND ${tenant}
                GROUP BY tenant_id, call_id
            )
            WHERE customer_id != '' AND arrival_time >= ${from} AND arrival_time < ${to}`;
}

/**
 * The wrap-ups agents recorded (AgentControl.CompleteWrapUp) of calls that arrived in [from, to):
 * per call, its customer, the complaint severity and the first-contact verdict the agent gave.
 * Churn features prefer these to the survey's answer about the same call (docs/kpis.md): the agent
 * heard the whole call, and most calls are never surveyed.
 */
export function agentWrapUps(from: Date, to: Date, tenant: Sql): Sql {
  const firstDay = new Date(from.getTime() - DAY_S * 1000);
  const lastDay = new Date(to.getTime() + 2 * DAY_S * 1000);
  return sql`SELECT tenant_id, customer_id, call_id, site_id, event_time,
                max(complaint_severity) AS complaint_severity,
                max(resolved_first_contact) AS resolved_first_contact
            FROM call_events
            WHERE kind = 'wrap_up_done' AND wrap_up_recorded = 1 AND customer_id != ''
              AND event_date >= toDate(${firstDay}) AND event_date <= toDate(${lastDay})
              AND arrival_time >= ${from} AND arrival_time < ${to} AND ${tenant}
            GROUP BY tenant_id, customer_id, call_id, site_id, event_time`;
}

/** Complaint points of a ComplaintSeverity column: minor 1, major 2, critical 3. */
export const COMPLAINT_POINTS = raw(
  'toUInt64(if(complaint_severity >= 2, complaint_severity - 1, 0))',
);

/**
 * The features, risk and priority of every customer of the scope not churned at `asOf`, plus
 * `extra`; unordered. The one scoring both churnScoresQuery and the stored runs use.
 */
export function scoredCustomers(scope: Scope, asOf: Date, extra: Sql): Sql {
  const from90 = new Date(asOf.getTime() - 90 * DAY_S * 1000);
  const from30 = new Date(asOf.getTime() - 30 * DAY_S * 1000);
  const tenant = tenantOnly(scope);
  const wrapUps = agentWrapUps(from90, asOf, tenant);
  return sql`SELECT
    tenant_id,
    customer_id,
    site_id,
    value,
    repeat_contacts,
    complaint,
    abandons,
    long_waits,
    low_csat,
    cancellation_intent,
    ${riskExpression()} AS risk,
    risk * value AS priority
FROM
(
    SELECT
        tenant_id,
        customer_id,
        ${CUSTOMER_BEHAVIOUR}
        max(cancelled) AS churned
    FROM
    (
        SELECT
            tenant_id,
            customer_id,
            'call' AS source,
            handling_site_id AS site_id,
            arrival_time AS at,
            toInt64(0) AS customer_value,
            toUInt64(arrival_time >= ${from30}) AS calls_30d,
            toUInt64(0) AS complaint_points,
            toUInt64(abandoned_by_caller) AS caller_abandons,
            toUInt64(wait_ms > ${LONG_WAIT_MS}) AS waited_long,
            toUInt64(0) AS csat_low,
            toUInt64(0) AS intents,
            toUInt64(0) AS cancelled
        FROM (${callsArrived(from90, asOf, tenant)})
        UNION ALL
        SELECT
            tenant_id,
            customer_id,
            'survey' AS source,
            site_id,
            event_time AS at,
            toInt64(0) AS customer_value,
            toUInt64(0) AS calls_30d,
            -- The agent's wrap-up, where it recorded one, speaks for the call instead.
            if(call_id IN (SELECT call_id FROM (${wrapUps})), toUInt64(0), ${COMPLAINT_POINTS}) AS complaint_points,
            toUInt64(0) AS caller_abandons,
            toUInt64(0) AS waited_long,
            toUInt64(csat BETWEEN 1 AND 2) AS csat_low,
            toUInt64(0) AS intents,
            toUInt64(0) AS cancelled
        FROM surveys
        WHERE customer_id != '' AND event_time >= ${from90} AND event_time < ${asOf} AND ${tenant}
        UNION ALL
        SELECT
            tenant_id,
            customer_id,
            'wrap_up' AS source,
            site_id,
            event_time AS at,
            toInt64(0) AS customer_value,
            toUInt64(0) AS calls_30d,
            ${COMPLAINT_POINTS} AS complaint_points,
            toUInt64(0) AS caller_abandons,
            toUInt64(0) AS waited_long,
            toUInt64(0) AS csat_low,
            toUInt64(0) AS intents,
            toUInt64(0) AS cancelled
        FROM (${wrapUps})
        UNION ALL
        SELECT
            tenant_id,
            customer_id,
            'crm' AS source,
            site_id,
            event_time AS at,
            toInt64(customer_value_minor) AS customer_value,
            toUInt64(0) AS calls_30d,
            toUInt64(0) AS complaint_points,
            toUInt64(0) AS caller_abandons,
            toUInt64(0) AS waited_long,
            toUInt64(0) AS csat_low,
            toUInt64(kind = 'cancellation' AND intent_only = 1 AND event_time >= ${from90}) AS intents,
            toUInt64(kind = 'cancellation' AND intent_only = 0) AS cancelled
        FROM crm_events
        WHERE customer_id != '' AND event_time < ${asOf} AND ${tenant}
    )
    GROUP BY tenant_id, customer_id
)
WHERE churned = 0 AND ${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })} AND ${extra}`;
}

/**
 * Customers who churned (a CRM cancellation with intent_only = 0) in [from, to): the label the
 * model is validated against.
 */
export function churnLabelsQuery(scope: Scope, opts: { from: Date; to: Date }): Sql {
  const from = checkDate('from', opts.from);
  const to = checkDate('to', opts.to);
  return sql`SELECT DISTINCT tenant_id, customer_id
FROM crm_events
WHERE kind = 'cancellation' AND intent_only = 0
  AND event_time >= ${from} AND event_time < ${to}
  AND ${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })}`;
}

function num(row: Record<string, unknown>, key: string): number {
  const v = Number(row[key]);
  if (!Number.isFinite(v))
    throw new Error(`churn row: ${key} is ${JSON.stringify(row[key])}, not a number`);
  return v;
}

function str(row: Record<string, unknown>, key: string): string {
  const v = row[key];
  if (typeof v !== 'string')
    throw new Error(`churn row: ${key} is ${JSON.stringify(v)}, not a string`);
  return v;
}

/** Rows of churnScoresQuery (JSONEachRow), with their reasons. */
export function parseChurnRows(raw: readonly unknown[]): ChurnScoreRow[] {
  return raw.map((r) => {
    const row = r as Record<string, unknown>;
    const features = Object.fromEntries(CHURN_FEATURES.map((n) => [n, num(row, n)])) as Record<
      ChurnReason,
      number
    >;
    return {
      tenant_id: str(row, 'tenant_id'),
      customer_id: str(row, 'customer_id'),
      site_id: str(row, 'site_id'),
      value: num(row, 'value'),
      ...features,
      risk: num(row, 'risk'),
      priority: num(row, 'priority'),
      reasons: scoreChurn(features).reasons,
    };
  });
}

/**
 * Rows of churnCallbackQuery (JSONEachRow): stored scores with the reasons of the model that
 * scored them (recomputed from the features for the hand-set model, which stores none), the
 * model's version and the run time.
 */
export function parseChurnCallbackRows(raw: readonly unknown[]): ChurnCallbackRow[] {
  const scores = parseChurnRows(raw);
  return raw.map((r, i) => {
    const row = r as Record<string, unknown>;
    const stored = row.reasons;
    const version = typeof row.model_version === 'string' ? row.model_version : '';
    const fitted = version !== '' && version !== 'hand-set-v1';
    return {
      ...scores[i]!,
      reasons: fitted && Array.isArray(stored) ? stored.map(String) : [...scores[i]!.reasons],
      model_version: version === '' ? 'hand-set-v1' : version,
      scored_at: new Date(num(row, 'scored_at_s') * 1000).toISOString(),
    };
  });
}
