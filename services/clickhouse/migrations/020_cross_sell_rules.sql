-- Cross-sell association rules as last mined from the CRM holdings snapshots, one row per tenant
-- and rule per refresh (central/analytics/src/cross-sell.ts: refreshCrossSellRulesQuery). The
-- next best offer reads the newest refresh of the customer's tenant from here, so answering a
-- call costs a look-up, not a pass over every customer's holdings. A rule that no longer holds
-- keeps its old row, but readers take only the newest computed_at per tenant; merges keep one
-- row per rule.
CREATE TABLE IF NOT EXISTS cross_sell_rules
(
    tenant_id String,
    antecedent String,
    consequent String,
    both UInt64,
    antecedent_holders UInt64,
    consequent_holders UInt64,
    customers UInt64,
    support Float64,
    confidence Float64,
    lift Float64,
    computed_at DateTime
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (tenant_id, antecedent, consequent);
