-- Callbacks (docs/callbacks.md): each step is a call event (callback_requested, _scheduled,
-- _attempt_started, _attempt_ended, _completed, _cancelled). Their figures get columns of their
-- own, never wait_ms or service_level_ms: the per-call fold (007) takes max(wait_ms) over a call's
-- events, and a callback keeps its queued call's id. 18.16 has no ADD COLUMN IF NOT EXISTS:
-- migrate() skips this ALTER when the columns are already there.
ALTER TABLE call_events
    ADD COLUMN callback_outcome String,
    ADD COLUMN callback_counted UInt8,
    ADD COLUMN callback_wait_ms UInt64,
    ADD COLUMN callback_sl_ms UInt64;

-- Callback figures per 15 minutes, site, skill and tenant (docs/kpis.md, "Callbacks"): each event
-- books into the interval of its own time. The callbacks' service level is connected_in_sl over
-- connected + cancelled (a callback never connected missed it), its own target per skill
-- (callback_sl_ms, from topology skills[].callback.serviceLevelSeconds, in force at the time).
CREATE TABLE IF NOT EXISTS callback_rollup_15m
(
    bucket DateTime,
    tenant_id String,
    site_id String,
    skill String,
    requested UInt64,
    scheduled UInt64,
    attempts UInt64,
    attempts_counted UInt64,
    connected UInt64,
    connected_in_sl UInt64,
    connect_wait_ms UInt64,
    cancelled UInt64
)
ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, site_id, skill, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS callback_rollup_15m_mv TO callback_rollup_15m AS
SELECT
    toStartOfFifteenMinutes(event_time) AS bucket,
    tenant_id,
    site_id,
    skill,
    toUInt64(countIf(kind = 'callback_requested')) AS requested,
    toUInt64(countIf(kind = 'callback_scheduled')) AS scheduled,
    toUInt64(countIf(kind = 'callback_attempt_started')) AS attempts,
    toUInt64(countIf(kind = 'callback_attempt_ended' AND callback_counted = 1)) AS attempts_counted,
    toUInt64(countIf(kind = 'callback_completed')) AS connected,
    toUInt64(countIf(kind = 'callback_completed' AND callback_wait_ms <= callback_sl_ms)) AS connected_in_sl,
    toUInt64(sumIf(callback_wait_ms, kind = 'callback_completed')) AS connect_wait_ms,
    toUInt64(countIf(kind = 'callback_cancelled')) AS cancelled
FROM call_events
WHERE kind IN ('callback_requested', 'callback_scheduled', 'callback_attempt_started', 'callback_attempt_ended', 'callback_completed', 'callback_cancelled')
GROUP BY bucket, tenant_id, site_id, skill;
