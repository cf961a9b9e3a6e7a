// The survey follow-up sample (回访抽样) as a call list: the customers of calls whose wrap-up is
// done in a period, drawn by the same severity-weighted, call-id-hashed draw that decides a
// post-call survey (satisfaction-sampling.ts: major and critical complaints always, minor ones
// more often), less the calls the customer already answered a survey about. ClickHouse gives the
// candidates; the draw is the TypeScript one, so a call is in the sample here exactly when the
// survey sampling would pick it.
import { raw, sql, type Sql } from '@ccfed/common';
import {
  checkDate,
  checkId,
  checkLimit,
  InvalidOptionError,
  MAX_CAMPAIGN_LIST,
} from './churn-options.js';
import { surveyAfterWrapUp, type SurveySamplingPolicy } from './satisfaction-sampling.js';

/** The longest period one sample may draw from. */
export const MAX_FOLLOW_UP_DAYS = 31;
const DAY_MS = 86_400_000;

/**
 * The tenant's calls whose wrap-up is done in [from, to), with a customer, and no survey answered
 * about them: per call, its customer, whether the agent recorded the wrap-up and the complaint
 * severity given (1 none .. 4 critical). Optionally only the calls `siteId` wrapped up.
 */
export function surveyFollowUpCandidatesQuery(opts: {
  tenantId: string;
  siteId?: string;
  from: Date;
  to: Date;
}): Sql {
  const tenantId = checkId('tenantId', opts.tenantId);
  const from = checkDate('from', opts.from);
  const to = checkDate('to', opts.to);
  if (to.getTime() <= from.getTime() || to.getTime() - from.getTime() > MAX_FOLLOW_UP_DAYS * DAY_MS)
    throw new InvalidOptionError('days', `the period is 1 to ${MAX_FOLLOW_UP_DAYS} days`);
  const site =
    opts.siteId === undefined ? raw('1') : sql`site_id = ${checkId('siteId', opts.siteId)}`;
  return sql`SELECT call_id,
    any(customer_id) AS customer,
    max(wrap_up_recorded) AS recorded,
    max(complaint_severity) AS severity,
    toUInt64(max(event_time)) AS at_s
FROM call_events
WHERE kind = 'wrap_up_done' AND customer_id != '' AND tenant_id = ${tenantId} AND ${site}
  AND event_date >= toDate(${from}) AND event_date <= toDate(${to})
  AND event_time >= ${from} AND event_time < ${to}
  AND call_id NOT IN (SELECT call_id FROM surveys WHERE tenant_id = ${tenantId} AND event_date >= toDate(${from}))
GROUP BY call_id`;
}

/**
 * The customers of the candidate calls the survey draw picks, each once, most severe complaint
 * first, then the newest call; at most `limit` (up to MAX_CAMPAIGN_LIST). The same rows and policy always give the same list.
 */
export function surveyFollowUpSample(
  rows: readonly unknown[],
  policy: SurveySamplingPolicy,
  limit: number,
): string[] {
  checkLimit('limit', limit, MAX_CAMPAIGN_LIST);
  const best = new Map<string, { severity: number; at: number }>();
  for (const r of rows as Record<string, unknown>[]) {
    const callId = String(r.call_id);
    const customerId = String(r.customer);
    const recorded = Number(r.recorded) === 1;
    const severity = Number(r.severity);
    const at = Number(r.at_s);
    const drawn = surveyAfterWrapUp(
      { callId, recordedByAgent: recorded, complaintSeverity: severity },
      policy,
    );
    if (!drawn) continue;
    // The severity that weighed in the draw: an unrecorded wrap-up's counts as none.
    const weight = recorded ? severity : 1;
    const seen = best.get(customerId);
    if (!seen || weight > seen.severity || (weight === seen.severity && at > seen.at))
      best.set(customerId, { severity: weight, at });
  }
  return [...best]
    .sort(([a, x], [b, y]) => y.severity - x.severity || y.at - x.at || (a < b ? -1 : 1))
    .slice(0, limit)
    .map(([customerId]) => customerId);
}
