-- Post-call surveys, one row per survey, keyed by the call it is about.
CREATE TABLE IF NOT EXISTS surveys
(
    event_id String,
    tenant_id String,
    site_id String,
    call_id String,
    customer_id String,
    agent_id String,
    skill String,
    event_time DateTime,
    event_date Date DEFAULT toDate(event_time),
    -- 1..5; 0 = skipped.
    csat UInt8,
    -- 0..10; has_nps = 0 when the question was not asked.
    nps UInt8,
    has_nps UInt8,
    resolved UInt8,
    has_resolved UInt8,
    -- 1 none, 2 minor, 3 major, 4 critical (ComplaintSeverity); 0 unspecified.
    complaint_severity UInt8,
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, call_id, event_id);
