-- Each customer's latest CRM holdings snapshot, keyed by customer id, so that the next best
-- offer finds the products of the customer on the line with a point look-up instead of scanning
-- crm_events (sorted by tenant first) for the customer id. argMax states are idempotent: the same
-- snapshot folded twice changes nothing. Read with argMaxMerge(latest) ... GROUP BY.
-- Rows already in crm_events before this migration are not folded in; see docs/analytics.md.
CREATE TABLE IF NOT EXISTS customer_holdings
(
    customer_id String,
    tenant_id String,
    latest AggregateFunction(argMax, Array(String), DateTime)
)
ENGINE = AggregatingMergeTree()
ORDER BY (customer_id, tenant_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_holdings_mv TO customer_holdings AS
SELECT
    customer_id,
    tenant_id,
    argMaxState(product_ids, event_time) AS latest
FROM crm_events
WHERE kind = 'holdings'
GROUP BY customer_id, tenant_id;
