import { describe, expect, it } from 'vitest';
import {
  completeChurnRunQuery,
  dropChurnRunQueries,
  scoreChurnTenantQuery,
  staleChurnPartitionsQuery,
} from './churn-scoring.js';

const scoredAt = new Date('2026-06-01T00:00:00Z');

describe('churn scoring queries', () => {
  it('refuses bad options, naming the field', () => {
    expect(() => scoreChurnTenantQuery({ scoredAt, tenantId: "t' OR 1" })).toThrow(/^tenantId: /);
    expect(() => scoreChurnTenantQuery({ scoredAt: new Date('x'), tenantId: 't' })).toThrow(
      /^scoredAt: /,
    );
    expect(() => dropChurnRunQueries({ scoredAt: new Date(Number.NaN) })).toThrow(/^scoredAt: /);
    expect(() => staleChurnPartitionsQuery({ keep: 2, before: new Date('x') })).toThrow(
      /^before: /,
    );
  });

  it("scores one tenant with the tenant bound in every source, into the run's partition", () => {
    const text = scoreChurnTenantQuery({ scoredAt, tenantId: 't-beta' }).text;
    expect(text).toMatch(/^INSERT INTO churn_scores \(scored_at, tenant_id, customer_id, site_id/);
    // (calls, surveys, the agents' wrap-ups twice: the survey's exclusion and their rows, CRM, outer)
    expect(text.match(/`tenant_id` = 't-beta'/g)).toHaveLength(6);
    // A run's partition is named by its unix seconds; the run row goes before its rows.
    expect(dropChurnRunQueries({ scoredAt }).map((q) => q.text)).toEqual([
      "ALTER TABLE churn_score_runs DROP PARTITION ID '1780272000'",
      "ALTER TABLE churn_scores DROP PARTITION ID '1780272000'",
      "ALTER TABLE churn_models DROP PARTITION ID '1780272000'",
    ]);
    expect(completeChurnRunQuery({ scoredAt, seconds: 2.5 }).text).toContain(
      "WHERE scored_at = toDateTime('2026-06-01 00:00:00', 'UTC')",
    );
  });
});
