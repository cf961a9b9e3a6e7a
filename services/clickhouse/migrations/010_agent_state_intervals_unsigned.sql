-- 009's agent_state_intervals_mv computes duration_ms as a difference of two UInt64, which
-- ClickHouse types Int64; 18.16 refuses to push Int64 into the UInt64 column, so every agent
-- event that closes an interval failed to insert. The view is recreated with the difference cast
-- back to UInt64 (the WHERE keeps it non-negative). A view holds no data: dropping and recreating
-- it loses nothing already stored, and a database that already has the fixed view is unchanged.
DROP TABLE IF EXISTS agent_state_intervals_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS agent_state_intervals_mv TO agent_state_intervals AS
SELECT
    tenant_id,
    site_id,
    agent_id,
    from_state AS state,
    -- The reason belongs to the not-ready interval that this event closes, which the event that
    -- opened it carried; the closing event names only where the agent went next.
    '' AS reason_code,
    call_id,
    from_state_since AS started_at,
    event_time AS ended_at,
    toUInt64((toUInt64(event_time) * 1000 + event_ms) - (toUInt64(from_state_since) * 1000 + from_state_since_ms)) AS duration_ms,
    event_id
FROM agent_events
WHERE toUInt32(from_state_since) > 0
  AND toUInt64(event_time) * 1000 + event_ms >= toUInt64(from_state_since) * 1000 + from_state_since_ms;
