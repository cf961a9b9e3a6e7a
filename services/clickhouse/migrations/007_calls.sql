-- One row per call, folded from its events by a materialized view. Every column is a max() state
-- over values the ingester sets only on the event that owns them (0 or '' on every other event),
-- so the fold is idempotent: the same event twice cannot change a call. Read it through the
-- `calls` view, which merges the states and is therefore exact before background merges.
--
-- A call overflowed from A to B has events from both sites under one call id: its origin is the
-- site its overflowed_in names, its handling site the one that answered it or lost it.
CREATE TABLE IF NOT EXISTS call_facts
(
    tenant_id String,
    call_id String,
    event_date Date,
    skill AggregateFunction(max, String),
    tier AggregateFunction(max, UInt8),
    customer_id AggregateFunction(max, String),
    caller_hash AggregateFunction(max, String),
    offered_site_id AggregateFunction(max, String),
    overflow_origin_site_id AggregateFunction(max, String),
    handling_site_id AggregateFunction(max, String),
    arrival_time AggregateFunction(max, DateTime),
    answered_at AggregateFunction(max, DateTime),
    last_event_at AggregateFunction(max, DateTime),
    agent_id AggregateFunction(max, String),
    answered AggregateFunction(max, UInt8),
    abandoned AggregateFunction(max, UInt8),
    abandoned_by_caller AggregateFunction(max, UInt8),
    wait_ms AggregateFunction(max, UInt64),
    service_level_ms AggregateFunction(max, UInt64),
    short_abandon_ms AggregateFunction(max, UInt64),
    talk_ms AggregateFunction(max, UInt64),
    hold_ms AggregateFunction(max, UInt64),
    wrap_up_ms AggregateFunction(max, UInt64),
    ended AggregateFunction(max, UInt8),
    disposition AggregateFunction(max, String),
    overflowed AggregateFunction(max, UInt8),
    overflow_target_site_id AggregateFunction(max, String),
    overflow_rejected AggregateFunction(max, UInt8),
    transferred AggregateFunction(max, UInt8)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, call_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS call_facts_mv TO call_facts AS
SELECT
    tenant_id,
    call_id,
    event_date,
    maxState(skill) AS skill,
    maxState(tier) AS tier,
    maxState(customer_id) AS customer_id,
    maxState(caller_hash) AS caller_hash,
    maxState(if(kind = 'offered', site_id, '')) AS offered_site_id,
    maxState(if(kind = 'overflowed_in', peer_site_id, '')) AS overflow_origin_site_id,
    maxState(if(kind IN ('answered', 'abandoned'), site_id, '')) AS handling_site_id,
    maxState(arrival_time) AS arrival_time,
    maxState(if(kind = 'answered', event_time, toDateTime(0))) AS answered_at,
    maxState(event_time) AS last_event_at,
    maxState(if(kind = 'answered', agent_id, '')) AS agent_id,
    maxState(toUInt8(kind = 'answered')) AS answered,
    maxState(toUInt8(kind = 'abandoned')) AS abandoned,
    maxState(toUInt8(kind = 'abandoned' AND by_caller = 1)) AS abandoned_by_caller,
    maxState(wait_ms) AS wait_ms,
    maxState(service_level_ms) AS service_level_ms,
    maxState(short_abandon_ms) AS short_abandon_ms,
    maxState(talk_ms) AS talk_ms,
    maxState(hold_ms) AS hold_ms,
    maxState(wrap_up_ms) AS wrap_up_ms,
    maxState(toUInt8(kind = 'ended')) AS ended,
    maxState(disposition) AS disposition,
    maxState(toUInt8(kind = 'overflowed_out')) AS overflowed,
    maxState(if(kind = 'overflowed_out', peer_site_id, '')) AS overflow_target_site_id,
    maxState(toUInt8(kind = 'overflow_rejected')) AS overflow_rejected,
    maxState(toUInt8(kind = 'transferred')) AS transferred
FROM call_events
GROUP BY tenant_id, call_id, event_date;

CREATE VIEW IF NOT EXISTS calls AS
SELECT
    tenant_id,
    call_id,
    maxMerge(skill) AS skill,
    maxMerge(tier) AS tier,
    maxMerge(customer_id) AS customer_id,
    maxMerge(caller_hash) AS caller_hash,
    maxMerge(overflow_origin_site_id) AS overflow_origin,
    if(overflow_origin != '', overflow_origin, maxMerge(offered_site_id)) AS origin_site_id,
    maxMerge(handling_site_id) AS handling_site_id,
    maxMerge(arrival_time) AS arrival_time,
    maxMerge(answered_at) AS answered_at,
    maxMerge(last_event_at) AS last_event_at,
    maxMerge(agent_id) AS agent_id,
    maxMerge(answered) AS answered,
    maxMerge(abandoned) AS abandoned,
    maxMerge(abandoned_by_caller) AS abandoned_by_caller,
    maxMerge(wait_ms) AS wait_ms,
    maxMerge(service_level_ms) AS service_level_ms,
    maxMerge(short_abandon_ms) AS short_abandon_ms,
    maxMerge(talk_ms) AS talk_ms,
    maxMerge(hold_ms) AS hold_ms,
    maxMerge(wrap_up_ms) AS wrap_up_ms,
    maxMerge(ended) AS ended,
    maxMerge(disposition) AS disposition,
    maxMerge(overflowed) AS overflowed,
    maxMerge(overflow_target_site_id) AS overflow_target_site_id,
    maxMerge(overflow_rejected) AS overflow_rejected,
    maxMerge(transferred) AS transferred
FROM call_facts
GROUP BY tenant_id, call_id;
