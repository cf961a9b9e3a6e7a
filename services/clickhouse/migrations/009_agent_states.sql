-- Agent-state intervals: one row per agent event that closes an interval
-- [from_state_since, event_time) in from_state. Logins close none.
CREATE TABLE IF NOT EXISTS agent_state_intervals
(
    tenant_id String,
    site_id String,
    agent_id String,
    state String,
    reason_code String,
    call_id String,
    started_at DateTime,
    ended_at DateTime,
    duration_ms UInt64,
    event_id String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(started_at)
ORDER BY (tenant_id, site_id, agent_id, started_at, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS agent_state_intervals_mv TO agent_state_intervals AS
SELECT
    tenant_id,
    site_id,
    agent_id,
    from_state AS state,
    from_reason_code AS reason_code,
    call_id,
    from_state_since AS started_at,
    event_time AS ended_at,
    -- UInt64 - UInt64 is Int64 in ClickHouse; the WHERE below keeps it non-negative.
    toUInt64((toUInt64(event_time) * 1000 + event_ms) - (toUInt64(from_state_since) * 1000 + from_state_since_ms)) AS duration_ms,
    event_id
FROM agent_events
WHERE toUInt32(from_state_since) > 0
  AND toUInt64(event_time) * 1000 + event_ms >= toUInt64(from_state_since) * 1000 + from_state_since_ms;

-- Milliseconds in each state per 15 minutes and agent, with intervals split at the bucket edges,
-- for occupancy and adherence panels. An interval counts here for at most its last 48 hours (an
-- agent left logged in over a weekend); agent_state_intervals keeps its whole length.
CREATE TABLE IF NOT EXISTS agent_rollup_15m
(
    bucket DateTime,
    tenant_id String,
    site_id String,
    agent_id String,
    ready_ms UInt64,
    reserved_ms UInt64,
    on_call_ms UInt64,
    wrap_up_ms UInt64,
    not_ready_ms UInt64
)
ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, site_id, agent_id, bucket);

-- ARRAY JOIN runs before WHERE, so rows with no interval (a login: from_state_since unset) must
-- get an empty bucket list here, not be filtered afterwards: 1970 to now would be two million
-- buckets a row.
CREATE MATERIALIZED VIEW IF NOT EXISTS agent_rollup_15m_mv TO agent_rollup_15m AS
SELECT
    toDateTime(b * 900) AS bucket,
    tenant_id,
    site_id,
    agent_id,
    -- The part of the interval inside bucket b.
    toUInt64(sumIf(
        least(end_ms, (b + 1) * 900000) - greatest(start_ms, b * 900000) AS ms,
        from_state = 'ready'
    )) AS ready_ms,
    toUInt64(sumIf(ms, from_state = 'reserved')) AS reserved_ms,
    toUInt64(sumIf(ms, from_state = 'on_call')) AS on_call_ms,
    toUInt64(sumIf(ms, from_state = 'wrap_up')) AS wrap_up_ms,
    toUInt64(sumIf(ms, from_state = 'not_ready')) AS not_ready_ms
FROM agent_events
ARRAY JOIN
    arrayMap(
        i -> intDiv(start_ms, 900000) + i,
        range(if(
            toUInt32(from_state_since) = 0
            OR (toUInt64(event_time) * 1000 + event_ms AS end_ms)
               <= (greatest(toUInt64(from_state_since) * 1000 + from_state_since_ms, end_ms - 172800000) AS start_ms),
            toUInt32(0),
            toUInt32(intDiv(end_ms - 1, 900000) - intDiv(start_ms, 900000) + 1)
        ))
    ) AS b
GROUP BY bucket, tenant_id, site_id, agent_id;
