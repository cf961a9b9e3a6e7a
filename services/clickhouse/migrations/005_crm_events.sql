-- CRM events: purchases, holdings snapshots and cancellations (the churn label).
CREATE TABLE IF NOT EXISTS crm_events
(
    event_id String,
    tenant_id String,
    site_id String,
    customer_id String,
    kind String,
    event_time DateTime,
    event_date Date DEFAULT toDate(event_time),
    customer_value_minor Int64,
    -- purchase, cancellation: the product; holdings: every product held.
    product_id String,
    product_ids Array(String),
    amount_minor Int64,
    cancel_reason String,
    intent_only UInt8,
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, customer_id, event_time, event_id);
