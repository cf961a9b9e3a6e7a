-- Raw call events, one row per event, with the kind-specific fields as typed columns so that the
-- per-call table and the rollups need no JSON parsing. The ingester writes each Kafka message at
-- most once (it skips what ClickHouse already holds; see central/ingester/src/exactly-once.ts), so
-- the materialized views fed from this table see every event exactly once. ReplacingMergeTree on
-- the event id is the second guard: duplicates that slipped through collapse on merge.
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
    tier UInt8,
    agent_id String,
    -- Every event (only offered, from older site agents): the CRM account id (an opaque id, never
    -- a phone number) and a keyed hash of the caller's number, for repeat-contact analysis.
    customer_id String,
    caller_hash String,
    -- Likewise: when the caller first reached the federation (earlier than event_time for a call
    -- overflowed in).
    arrival_time DateTime,
    -- answered, abandoned: from the original arrival to the answer or the hang-up.
    wait_ms UInt64,
    service_level_ms UInt64,
    short_abandon_ms UInt64,
    by_caller UInt8,
    -- ended
    talk_ms UInt64,
    hold_ms UInt64,
    ended_by UInt8,
    -- wrap_up_done
    wrap_up_ms UInt64,
    disposition String,
    -- overflowed_out, overflow_rejected: the target site; overflowed_in: the origin site.
    peer_site_id String,
    sip_code UInt16,
    decision_id String,
    -- The whole kind-specific message as JSON, for replay and explanation.
    payload String,
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, call_id, event_id);
