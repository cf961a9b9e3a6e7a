-- Raw agent-state events. Each event closes one interval: the agent was in from_state from
-- from_state_since until event_time (see agent_state_intervals).
CREATE TABLE IF NOT EXISTS agent_events
(
    event_id String,
    tenant_id String,
    site_id String,
    agent_id String,
    event_time DateTime,
    event_ms UInt16,
    event_date Date DEFAULT toDate(event_time),
    from_state String,
    to_state String,
    -- The not-ready reason of to_state, and of from_state (the interval this event closes).
    reason_code String,
    from_reason_code String,
    call_id String,
    -- 1970-01-01 00:00:00 when unknown (a login has no interval before it).
    from_state_since DateTime,
    from_state_since_ms UInt16,
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, site_id, agent_id, event_time, event_id);
