-- Raw call events, one row per event. ReplacingMergeTree on the event's own id: a replayed or
-- duplicated Kafka message lands on the same key and collapses; queries that must be exact
-- before background merges read with FINAL or count distinct event ids.
CREATE TABLE IF NOT EXISTS call_events
(
    event_id String,
    tenant_id String,
    site_id String,
    call_id String,
    kind String,
    event_time DateTime,
    -- Millisecond part of event_time: DateTime64 is not available on ClickHouse 18.16.
    event_ms UInt16,
    event_date Date DEFAULT toDate(event_time),
    skill String,
    agent_id String,
    payload String,
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, site_id, event_date, event_id);
