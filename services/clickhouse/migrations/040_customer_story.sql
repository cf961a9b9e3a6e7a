-- The agent's wrap-up (AgentControl.CompleteWrapUp → WrapUpDone): whether the agent recorded it,
-- first-contact resolution as the agent saw it, the complaint's severity (ComplaintSeverity:
-- 1 none .. 4 critical, 0 not recorded) and the agent's note (tenant-scoped like every row here;
-- never a phone number: the API and the site agent refuse one). 18.16 has no ADD COLUMN IF NOT
-- EXISTS: migrate() skips this ALTER when the columns are already there.
ALTER TABLE call_events
    ADD COLUMN wrap_up_recorded UInt8,
    ADD COLUMN resolved_first_contact UInt8,
    ADD COLUMN complaint_severity UInt8,
    ADD COLUMN note String;

-- The customer's story for the screen pop (central/api/src/desktop/customer-story.ts): one narrow
-- row per thing that happened to a known customer — a call answered or abandoned at any site, the
-- agent's wrap-up of it, a survey about it, a cancellation intent in the CRM — sorted by customer,
-- so that the pop reads one customer's rows with one primary-key range instead of folding calls.
-- A pop reads a handful of rows: yearly partitions and granules of 512 rows (not 8192) keep that
-- to a few granules of one or two parts per partition instead of a granule in each of a dozen
-- monthly partitions (at 1 M calls: 114,000 rows read with monthly partitions and 8192).
-- Readers fold per call_id with max(), so a row stored twice (the view and a backfill racing, a
-- duplicate past the ingester) changes nothing; ReplacingMergeTree collapses it on merge.
CREATE TABLE IF NOT EXISTS customer_story
(
    tenant_id String,
    customer_id String,
    -- The call's arrival (calls, wrap-ups) or the event's time (surveys, CRM).
    at DateTime,
    -- The call; a CRM intent's event id.
    call_id String,
    -- answered, abandoned, wrap_up_done, survey, intent
    kind String,
    site_id String,
    skill String,
    agent_id String,
    wait_ms UInt64,
    -- abandoned by the caller before the skill's short-abandon limit: not a real contact.
    short_abandon UInt8,
    by_caller UInt8,
    disposition String,
    -- wrap_up_done: the agent recorded it (else the wrap-up time ran out).
    recorded UInt8,
    -- wrap_up (recorded) or survey (asked): resolved on first contact.
    has_resolved UInt8,
    resolved UInt8,
    -- 1 none, 2 minor, 3 major, 4 critical; 0 not said.
    complaint_severity UInt8,
    -- survey: 1..5, 0 skipped.
    csat UInt8
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYear(at)
ORDER BY (tenant_id, customer_id, at, call_id, kind)
SETTINGS index_granularity = 512;

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_story_calls_mv TO customer_story AS
SELECT
    tenant_id,
    customer_id,
    if(arrival_time > toDateTime(0), arrival_time, event_time) AS at,
    call_id,
    kind,
    site_id,
    skill,
    agent_id,
    wait_ms,
    toUInt8(kind = 'abandoned' AND by_caller = 1 AND wait_ms < short_abandon_ms) AS short_abandon,
    by_caller,
    disposition,
    wrap_up_recorded AS recorded,
    wrap_up_recorded AS has_resolved,
    resolved_first_contact AS resolved,
    complaint_severity,
    toUInt8(0) AS csat
FROM call_events
WHERE kind IN ('answered', 'abandoned', 'wrap_up_done') AND customer_id != '';

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_story_surveys_mv TO customer_story AS
SELECT
    tenant_id,
    customer_id,
    event_time AS at,
    call_id,
    'survey' AS kind,
    site_id,
    skill,
    agent_id,
    toUInt64(0) AS wait_ms,
    toUInt8(0) AS short_abandon,
    toUInt8(0) AS by_caller,
    '' AS disposition,
    toUInt8(0) AS recorded,
    has_resolved,
    resolved,
    complaint_severity,
    csat
FROM surveys
WHERE customer_id != '';

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_story_crm_mv TO customer_story AS
SELECT
    tenant_id,
    customer_id,
    event_time AS at,
    event_id AS call_id,
    'intent' AS kind,
    site_id,
    '' AS skill,
    '' AS agent_id,
    toUInt64(0) AS wait_ms,
    toUInt8(0) AS short_abandon,
    toUInt8(0) AS by_caller,
    '' AS disposition,
    toUInt8(0) AS recorded,
    toUInt8(0) AS has_resolved,
    toUInt8(0) AS resolved,
    toUInt8(0) AS complaint_severity,
    toUInt8(0) AS csat
FROM crm_events
WHERE kind = 'cancellation' AND intent_only = 1 AND customer_id != '';

-- The first-contact verdicts agents recorded at wrap-up, by call, so that first-contact resolution
-- (central/analytics/src/kpi-fcr.ts) takes the agent's word for a call instead of inferring it
-- from whether the customer called back. call_key is cityHash64(call_id), as in contacts.
CREATE TABLE IF NOT EXISTS wrap_up_verdicts
(
    tenant_id String,
    arrival_time DateTime,
    call_key UInt64,
    resolved UInt8,
    complaint_severity UInt8
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(arrival_time)
ORDER BY (tenant_id, toDate(arrival_time), call_key);

CREATE MATERIALIZED VIEW IF NOT EXISTS wrap_up_verdicts_mv TO wrap_up_verdicts AS
SELECT
    tenant_id,
    -- Every site agent that records wrap-ups puts the arrival on every event of the call.
    arrival_time,
    cityHash64(call_id) AS call_key,
    resolved_first_contact AS resolved,
    complaint_severity
FROM call_events
WHERE kind = 'wrap_up_done' AND wrap_up_recorded = 1;

-- Backfill what was stored before this migration, once: a database migrated while empty (every
-- fresh one) copies nothing. Events whose customer is only on the offered event (site agents
-- older than CallEvent.customer_id) are not in the story.
INSERT INTO customer_story SELECT tenant_id, customer_id, if(arrival_time > toDateTime(0), arrival_time, event_time), call_id, kind, site_id, skill, agent_id, wait_ms, toUInt8(kind = 'abandoned' AND by_caller = 1 AND wait_ms < short_abandon_ms), by_caller, disposition, wrap_up_recorded, wrap_up_recorded, resolved_first_contact, complaint_severity, toUInt8(0) FROM call_events WHERE kind IN ('answered', 'abandoned', 'wrap_up_done') AND customer_id != '' AND call_id NOT IN (SELECT call_id FROM customer_story WHERE kind IN ('answered', 'abandoned', 'wrap_up_done'));
INSERT INTO customer_story SELECT tenant_id, customer_id, event_time, call_id, 'survey', site_id, skill, agent_id, toUInt64(0), toUInt8(0), toUInt8(0), '', toUInt8(0), has_resolved, resolved, complaint_severity, csat FROM surveys WHERE customer_id != '' AND call_id NOT IN (SELECT call_id FROM customer_story WHERE kind = 'survey');
INSERT INTO customer_story SELECT tenant_id, customer_id, event_time, event_id, 'intent', site_id, '', '', toUInt64(0), toUInt8(0), toUInt8(0), '', toUInt8(0), toUInt8(0), toUInt8(0), toUInt8(0), toUInt8(0) FROM crm_events WHERE kind = 'cancellation' AND intent_only = 1 AND customer_id != '' AND event_id NOT IN (SELECT call_id FROM customer_story WHERE kind = 'intent');
