-- The fitted churn models (central/modeling, run per tenant by central/analytics/src/
-- churn-modeling.ts) and the retention study (central/analytics/src/retention.ts).
--
-- Each stored score says which model scored it (a fitted model's version, or hand-set-v1 for the
-- fallback), the reasons that model gives for the customer (the features that add at least 0.3
-- log-odds, largest first; empty when the hand-set model scored, whose reasons are recomputed
-- from the stored features) and the customer's retention group ('control': held back from the
-- call-back list). 18.16 has no ADD COLUMN IF NOT EXISTS: migrate() skips this ALTER when the
-- columns are already there.
ALTER TABLE churn_scores
    ADD COLUMN model_version String,
    ADD COLUMN reasons Array(String),
    ADD COLUMN retention_group String;

-- One row per tenant and scoring run: which model scored the tenant, how it was validated out of
-- time (fitted on the snapshot of train_as_of, measured on churn after valid_as_of), its AUC next
-- to the hand-set model's on the same customers, its calibration (10 equal-count bins of the
-- predicted risk: mean predicted, observed churn rate, customers), and its coefficients on the
-- standardised features. Partitioned like churn_scores: the job drops both with the run.
CREATE TABLE IF NOT EXISTS churn_models
(
    scored_at DateTime,
    tenant_id String,
    model_version String,
    -- 'fitted' or 'hand_set' (too little history, or the fit did not beat the hand-set model).
    kind String,
    fallback_reason String,
    library String,
    label_days UInt16,
    train_as_of DateTime,
    valid_as_of DateTime,
    train_customers UInt64,
    train_churners UInt64,
    valid_customers UInt64,
    valid_churners UInt64,
    valid_auc Float64,
    hand_set_valid_auc Float64,
    calibration_error Float64,
    calibration_predicted Array(Float64),
    calibration_observed Array(Float64),
    calibration_customers Array(UInt64),
    feature_names Array(String),
    coefficients Array(Float64),
    intercept Float64,
    fit_seconds Float64,
    control_share Float64
)
ENGINE = MergeTree()
PARTITION BY scored_at
ORDER BY tenant_id;

-- Who entered the retention study, when, and in which group: a customer enters the first time a
-- run scores them at or above the call-back risk, and counts once. The version keeps the earliest
-- entry when a customer was stored twice.
CREATE TABLE IF NOT EXISTS retention_cohort
(
    tenant_id String,
    customer_id String,
    site_id String,
    entered_at DateTime,
    retention_group String,
    risk Float64,
    model_version String,
    keep_first UInt32 DEFAULT 4294967295 - toUInt32(entered_at)
)
ENGINE = ReplacingMergeTree(keep_first)
PARTITION BY toYYYYMM(entered_at)
ORDER BY (tenant_id, customer_id);
