-- Call figures per 15 minutes, site, skill and tenant, for the dashboards. Every event books into
-- the interval of its own time: offered at arrival at the site, answered and abandoned when the
-- wait ended, talk and hold when the call ended, wrap-up when it was done (docs/kpis.md). Sums
-- of counters: a SummingMergeTree read with sum() ... GROUP BY is exact before merges, and the
-- ingester feeds each event exactly once.
CREATE TABLE IF NOT EXISTS call_rollup_15m
(
    bucket DateTime,
    tenant_id String,
    site_id String,
    skill String,
    offered UInt64,
    overflow_in UInt64,
    overflow_out UInt64,
    overflow_rejected UInt64,
    answered UInt64,
    answered_in_sl UInt64,
    answer_wait_ms UInt64,
    abandoned UInt64,
    abandoned_short UInt64,
    abandoned_in_sl UInt64,
    abandon_wait_ms UInt64,
    -- Given up by the system (queue timeout, no agent, fallback), not by the caller.
    dropped UInt64,
    handled UInt64,
    talk_ms UInt64,
    hold_ms UInt64,
    wrapped UInt64,
    wrap_up_ms UInt64,
    transferred UInt64
)
ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, site_id, skill, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS call_rollup_15m_mv TO call_rollup_15m AS
SELECT
    toStartOfFifteenMinutes(event_time) AS bucket,
    tenant_id,
    site_id,
    skill,
    toUInt64(countIf(kind = 'offered')) AS offered,
    toUInt64(countIf(kind = 'overflowed_in')) AS overflow_in,
    toUInt64(countIf(kind = 'overflowed_out')) AS overflow_out,
    toUInt64(countIf(kind = 'overflow_rejected')) AS overflow_rejected,
    toUInt64(countIf(kind = 'answered')) AS answered,
    toUInt64(countIf(kind = 'answered' AND wait_ms <= service_level_ms)) AS answered_in_sl,
    toUInt64(sumIf(wait_ms, kind = 'answered')) AS answer_wait_ms,
    toUInt64(countIf(kind = 'abandoned' AND by_caller = 1)) AS abandoned,
    toUInt64(countIf(kind = 'abandoned' AND by_caller = 1 AND wait_ms < short_abandon_ms)) AS abandoned_short,
    toUInt64(countIf(kind = 'abandoned' AND by_caller = 1 AND wait_ms <= service_level_ms)) AS abandoned_in_sl,
    toUInt64(sumIf(wait_ms, kind = 'abandoned' AND by_caller = 1)) AS abandon_wait_ms,
    toUInt64(countIf(kind = 'abandoned' AND by_caller = 0)) AS dropped,
    toUInt64(countIf(kind = 'ended' AND agent_id != '')) AS handled,
    toUInt64(sumIf(talk_ms, kind = 'ended')) AS talk_ms,
    toUInt64(sumIf(hold_ms, kind = 'ended')) AS hold_ms,
    toUInt64(countIf(kind = 'wrap_up_done')) AS wrapped,
    toUInt64(sumIf(wrap_up_ms, kind = 'wrap_up_done')) AS wrap_up_ms,
    toUInt64(countIf(kind = 'transferred')) AS transferred
FROM call_events
GROUP BY bucket, tenant_id, site_id, skill;
