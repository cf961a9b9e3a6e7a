-- Site snapshots, one row per skill of each snapshot, with the per-tenant figures as parallel
-- arrays. Live status reads the newest sequence per site; history serves trend panels.
CREATE TABLE IF NOT EXISTS site_snapshots
(
    event_id String,
    tenant_id String,
    site_id String,
    event_time DateTime,
    event_ms UInt16,
    event_date Date DEFAULT toDate(event_time),
    sequence UInt64,
    accepting_overflow UInt8,
    skill String,
    queued UInt32,
    oldest_wait_ms UInt64,
    agents_staffed UInt32,
    agents_idle UInt32,
    expected_wait_ms UInt64,
    offered_today UInt32,
    answered_within_threshold_today UInt32,
    answered_today UInt32,
    abandoned_today UInt32,
    inbound_overflow_pending UInt32,
    average_handle_ms UInt64,
    tenant_ids Array(String),
    tenant_queued Array(UInt32),
    tenant_agents_staffed Array(UInt32),
    tenant_agents_idle Array(UInt32),
    tenant_expected_wait_ms Array(UInt64),
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (site_id, skill, event_time, event_id);
