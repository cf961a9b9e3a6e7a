// A stored churn scoring run as the scoring job writes it (central/analytics/src/churn-scoring.ts):
// its customers' rows first, then its churn_score_runs row, so readers only ever see it whole.
// For tests that need a call-back list without scoring a population.
import { join, raw, sql } from '@ccfed/common';
import type { ClickHouseClient } from '@clickhouse/client';

export interface ScoredCustomer {
  readonly tenant: string;
  readonly customer: string;
  /** The retention group: the control group is held back from the call-back list. */
  readonly group: 'callback' | 'control';
  /** risk × value; the risk stored is priority / 1000 (value 1000). */
  readonly priority: number;
  readonly site?: string;
}

/** Stores one run scored at `at` (whole seconds) by `model`. */
export async function storeChurnRun(
  ch: ClickHouseClient,
  at: Date,
  model: string,
  scored: readonly ScoredCustomer[],
): Promise<void> {
  const values = scored.map(
    (s) =>
      sql`(${at}, ${s.tenant}, ${s.customer}, ${s.site ?? 'beijing'}, 1000, 1, 1, 0, 0, 0, 1, ${s.priority / 1000}, ${s.priority}, ${model}, ${raw('[]')}, ${s.group})`,
  );
  await ch.command({
    query:
      sql`INSERT INTO churn_scores (scored_at, tenant_id, customer_id, site_id, value, repeat_contacts, complaint, abandons, long_waits, low_csat, cancellation_intent, risk, priority, model_version, reasons, retention_group) VALUES ${join(values)}`
        .text,
  });
  await ch.command({
    query:
      sql`INSERT INTO churn_score_runs (scored_at, customers, seconds, finished_at) VALUES (${at}, ${scored.length}, 1, ${at})`
        .text,
  });
}
