-- Preview campaigns' offers that ended without a call (docs/campaigns.md, "Preview"): the agent
-- skipped the contact (with its reason) or let the offer lapse, or the campaign was paused
-- (released). They are CampaignAttemptEnded events with outcome skipped or released, so that a
-- contact's whole history is one stream (they land in campaign_attempts too, attempt = the
-- attempts so far, never counted as one); this table keeps what only they have, the agent's skip
-- reason, one row per offer. ReplacingMergeTree on the offer id: an event stored twice collapses
-- on merge.
CREATE TABLE IF NOT EXISTS campaign_previews
(
    event_id String,
    tenant_id String,
    site_id String,
    call_id String,
    campaign_id String,
    contact_id String,
    offer_id String,
    event_time DateTime,
    event_date Date DEFAULT toDate(event_time),
    skill String,
    agent_id String,
    -- skipped, released
    outcome String,
    -- skipped only: not_now, needs_preparation, wrong_contact, other
    skip_reason String,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_date)
ORDER BY (tenant_id, campaign_id, offer_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_previews_mv TO campaign_previews AS
SELECT
    event_id,
    tenant_id,
    site_id,
    call_id,
    visitParamExtractString(payload, 'campaignId') AS campaign_id,
    visitParamExtractString(payload, 'contactId') AS contact_id,
    visitParamExtractString(payload, 'attemptId') AS offer_id,
    event_time,
    event_date,
    skill,
    agent_id,
    visitParamExtractString(payload, 'outcome') AS outcome,
    visitParamExtractString(payload, 'skipReason') AS skip_reason,
    ingested_at
FROM call_events
WHERE kind = 'campaign_attempt_ended'
    AND visitParamExtractString(payload, 'outcome') IN ('skipped', 'released');
