// What the fitted churn model (central/modeling/churn_model.py) learns from: for one tenant, every
// customer not yet churned at `asOf`, with the contact-centre behaviour of the 90 days before it,
// the latest CRM profile and holdings before it, the hand-set model's risk (the fallback, and the
// score the fitted model must beat), the customer's retention group, and, for a labelled snapshot,
// whether they churned in the `labelDays` from `asOf` on. One tenant per query: a tenant's model is
// fitted on its own rows only, with the tenant bound inside every source. Ordered by customer, so
// that the same rows always reach the fit in the same order and give the same model.
import { join, raw, sql, type Sql } from '@ccfed/common';
import {
  agentWrapUps,
  callsArrived,
  COMPLAINT_POINTS,
  CUSTOMER_BEHAVIOUR,
  LONG_WAIT_MS,
} from './churn.js';
import { CHURN_FEATURES, CHURN_MODEL } from './churn-model.js';
import { checkDate, checkId, InvalidOptionError } from './churn-options.js';
import { retentionGroupExpression } from './retention.js';

const DAY_MS = 86_400_000;
/** Seconds in an average Gregorian month: the tenure a profile states grows by one each. */
const MONTH_S = 2_629_746;

/** Churn is counted over this many days after a snapshot (the label), as the population draws it. */
export const CHURN_LABEL_DAYS = 60;

/**
 * The columns the model reads and how (central/modeling/churn_model.py): counts and amounts are
 * log1p-scaled numbers, categories one-hot, sets ('|'-joined) one column per member.
 */
export const CHURN_MODEL_FEATURES = {
  numeric: [
    ...CHURN_FEATURES,
    'overflowed',
    'fcr_misses',
    'tenure_months',
    'monthly_charges_minor',
    'total_charges_minor',
    'products_held',
    'paperless_billing',
  ],
  categorical: ['plan', 'payment_method'],
  sets: ['products', 'flags'],
} as const;

/** The columns every snapshot row carries besides the features: who, where, what they are worth. */
export const CHURN_ID_COLUMNS = ['tenant_id', 'customer_id', 'site_id', 'value'] as const;

export interface ChurnSnapshotOptions {
  readonly tenantId: string;
  readonly asOf: Date;
  /** Adds `churned`: 1 when the customer cancelled in [asOf, asOf + labelDays). */
  readonly labelDays?: number;
  /** The share of customers held back from call-backs (retention.ts). */
  readonly controlShare: number;
}

function handSetRisk(): Sql {
  const terms = CHURN_FEATURES.map((name) => {
    const { perUnit, cap } = CHURN_MODEL.weights[name];
    return sql`${perUnit} * least(${raw(name)}, ${cap})`;
  });
  return sql`1 / (1 + exp(-(${CHURN_MODEL.intercept} + ${join(terms, ' + ')})))`;
}

/**
 * One tenant's customers not churned at `asOf` with every feature the fitted model reads, the
 * hand-set risk, the retention group and, when labelDays is given, the label; unordered.
 */
export function churnSnapshotQuery(opts: ChurnSnapshotOptions): Sql {
  const asOf = checkDate('asOf', opts.asOf);
  const tenantId = checkId('tenantId', opts.tenantId);
  const tenant = sql`tenant_id = ${tenantId}`;
  const from90 = new Date(asOf.getTime() - 90 * DAY_MS);
  const from30 = new Date(asOf.getTime() - 30 * DAY_MS);
  const wrapUps = agentWrapUps(from90, asOf, tenant);
  let label = raw('');
  if (opts.labelDays !== undefined) {
    if (!Number.isInteger(opts.labelDays) || opts.labelDays < 1 || opts.labelDays > 365)
      throw new InvalidOptionError('labelDays', `${opts.labelDays} is not a whole number 1..365`);
    const until = new Date(asOf.getTime() + opts.labelDays * DAY_MS);
    label = sql`,
    toUInt8((tenant_id, customer_id) IN
        (SELECT tenant_id, customer_id FROM crm_events
         WHERE ${tenant} AND kind = 'cancellation' AND intent_only = 0
           AND event_time >= ${asOf} AND event_time < ${until})) AS churned`;
  }
  const zeros = (names: readonly string[]) =>
    raw(names.map((n) => `toUInt64(0) AS ${n}`).join(',\n            '));
  return sql`SELECT
    tenant_id, customer_id, site_id, value,
    ${raw(CHURN_FEATURES.join(', '))}, overflowed, fcr_misses,
    tenure_months, monthly_charges_minor, total_charges_minor, products_held, paperless_billing,
    plan, payment_method, products, flags,
    ${handSetRisk()} AS hand_set_risk,
    ${retentionGroupExpression(opts.controlShare)} AS retention_group${label}
FROM
(
    SELECT
        tenant_id,
        customer_id,
        ${CUSTOMER_BEHAVIOUR}
        sum(calls_overflowed) AS overflowed,
        sum(unresolved) AS fcr_misses,
        max(cancelled) AS churned_before,
        -- The latest profile: its tenure grows by the months since it was sent.
        argMaxIf(tuple(tenure, plan_name, monthly, total, payment, paperless, flag_list, at), at, kind = 'profile') AS profile,
        if(countIf(kind = 'profile') > 0,
           profile.1 + intDiv(toUInt32(${asOf}) - toUInt32(profile.8), ${MONTH_S}), 0) AS tenure_months,
        profile.2 AS plan,
        profile.3 AS monthly_charges_minor,
        profile.4 AS total_charges_minor,
        profile.5 AS payment_method,
        profile.6 AS paperless_billing,
        arrayStringConcat(profile.7, '|') AS flags,
        argMaxIf(held, at, kind = 'holdings') AS held_now,
        length(held_now) AS products_held,
        arrayStringConcat(held_now, '|') AS products
    FROM
    (
        SELECT
            tenant_id, customer_id, 'call' AS source, '' AS kind, handling_site_id AS site_id,
            arrival_time AS at, toInt64(0) AS customer_value,
            toUInt64(arrival_time >= ${from30}) AS calls_30d,
            toUInt64(0) AS complaint_points,
            toUInt64(abandoned_by_caller) AS caller_abandons,
            toUInt64(wait_ms > ${LONG_WAIT_MS}) AS waited_long,
            toUInt64(overflowed) AS calls_overflowed,
            ${zeros(['csat_low', 'unresolved', 'intents', 'cancelled'])},
            toUInt32(0) AS tenure, '' AS plan_name, toInt64(0) AS monthly, toInt64(0) AS total,
            '' AS payment, toUInt8(0) AS paperless, emptyArrayString() AS flag_list,
            emptyArrayString() AS held
        FROM (${callsArrived(from90, asOf, tenant)})
        UNION ALL
        SELECT
            tenant_id, customer_id, 'survey' AS source, '' AS kind, site_id,
            event_time AS at, toInt64(0) AS customer_value,
            toUInt64(0) AS calls_30d,
            -- The agent's wrap-up, where it recorded one, speaks for the call instead.
            if(agent_recorded, toUInt64(0), ${COMPLAINT_POINTS}) AS complaint_points,
            toUInt64(0) AS caller_abandons, toUInt64(0) AS waited_long, toUInt64(0) AS calls_overflowed,
            toUInt64(csat BETWEEN 1 AND 2) AS csat_low,
            toUInt64(NOT agent_recorded AND has_resolved = 1 AND resolved = 0) AS unresolved,
            toUInt64(0) AS intents, toUInt64(0) AS cancelled,
            toUInt32(0) AS tenure, '' AS plan_name, toInt64(0) AS monthly, toInt64(0) AS total,
            '' AS payment, toUInt8(0) AS paperless, emptyArrayString() AS flag_list,
            emptyArrayString() AS held
        FROM
        (
            SELECT *, call_id IN (SELECT call_id FROM (${wrapUps})) AS agent_recorded
            FROM surveys
            WHERE customer_id != '' AND event_time >= ${from90} AND event_time < ${asOf} AND ${tenant}
        )
        UNION ALL
        SELECT
            tenant_id, customer_id, 'wrap_up' AS source, '' AS kind, site_id,
            event_time AS at, toInt64(0) AS customer_value,
            toUInt64(0) AS calls_30d,
            ${COMPLAINT_POINTS} AS complaint_points,
            toUInt64(0) AS caller_abandons, toUInt64(0) AS waited_long, toUInt64(0) AS calls_overflowed,
            toUInt64(0) AS csat_low,
            toUInt64(resolved_first_contact = 0) AS unresolved,
            toUInt64(0) AS intents, toUInt64(0) AS cancelled,
            toUInt32(0) AS tenure, '' AS plan_name, toInt64(0) AS monthly, toInt64(0) AS total,
            '' AS payment, toUInt8(0) AS paperless, emptyArrayString() AS flag_list,
            emptyArrayString() AS held
        FROM (${wrapUps})
        UNION ALL
        SELECT
            tenant_id, customer_id, 'crm' AS source, kind, site_id,
            event_time AS at, toInt64(customer_value_minor) AS customer_value,
            ${zeros(['calls_30d', 'complaint_points', 'caller_abandons', 'waited_long', 'calls_overflowed', 'csat_low', 'unresolved'])},
            toUInt64(kind = 'cancellation' AND intent_only = 1 AND event_time >= ${from90}) AS intents,
            toUInt64(kind = 'cancellation' AND intent_only = 0) AS cancelled,
            tenure_months AS tenure, plan AS plan_name, monthly_charges_minor AS monthly,
            total_charges_minor AS total, payment_method AS payment,
            paperless_billing AS paperless, flags AS flag_list, product_ids AS held
        FROM crm_events
        WHERE customer_id != '' AND event_time < ${asOf} AND ${tenant}
    )
    GROUP BY tenant_id, customer_id
)
WHERE churned_before = 0
ORDER BY customer_id`;
}
