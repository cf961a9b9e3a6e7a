-- Every routing decision with its inputs and the alternatives weighed, so that any call's route
-- can be explained and replayed. Alternatives are parallel arrays, one element per site weighed.
CREATE TABLE IF NOT EXISTS route_decisions
(
    event_id String,
    tenant_id String,
    decision_id String,
    call_id String,
    origin_site_id String,
    skill String,
    tier UInt8,
    waited_ms UInt64,
    origin_expected_wait_ms UInt64,
    hop_count UInt32,
    event_time DateTime,
    event_ms UInt16,
    event_date Date DEFAULT toDate(event_time),
    -- 'stay' or 'overflow'
    verdict String,
    target_site_id String,
    reason String,
    alt_site_ids Array(String),
    alt_eligible Array(UInt8),
    alt_excluded_reasons Array(String),
    alt_expected_wait_ms Array(UInt64),
    alt_handicap_ms Array(UInt64),
    alt_state_age_ms Array(UInt64),
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, origin_site_id, event_time, event_id);
