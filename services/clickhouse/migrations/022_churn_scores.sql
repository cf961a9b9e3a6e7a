-- Stored churn scoring (central/analytics/src/churn-scoring.ts, run by score-churn-cli.ts on a
-- schedule): every not-churned customer's features, risk, value and priority as of a run's
-- scored_at, so that the call-back list reads one run's rows instead of scoring a million
-- customers per request. A run's rows are written first and its churn_score_runs row last:
-- readers take the newest scored_at in churn_score_runs, so they only ever see a complete run.
-- One partition per run: the job drops the partitions of runs it no longer keeps (no TTL on 18.16).
CREATE TABLE IF NOT EXISTS churn_scores
(
    scored_at DateTime,
    tenant_id String,
    customer_id String,
    -- The site that last handled one of the customer's calls (else the CRM's latest site).
    site_id String,
    -- Customer value in minor currency units (CRM customer_value_minor, latest).
    value Int64,
    repeat_contacts UInt64,
    complaint UInt64,
    abandons UInt64,
    long_waits UInt64,
    low_csat UInt64,
    cancellation_intent UInt64,
    risk Float64,
    priority Float64
)
ENGINE = MergeTree()
PARTITION BY scored_at
ORDER BY (tenant_id, site_id, customer_id);

-- One row per complete run, written after all of the run's rows.
CREATE TABLE IF NOT EXISTS churn_score_runs
(
    scored_at DateTime,
    customers UInt64,
    seconds Float64,
    finished_at DateTime
)
ENGINE = MergeTree()
PARTITION BY scored_at
ORDER BY scored_at;
