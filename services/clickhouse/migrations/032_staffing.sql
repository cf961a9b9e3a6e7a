-- The staffing plan (central/analytics/src/staffing-plan.ts, run by plan-staffing-cli.ts on a
-- schedule): for every tenant, site, skill and 15-minute interval of the next 14 days, the
-- forecast offered calls and AHT (central/modeling/forecast_job.py) and the agents Erlang A says
-- meet the skill's service level with the patience the history shows. A run's rows are written
-- first and its staffing_runs row last: readers take the newest complete run. One partition per
-- run, dropped when the job no longer keeps it (no TTL on 18.16).
CREATE TABLE IF NOT EXISTS staffing_plan
(
    run_at DateTime,
    tenant_id String,
    site_id String,
    skill String,
    bucket DateTime,
    offered Float64,
    aht_s Float64,
    patience_s Float64,
    sl_threshold_s UInt32,
    sl_target Float64,
    required_agents UInt32,
    -- Erlang A's service level with required_agents (answered within the threshold / offered).
    expected_sl Float64
)
ENGINE = MergeTree()
PARTITION BY run_at
ORDER BY (tenant_id, site_id, skill, bucket);

-- The agents each run counted as staffing a skill: an agent of the topology counts for the skill
-- they are most proficient in (their primary skill), at their site and for their tenant.
CREATE TABLE IF NOT EXISTS staffing_agents
(
    run_at DateTime,
    tenant_id String,
    site_id String,
    agent_id String,
    skill String
)
ENGINE = MergeTree()
PARTITION BY run_at
ORDER BY (tenant_id, site_id, agent_id);

CREATE TABLE IF NOT EXISTS staffing_runs
(
    run_at DateTime,
    horizon_start DateTime,
    horizon_end DateTime,
    history_weeks UInt16,
    series UInt32,
    intervals UInt64,
    method String,
    seconds Float64,
    finished_at DateTime
)
ENGINE = MergeTree()
PARTITION BY run_at
ORDER BY run_at;
