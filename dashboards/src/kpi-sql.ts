// The KPI formulas of docs/kpis.md as SQL over rollup sums, shared by every panel that shows
// them. central/analytics computes the same ratios in TypeScript (parseKpiRows); a dashboard has
// to compute them in the query, so they are written once here, and tests/dashboards checks them
// against parseKpiRows on the same data.
//
// Pattern: an inner query sums rollup columns into s_<column> (a name unlike the column's own, so
// that 18.16 never mistakes one sum's alias for another's argument), and the outer query
// computes each figure from those sums. A ratio is NULL, not 0 or NaN, when its denominator is 0.

/** Time-range condition on a rollup: buckets whose start lies in [from, to) (docs/kpis.md). */
export const BUCKET_IN_RANGE = 'bucket >= $__fromTime AND bucket < $__toTime';

/** `sum(c) AS s_c, ...` for the rollup columns given. */
export function sums(columns: readonly string[]): string {
  return columns.map((c) => `sum(${c}) AS s_${c}`).join(',\n        ');
}

/** The waits that ended at the site, short abandons aside: the denominator of SL and abandon rate. */
const SL_CALLS = '(s_answered + s_abandoned - s_abandoned_short + s_dropped)';

/** Columns of call_rollup_15m each KPI below needs summed. */
export const KPI_SUMS = [
  'offered',
  'overflow_in',
  'overflow_out',
  'answered',
  'answered_in_sl',
  'answer_wait_ms',
  'abandoned',
  'abandoned_short',
  'dropped',
  'handled',
  'talk_ms',
  'hold_ms',
  'wrap_up_ms',
  'transferred',
] as const;

/** answered_in_sl / (answered + abandoned − abandoned_short + dropped). */
export const SERVICE_LEVEL = `if(${SL_CALLS} > 0, s_answered_in_sl / ${SL_CALLS}, NULL)`;

/** (abandoned − abandoned_short) / (answered + abandoned − abandoned_short + dropped). */
export const ABANDON_RATE = `if(${SL_CALLS} > 0, (s_abandoned - s_abandoned_short) / ${SL_CALLS}, NULL)`;

/** answer_wait_ms / answered, in seconds. */
export const ASA_S = 'if(s_answered > 0, s_answer_wait_ms / s_answered / 1000, NULL)';

/** (talk + hold + wrap-up) / handled, in seconds. */
export const AHT_S =
  'if(s_handled > 0, (s_talk_ms + s_hold_ms + s_wrap_up_ms) / s_handled / 1000, NULL)';

/**
 * The agent_rollup_15m sums occupancy needs. Its wrap_up_ms is agent time, not the calls'
 * wrap-up, so it is summed as s_agent_wrap_up_ms.
 */
export const AGENT_SUMS = `sum(ready_ms) AS s_ready_ms,
        sum(reserved_ms) AS s_reserved_ms,
        sum(on_call_ms) AS s_on_call_ms,
        sum(wrap_up_ms) AS s_agent_wrap_up_ms,
        sum(not_ready_ms) AS s_not_ready_ms`;

/** Agent time available or working: ready + reserved + on call + wrap-up. */
export const STAFFED_MS = '(s_ready_ms + s_reserved_ms + s_on_call_ms + s_agent_wrap_up_ms)';

/** (on_call + wrap_up) / (ready + reserved + on_call + wrap_up) over agent_rollup_15m sums. */
export const OCCUPANCY = `if(${STAFFED_MS} > 0, (s_on_call_ms + s_agent_wrap_up_ms) / ${STAFFED_MS}, NULL)`;
