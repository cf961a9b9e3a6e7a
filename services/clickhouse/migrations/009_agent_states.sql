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

-- Seconds in each state per 15 minutes and agent, with intervals split at the bucket edges, for
-- occupancy and adherence panels.
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

CREATE MATERIALIZED VIEW IF NOT EXISTS agent_rollup_15m_mv TO agent_rollup_15m AS
SELECT
    toDateTime(b * 900) AS bucket,
    tenant_id,
    site_id,
    agent_id,
    -- The part of the interval inside bucket b (aliases are visible in the whole SELECT).
    toUInt64(sumIf(
        least(toUInt64(event_time) * 1000 + event_ms, (b + 1) * 900000)
        - greatest(toUInt64(from_state_since) * 1000 + from_state_since_ms, b * 900000) AS ms,
        from_state = 'ready'
    )) AS ready_ms,
    toUInt64(sumIf(ms, from_state = 'reserved')) AS reserved_ms,
    toUInt64(sumIf(ms, from_state = 'on_call')) AS on_call_ms,
    toUInt64(sumIf(ms, from_state = 'wrap_up')) AS wrap_up_ms,
    toUInt64(sumIf(ms, from_state = 'not_ready')) AS not_ready_ms
FROM agent_events
ARRAY JOIN
    arrayMap(
        i -> toUInt64(intDiv(toUInt64(from_state_since) * 1000 + from_state_since_ms, 900000)) + i,
        range(toUInt32(
            intDiv(toUInt64(event_time) * 1000 + event_ms - 1, 900000)
            - intDiv(toUInt64(from_state_since) * 1000 + from_state_since_ms, 900000) + 1
        ))
    ) AS b
WHERE toUInt32(from_state_since) > 0
  AND toUInt64(event_time) * 1000 + event_ms > toUInt64(from_state_since) * 1000 + from_state_since_ms
GROUP BY bucket, tenant_id, site_id, agent_id;
