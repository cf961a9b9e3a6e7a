-- Outbound campaigns' attempts (docs/campaigns.md): one row per CampaignAttemptEnded call event
-- (kind campaign_attempt_ended in call_events), its own fields read from the event's payload,
-- which the ingester writes as the message's JSON. A campaign's progress over time (dialed,
-- connected, abandoned rate per 24 h, outcomes) is counted from here; the dialer's own row of the
-- same attempt (dial_attempts, 051) has its order, duration and caller hash. The contact is known
-- by the campaign's contact id only, never by number. ReplacingMergeTree on the attempt id: an
-- event stored twice collapses on merge.
CREATE TABLE IF NOT EXISTS campaign_attempts
(
    event_id String,
    tenant_id String,
    site_id String,
    call_id String,
    campaign_id String,
    contact_id String,
    attempt_id String,
    event_time DateTime,
    event_date Date DEFAULT toDate(event_time),
    skill String,
    agent_id String,
    -- the contact's attempts so far, this one included
    attempt UInt32,
    -- connected, no_answer, busy, agent_no_answer, abandoned, failed
    outcome String,
    -- progressive, predictive
    mode String,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, campaign_id, attempt_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_attempts_mv TO campaign_attempts AS
SELECT
    event_id,
    tenant_id,
    site_id,
    call_id,
    visitParamExtractString(payload, 'campaignId') AS campaign_id,
    visitParamExtractString(payload, 'contactId') AS contact_id,
    visitParamExtractString(payload, 'attemptId') AS attempt_id,
    event_time,
    event_date,
    skill,
    agent_id,
    toUInt32(visitParamExtractUInt(payload, 'attempt')) AS attempt,
    visitParamExtractString(payload, 'outcome') AS outcome,
    visitParamExtractString(payload, 'mode') AS mode,
    ingested_at
FROM call_events
WHERE kind = 'campaign_attempt_ended';
