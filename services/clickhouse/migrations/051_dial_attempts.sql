-- The outbound dialer's attempts (docs/dialer.md): one row per DialAttempted call event (kind
-- dial_attempted in call_events), its own fields read from the event's payload, which the
-- ingester writes as the message's JSON. Callbacks and campaigns count attempts, busy and
-- no-answer rates and the abandoned (customer-first, no agent within 2 s) from here. The
-- customer is known by caller_hash only, never by number. ReplacingMergeTree on the attempt id:
-- an event stored twice collapses on merge.
CREATE TABLE IF NOT EXISTS dial_attempts
(
    event_id String,
    tenant_id String,
    site_id String,
    call_id String,
    attempt_id String,
    event_time DateTime,
    event_date Date DEFAULT toDate(event_time),
    skill String,
    agent_id String,
    caller_hash String,
    -- agent_first, customer_first
    dial_order String,
    -- connected, no_answer, busy, agent_no_answer, abandoned, failed
    outcome String,
    reason String,
    -- From the attempt's start to its outcome.
    duration_ms UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, site_id, attempt_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS dial_attempts_mv TO dial_attempts AS
SELECT
    event_id,
    tenant_id,
    site_id,
    call_id,
    visitParamExtractString(payload, 'attemptId') AS attempt_id,
    event_time,
    event_date,
    skill,
    agent_id,
    caller_hash,
    visitParamExtractString(payload, 'order') AS dial_order,
    visitParamExtractString(payload, 'outcome') AS outcome,
    visitParamExtractString(payload, 'reason') AS reason,
    visitParamExtractUInt(payload, 'durationMs') AS duration_ms,
    ingested_at
FROM call_events
WHERE kind = 'dial_attempted';
