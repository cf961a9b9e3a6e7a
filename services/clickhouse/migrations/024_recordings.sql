-- The index of call recordings (topic recordings, RecordingEvent): one row per event. A
-- recording's life is a `stored` row, then one day a `deleted` row (its tenant's retention ran
-- out); a call the policy records but whose recording could not be made or kept is a `failed` row.
-- Every row carries the recording's call, skill, agent and start, so filters on them find all of
-- a recording's rows; the API folds them per recording_id (central/api/src/recordings/).
-- The audio stays at the site in storage_path, sealed with the tenant key key_id (never here).
CREATE TABLE IF NOT EXISTS recordings
(
    event_id String,
    tenant_id String,
    -- The site that holds the recording: the one where the conversation happened.
    site_id String,
    event_time DateTime,
    event_ms UInt16,
    event_date Date DEFAULT toDate(event_time),
    recording_id String,
    call_id String,
    skill String,
    agent_id String,
    -- stored, deleted, failed
    kind String,
    -- The agent's answer: where the recording starts (milliseconds apart, no DateTime64 on 18.16).
    started_at DateTime,
    started_ms UInt16,
    -- stored
    duration_ms UInt64,
    bytes UInt64,
    sealed_bytes UInt64,
    content_type String,
    -- Paused spans (PCI), parallel arrays, in the recording's own time.
    paused_offsets_ms Array(UInt64),
    paused_durations_ms Array(UInt64),
    paused_by Array(String),
    key_id String,
    -- stored, deleted: where the file lies (lay) in the site's recording store.
    storage_path String,
    expires_at DateTime,
    -- deleted, failed: why.
    reason String,
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, recording_id, event_id);
