// A year of a 350-seat contact centre, generated inside ClickHouse with INSERT … SELECT FROM
// numbers(): every row goes into the raw tables the ingester writes (call_events, agent_events,
// surveys, crm_events, route_decisions, site_snapshots), so the materialized views fill
// call_facts, call_rollup_15m, agent_state_intervals and agent_rollup_15m exactly as in
// production. Every draw is a hash of the row number, so the same parameters give the same data.
//
// Only functions ClickHouse 18.16 has: cityHash64 for uniform draws, log() for exponential
// waits, arrayFirstIndex over a cumulative hour-of-week profile for the diurnal shape, and
// ARRAY JOIN for the several events of one call.
import { raw, sql, type Sql } from '@ccfed/common';

export interface GenerationParams {
  readonly calls: number;
  readonly customers: number;
  /** Monday 00:00 local time (UTC+8) of the first week, as unix seconds. */
  readonly start: number;
  readonly weeks: number;
  /** Site snapshots: one per site and skill every this many seconds. */
  readonly snapshotEveryS: number;
}

export const DEFAULT_PARAMS: GenerationParams = {
  calls: 10_000_000,
  customers: 1_500_000,
  // 2025-11-03 00:00 in UTC+8 (Shanghai): 2025-11-02 16:00 UTC.
  start: Date.UTC(2025, 10, 2, 16) / 1000,
  weeks: 52,
  snapshotEveryS: 60,
};

export const SITES = ['shanghai', 'beijing', 'guangzhou', 'shenzhen', 'chengdu'] as const;
const SITE_PREFIXES = ['sh', 'bj', 'gz', 'sz', 'cd'];
/** Share of first arrivals per site, cumulative. */
const SITE_CUM = [0.3, 0.55, 0.75, 0.9];
export const TENANTS = ['acme-bank', 'zenith-telecom', 'orbit-insure'] as const;
export const SKILLS = ['sales', 'support', 'complaints', 'billing'] as const;
const SKILL_CUM = [0.3, 0.75, 0.85];
export const AGENTS_PER_SITE = 70;
export const AGENTS = AGENTS_PER_SITE * SITES.length;
const SLOTS_PER_SHIFT = 16;
const SLOT_S = 1800;
/** Products per tenant: the prefix and six products whose holdings are correlated. */
const PRODUCTS = ['current', 'savings', 'card', 'loan', 'mortgage', 'insurance'];
const TENANT_PREFIX = ['acme', 'zen', 'orbit'];

export const SERVICE_LEVEL_MS = 20_000;
export const SHORT_ABANDON_MS = 5_000;

/** A uniform draw in [0, 1) from the hash of `key` and stream `k`. */
const u = (key: string, k: number) => raw(`(cityHash64(${key}, ${k}) % 1000000 / 1000000.)`);

/**
 * The cumulative share of a week's calls by local hour of the week (Monday 00:00 first):
 * busy 8:00–20:00 on weekdays with late-morning and mid-afternoon peaks, quieter evenings and
 * nights, Saturday at half and Sunday at a third of a weekday.
 */
export function weekProfile(): number[] {
  const hourWeight = (h: number): number => {
    if (h < 7) return 0.06;
    if (h < 8) return 0.35;
    if (h >= 22) return 0.12;
    if (h >= 20) return 0.35;
    if ((h >= 10 && h < 12) || (h >= 14 && h < 16)) return 1.2;
    return 1;
  };
  const weights = Array.from({ length: 168 }, (_, i) => {
    const day = Math.floor(i / 24);
    const dayWeight = day === 5 ? 0.5 : day === 6 ? 0.35 : 1;
    return dayWeight * hourWeight(i % 24);
  });
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  return weights.map((w) => {
    sum += w / total;
    return Math.min(1, Math.round(sum * 1e9) / 1e9);
  });
}

const arr = (xs: readonly string[]) => sql`${[...xs]}`;
const pickCum = (draw: Sql, cum: readonly number[]): Sql =>
  raw(`multiIf(${cum.map((c, i) => `${draw.text} < ${c}, ${i}`).join(', ')}, ${cum.length})`);

/**
 * One row per call n in [first, first + count): everything the call's events, survey and routing
 * decision are derived from. Columns are computed in layers so that later ones can use earlier.
 */
function callsSource(p: GenerationParams, first: number, count: number): Sql {
  const profile = sql`${weekProfile()}`;
  const n = 'n';
  return sql`
SELECT *,
    -- Offsets in ms from arrival: overflow, end of the wait, answer → end of talk, → wrap-up done.
    if(ov = 1, 30000 + cityHash64(n, 9) % 30000, 0) AS ov_ms,
    ov_ms + multiIf(
        outcome = 0, toUInt64(-log(1 - ${u(n, 13)}) * 15000),
        outcome = 1, cityHash64(n, 14) % ${SHORT_ABANDON_MS},
        outcome = 2, ${SHORT_ABANDON_MS} + toUInt64(-log(1 - ${u(n, 13)}) * 50000),
        300000) AS wait,
    if(outcome = 0, 120000 + cityHash64(n, 15) % 240000, 0) AS talk,
    if(outcome = 0 AND ${u(n, 16)} < 0.15, cityHash64(n, 17) % 90000, 0) AS hold,
    if(outcome = 0, 20000 + cityHash64(n, 18) % 20000, 0) AS wrap_ms,
    toUInt8(outcome = 0 AND ${u(n, 20)} < 0.03) AS transferred,
    ${arr(SITES)}[origin + 1] AS origin_site,
    ${arr(SITES)}[handling + 1] AS handling_site,
    concat(${arr(SITE_PREFIXES)}[handling + 1], '-', substring(toString(1001 + cityHash64(n, 19) % ${AGENTS_PER_SITE}), 2)) AS agent
FROM
(
    SELECT *,
        if(ov = 1, (origin + 1 + cityHash64(n, 8) % 4) % 5, origin) AS handling,
        -- 0 answered, 1 short abandon, 2 abandon, 3 dropped by the system (queue timeout).
        multiIf(${u(n, 10)} >= 0.13, 0, ${u(n, 11)} < 0.08, 3, ${u(n, 12)} < 0.3, 1, 2) AS outcome
    FROM
    (
        SELECT
            number AS n,
            intDiv(n * ${p.weeks}, ${p.calls}) AS week,
            n * ${p.weeks} / ${p.calls} - week AS week_fraction,
            arrayFirstIndex(x -> x > week_fraction, ${profile}) - 1 AS hour_of_week,
            toDateTime(${p.start} + week * 604800 + hour_of_week * 3600 + cityHash64(n, 1) % 3600) AS arrival,
            toUInt32(floor(${p.customers} * pow(${u(n, 2)}, 1.3))) AS customer,
            if(${u(n, 3)} < 0.08, '', concat('cust-', toString(customer))) AS cust_id,
            lower(hex(cityHash64(customer, 7))) AS caller_hash,
            ${arr(TENANTS)}[multiIf(customer % 10 < 6, 1, customer % 10 < 9, 2, 3)] AS tenant,
            ${arr(SKILLS)}[${pickCum(u(n, 4), SKILL_CUM)} + 1] AS skill,
            toUInt8(if(${u(n, 5)} < 0.1, 4, 1)) AS tier,
            ${pickCum(u(n, 6), SITE_CUM)} AS origin,
            toUInt8(${u(n, 7)} < 0.03) AS ov,
            concat('call-', lower(hex(cityHash64(n, 0)))) AS call_id,
            concat('dec-', lower(hex(cityHash64(n, 21)))) AS decision
        FROM numbers(${first}, ${count})
    )
)`;
}

const CALL_EVENT_COLUMNS = raw(`event_id, tenant_id, site_id, call_id, kind, event_time, event_ms,
    event_date, skill, tier, agent_id, customer_id, caller_hash, arrival_time, wait_ms,
    service_level_ms, short_abandon_ms, by_caller, talk_ms, hold_ms, ended_by, wrap_up_ms,
    disposition, wrap_up_recorded, resolved_first_contact, complaint_severity, note, peer_site_id,
    sip_code, decision_id, payload, kafka_partition, kafka_offset, ingested_at`);

/**
 * The events of calls [first, first + count). Steps: 0 offered and 1 queued at the origin;
 * 2 overflowed_out, 3 offered and 4 overflowed_in when overflowed; 5 answered or abandoned at
 * the handling site; 6 transferred; 7 ended and 8 wrap_up_done when answered.
 */
export function callEventsInsert(p: GenerationParams, first: number, count: number): Sql {
  return sql`INSERT INTO call_events (${CALL_EVENT_COLUMNS})
SELECT
    concat(call_id, '-', toString(k)) AS event_id,
    tenant AS tenant_id,
    if(k <= 2, origin_site, handling_site) AS site_id,
    call_id,
    ['offered', 'queued', 'overflowed_out', 'offered', 'overflowed_in',
     if(outcome = 0, 'answered', 'abandoned'), 'transferred', 'ended', 'wrap_up_done'][k + 1] AS kind,
    arrival + intDiv(offset_ms, 1000) AS event_time,
    toUInt16(offset_ms % 1000) AS event_ms,
    toDate(event_time) AS event_date,
    skill,
    tier,
    if(k >= 5 AND outcome = 0, agent, '') AS agent_id,
    -- The caller on every event, as site agents send it (CallEvent's envelope).
    cust_id AS customer_id,
    caller_hash,
    arrival AS arrival_time,
    if(k = 5, wait, 0) AS wait_ms,
    toUInt64(if(k = 5, ${SERVICE_LEVEL_MS}, 0)) AS service_level_ms,
    toUInt64(if(k = 5 AND outcome != 0, ${SHORT_ABANDON_MS}, 0)) AS short_abandon_ms,
    toUInt8(k = 5 AND outcome IN (1, 2)) AS by_caller,
    if(k = 7, talk, 0) AS talk_ms,
    if(k = 7, hold, 0) AS hold_ms,
    toUInt8(if(k = 7, 1 + cityHash64(n, 22) % 2, 0)) AS ended_by,
    if(k = 8, wrap_ms, 0) AS wrap_up_ms,
    if(k = 8, ['resolved', 'follow-up', 'sale', 'info'][1 + cityHash64(n, 23) % 4], '') AS disposition,
    -- Agents submit about 70 % of their wrap-ups (the rest time out): FCR verdict and complaint
    -- severity (none mostly, some minor, a few major or critical), and a short note.
    toUInt8(k = 8 AND cityHash64(n, 24) % 10 < 7) AS wrap_up_recorded,
    toUInt8(wrap_up_recorded = 1 AND cityHash64(n, 25) % 10 < 7) AS resolved_first_contact,
    toUInt8(if(wrap_up_recorded = 1, [1, 1, 1, 1, 1, 1, 2, 2, 3, 4][1 + cityHash64(n, 26) % 10], 0)) AS complaint_severity,
    if(wrap_up_recorded = 1, 'customer asked about the monthly fee', '') AS note,
    multiIf(k = 2, handling_site, k = 4, origin_site, '') AS peer_site_id,
    toUInt16(0) AS sip_code,
    if(k IN (2, 4), decision, '') AS decision_id,
    concat('{"callId":"', call_id, '","step":', toString(k), '}') AS payload,
    toUInt32(cityHash64(call_id) % 12) AS kafka_partition,
    n * 9 + k AS kafka_offset,
    event_time + 1 AS ingested_at
FROM
(
    -- SELECT * leaves out the ARRAY JOIN alias on 18.16: k is named.
    SELECT *, k,
        [0, 0, ov_ms, ov_ms, ov_ms, wait, wait + intDiv(talk, 2),
         wait + talk + hold, wait + talk + hold + wrap_ms][k + 1] AS offset_ms
    FROM
    (
        -- 18.16 lambdas do not see columns that come through SELECT *: no arrayFilter here.
        SELECT *,
            arrayConcat([0, 1], if(ov = 1, [2, 3, 4], emptyArrayUInt8()), [5],
                if(transferred = 1, [6], emptyArrayUInt8()),
                if(outcome = 0, [7, 8], emptyArrayUInt8())) AS steps
        FROM (${callsSource(p, first, count)})
    )
    ARRAY JOIN steps AS k
)`;
}

/** A survey for about 10 % of the answered calls among [first, first + count). */
export function surveysInsert(p: GenerationParams, first: number, count: number): Sql {
  return sql`INSERT INTO surveys (event_id, tenant_id, site_id, call_id, customer_id, agent_id, skill,
    event_time, event_date, csat, nps, has_nps, resolved, has_resolved, complaint_severity,
    kafka_partition, kafka_offset, ingested_at)
SELECT
    concat(call_id, '-survey') AS event_id,
    tenant AS tenant_id,
    handling_site AS site_id,
    call_id,
    cust_id AS customer_id,
    agent AS agent_id,
    skill,
    arrival + intDiv(wait + talk + hold + wrap_ms, 1000) + 120 AS event_time,
    toDate(event_time) AS event_date,
    -- Long waits and complaints rate lower; 5 % skip the question.
    toUInt8(multiIf(${u('n', 24)} < 0.05, 0,
        wait > 60000 OR skill = 'complaints', 1 + cityHash64(n, 25) % 4,
        3 + cityHash64(n, 25) % 3)) AS csat,
    toUInt8(if(csat >= 4, 7 + cityHash64(n, 26) % 4, cityHash64(n, 26) % 9)) AS nps,
    toUInt8(${u('n', 27)} < 0.7) AS has_nps,
    toUInt8(${u('n', 28)} < 0.75) AS resolved,
    toUInt8(1) AS has_resolved,
    toUInt8(multiIf(${u('n', 29)} < 0.1, 0, skill = 'complaints', 2 + cityHash64(n, 30) % 3, 1)) AS complaint_severity,
    toUInt32(cityHash64(call_id) % 12) AS kafka_partition,
    n AS kafka_offset,
    event_time + 1 AS ingested_at
FROM (${callsSource(p, first, count)})
WHERE outcome = 0 AND ${u('n', 31)} < 0.1`;
}

/**
 * The router's decision for every overflowed call among [first, first + count), and a 'stay'
 * for about 3 % of the calls that waited more than 40 s (asked, but no better site).
 */
export function routeDecisionsInsert(p: GenerationParams, first: number, count: number): Sql {
  return sql`INSERT INTO route_decisions (event_id, tenant_id, decision_id, call_id, origin_site_id,
    skill, tier, waited_ms, origin_expected_wait_ms, hop_count, event_time, event_ms, event_date,
    verdict, target_site_id, reason, alt_site_ids, alt_eligible, alt_excluded_reasons,
    alt_expected_wait_ms, alt_handicap_ms, alt_state_age_ms, kafka_partition, kafka_offset,
    ingested_at)
SELECT
    concat(decision, '-event') AS event_id,
    tenant AS tenant_id,
    decision AS decision_id,
    call_id,
    origin_site AS origin_site_id,
    skill,
    tier,
    toUInt64(if(ov = 1, ov_ms, 40000)) AS waited_ms,
    toUInt64(60000 + cityHash64(n, 32) % 540000) AS origin_expected_wait_ms,
    toUInt32(0) AS hop_count,
    arrival + intDiv(waited_ms, 1000) AS event_time,
    toUInt16(waited_ms % 1000) AS event_ms,
    toDate(event_time) AS event_date,
    if(ov = 1, 'overflow', 'stay') AS verdict,
    if(ov = 1, handling_site, '') AS target_site_id,
    if(ov = 1, 'shorter expected wait', 'no site better by the threshold') AS reason,
    arrayFilter(s -> s != origin_site, ${arr(SITES)}) AS alt_site_ids,
    arrayMap(s -> toUInt8(cityHash64(n, s) % 5 != 0 OR s = handling_site), alt_site_ids) AS alt_eligible,
    arrayMap(e -> if(e = 1, '', 'not accepting overflow'), alt_eligible) AS alt_excluded_reasons,
    arrayMap(s -> if(s = handling_site, 5000 + cityHash64(n, s, 1) % 20000, 30000 + cityHash64(n, s, 2) % 300000), alt_site_ids) AS alt_expected_wait_ms,
    arrayMap(s -> toUInt64(15000), alt_site_ids) AS alt_handicap_ms,
    arrayMap(s -> cityHash64(n, s, 3) % 1500, alt_site_ids) AS alt_state_age_ms,
    toUInt32(cityHash64(call_id) % 12) AS kafka_partition,
    n AS kafka_offset,
    event_time + 1 AS ingested_at
FROM (${callsSource(p, first, count)})
WHERE ov = 1 OR (wait > 40000 AND ${u('n', 33)} < 0.03)`;
}

/**
 * Agents' state changes for days [firstDay, firstDay + days): each agent works five days in
 * seven, one 8-hour shift (from 8:00 or 12:00 local) of half-hour slots; in each slot ready,
 * then on a call, in wrap-up, then not ready for a short while. Each event closes one interval.
 */
export function agentEventsInsert(p: GenerationParams, firstDay: number, days: number): Sql {
  const perDay = AGENTS * SLOTS_PER_SHIFT;
  return sql`INSERT INTO agent_events (event_id, tenant_id, site_id, agent_id, event_time, event_ms,
    event_date, from_state, to_state, reason_code, from_reason_code, call_id, from_state_since,
    from_state_since_ms, kafka_partition, kafka_offset, ingested_at)
SELECT
    concat(agent_id, '-', toString(n), '-', toString(k)) AS event_id,
    tenant AS tenant_id,
    site AS site_id,
    agent_id,
    toDateTime(slot_start + [a, a + b, a + b + c, ${SLOT_S}, 0][k + 1]) AS event_time,
    toUInt16(0) AS event_ms,
    toDate(event_time) AS event_date,
    ['ready', 'on_call', 'wrap_up', 'not_ready', 'logged_out'][k + 1] AS from_state,
    if(k = 3 AND slot = ${SLOTS_PER_SHIFT - 1}, 'logged_out',
       ['on_call', 'wrap_up', 'not_ready', 'ready', 'ready'][k + 1]) AS to_state,
    if(k = 2, break_reason, '') AS reason_code,
    if(k = 3, break_reason, '') AS from_reason_code,
    if(k IN (0, 1), concat('call-agent-', toString(n)), '') AS call_id,
    -- A login closes the logged-out interval since the previous shift's end (16 h before), not
    -- one since 1970: agent_rollup_15m_mv expands every interval into its 15-minute buckets
    -- before its WHERE drops unknown starts (see the report of bench/queries.ts).
    toDateTime(if(k = 4, toUInt64(slot_start - 57600), slot_start + [0, a, a + b, a + b + c, 0][k + 1])) AS from_state_since,
    toUInt16(0) AS from_state_since_ms,
    toUInt32(cityHash64(agent_id) % 12) AS kafka_partition,
    n * 5 + k AS kafka_offset,
    event_time + 1 AS ingested_at
FROM
(
    SELECT
        number AS n,
        n % ${AGENTS} AS agent,
        intDiv(n, ${AGENTS}) % ${SLOTS_PER_SHIFT} AS slot,
        intDiv(n, ${perDay}) AS day,
        intDiv(agent, ${AGENTS_PER_SITE}) AS site_index,
        ${arr(SITES)}[site_index + 1] AS site,
        concat(${arr(SITE_PREFIXES)}[site_index + 1], '-', substring(toString(1001 + agent % ${AGENTS_PER_SITE}), 2)) AS agent_id,
        ${arr(TENANTS)}[multiIf(agent % 10 < 6, 1, agent % 10 < 9, 2, 3)] AS tenant,
        ${p.start} + day * 86400 + if(agent % 2 = 0, 8, 12) * 3600 + slot * ${SLOT_S} AS slot_start,
        200 + cityHash64(n, 1) % 200 AS a,
        1100 + cityHash64(n, 2) % 300 AS b,
        120 + cityHash64(n, 3) % 120 AS c,
        if(cityHash64(n, 4) % 4 = 0, 'break', 'after-call-work') AS break_reason
    FROM numbers(${firstDay * perDay}, ${days * perDay})
    WHERE (day + agent) % 7 < 5
)
ARRAY JOIN if(slot = 0, [4, 0, 1, 2, 3], [0, 1, 2, 3]) AS k`;
}

/**
 * CRM events of every customer: a holdings snapshot (a second, later one for 30 %), a purchase
 * for 20 %, a cancellation intent for 5 % and a cancellation for 3 %. Holdings are correlated
 * (savings with current accounts, loans with cards, ...) so that cross-sell rules have lift.
 */
export function crmEventsInsert(p: GenerationParams, first: number, count: number): Sql {
  const yearS = p.weeks * 7 * 86400;
  const c = 'c';
  return sql`INSERT INTO crm_events (event_id, tenant_id, site_id, customer_id, kind, event_time,
    event_date, customer_value_minor, product_id, product_ids, amount_minor, cancel_reason,
    intent_only, kafka_partition, kafka_offset, ingested_at)
SELECT
    concat(customer_id, '-crm-', toString(k)) AS event_id,
    tenant AS tenant_id,
    site AS site_id,
    customer_id,
    ['holdings', 'holdings', 'purchase', 'cancellation', 'cancellation'][k + 1] AS kind,
    toDateTime(${p.start} + [t0, t0 + 5000000, t0 + 2000000, t0 + 7000000, t0 + 9000000][k + 1] % ${yearS}) AS event_time,
    toDate(event_time) AS event_date,
    toInt64(value) AS customer_value_minor,
    if(k IN (2, 3, 4), products[1 + cityHash64(c, 50 + k) % length(products)], '') AS product_id,
    if(k IN (0, 1), if(k = 0, held, arrayDistinct(arrayConcat(held, [products[2]]))), emptyArrayString()) AS product_ids,
    toInt64(if(k = 2, 1000 + cityHash64(c, 55) % 200000, 0)) AS amount_minor,
    if(k IN (3, 4), ['price', 'service', 'moved', 'competitor'][1 + cityHash64(c, 56) % 4], '') AS cancel_reason,
    toUInt8(k = 3) AS intent_only,
    toUInt32(cityHash64(customer_id) % 12) AS kafka_partition,
    c * 5 + k AS kafka_offset,
    event_time + 1 AS ingested_at
FROM
(
    SELECT
        number AS c,
        concat('cust-', toString(c)) AS customer_id,
        multiIf(c % 10 < 6, 0, c % 10 < 9, 1, 2) AS tenant_index,
        ${arr(TENANTS)}[tenant_index + 1] AS tenant,
        ${arr(SITES)}[${pickCum(u(c, 41), SITE_CUM)} + 1] AS site,
        arrayMap(x -> concat(${arr(TENANT_PREFIX)}[tenant_index + 1], '-', x), ${arr(PRODUCTS)}) AS products,
        ${u(c, 42)} < 0.8 AS p0,
        ${u(c, 43)} < if(p0, 0.5, 0.2) AS p1,
        ${u(c, 44)} < if(p1, 0.6, 0.15) AS p2,
        ${u(c, 45)} < if(p2, 0.3, 0.05) AS p3,
        ${u(c, 46)} < if(p3, 0.4, 0.03) AS p4,
        ${u(c, 47)} < if(p0 AND p1, 0.25, 0.05) AS p5,
        arrayFilter((x, f) -> f = 1, products, [p0, p1, p2, p3, p4, p5]) AS held,
        1000 + cityHash64(c, 48) % 500000 AS value,
        cityHash64(c, 49) % ${yearS} AS t0,
        ${u(c, 57)} AS fate,
        arrayFilter(
            s -> s = 0 OR (s = 1 AND fate < 0.3) OR (s = 2 AND fate >= 0.3 AND fate < 0.5)
                OR (s = 3 AND fate >= 0.5 AND fate < 0.55) OR (s = 4 AND fate >= 0.55 AND fate < 0.58),
            [0, 1, 2, 3, 4]) AS steps
    FROM numbers(${first}, ${count})
)
ARRAY JOIN steps AS k`;
}

/**
 * Site snapshots for minutes [first, first + count) of the year: one row per site and skill
 * every snapshotEveryS seconds, the per-tenant figures as parallel arrays.
 */
export function siteSnapshotsInsert(p: GenerationParams, first: number, count: number): Sql {
  const per = SITES.length * SKILLS.length;
  return sql`INSERT INTO site_snapshots (event_id, tenant_id, site_id, event_time, event_ms,
    event_date, sequence, accepting_overflow, skill, queued, oldest_wait_ms, agents_staffed,
    agents_idle, expected_wait_ms, offered_today, answered_within_threshold_today, answered_today,
    abandoned_today, inbound_overflow_pending, average_handle_ms, tenant_ids, tenant_queued,
    tenant_agents_staffed, tenant_agents_idle, tenant_expected_wait_ms, kafka_partition,
    kafka_offset, ingested_at)
SELECT
    concat(site, '-', toString(tick)) AS event_id,
    '' AS tenant_id,
    site AS site_id,
    toDateTime(${p.start} + tick * ${p.snapshotEveryS}) AS event_time,
    toUInt16(0) AS event_ms,
    toDate(event_time) AS event_date,
    toUInt64(tick + 1) AS sequence,
    toUInt8(cityHash64(n, 1) % 20 != 0) AS accepting_overflow,
    skill,
    arraySum(tq) AS queued,
    toUInt64(queued * 9000 + cityHash64(n, 2) % 10000) AS oldest_wait_ms,
    arraySum(ts) AS agents_staffed,
    arraySum(ti) AS agents_idle,
    toUInt64(queued * 15000) AS expected_wait_ms,
    toUInt32(cityHash64(n, 3) % 2000) AS offered_today,
    toUInt32(offered_today * 0.7) AS answered_within_threshold_today,
    toUInt32(offered_today * 0.87) AS answered_today,
    toUInt32(offered_today * 0.12) AS abandoned_today,
    toUInt32(cityHash64(n, 4) % 3) AS inbound_overflow_pending,
    toUInt64(270000 + cityHash64(n, 5) % 60000) AS average_handle_ms,
    ${arr(TENANTS)} AS tenant_ids,
    tq,
    ts,
    ti,
    arrayMap(q -> toUInt64(q * 15000), tq) AS tenant_expected_wait_ms,
    toUInt32(cityHash64(site) % 12) AS kafka_partition,
    toUInt64(n) AS kafka_offset,
    event_time + 1 AS ingested_at
FROM
(
    SELECT
        number AS n,
        intDiv(n, ${per}) AS tick,
        ${arr(SITES)}[1 + intDiv(n % ${per}, ${SKILLS.length})] AS site,
        ${arr(SKILLS)}[1 + n % ${SKILLS.length}] AS skill,
        arrayMap(t -> toUInt32(cityHash64(n, t, 1) % 6), [1, 2, 3]) AS tq,
        arrayMap(t -> toUInt32(3 + cityHash64(n, t, 2) % 10), [1, 2, 3]) AS ts,
        arrayMap((t, s) -> toUInt32(cityHash64(n, t, 3) % (s + 1)), [1, 2, 3], ts) AS ti
    FROM numbers(${first * per}, ${count * per})
)`;
}

/** Snapshot ticks in the year. */
export function snapshotTicks(p: GenerationParams): number {
  return Math.floor((p.weeks * 7 * 86400) / p.snapshotEveryS);
}
