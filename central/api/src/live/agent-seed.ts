// Each agent's latest state from agent_events, read once when the live feed starts. The feed
// follows Kafka from the end of the topics, and an agent's state only travels with its next
// change; without this an API restart would show no agents until each one changed state.
import { scopeCondition, type Scope } from '@ccfed/analytics/scope';
import { sql, type Sql } from '@ccfed/common';
import { z } from 'zod';
import { AGENT_STATES, type SeedAgent } from './live-state.js';

/** The newest state of every agent with an event since `since`, as far as `scope` may see. */
// The result columns are named last_*: an alias equal to a column name (site_id) would make the
// scope condition in WHERE refer to the aggregate, which current ClickHouse refuses.
export function latestAgentStatesQuery(scope: Scope, since: Date): Sql {
  return sql`
    SELECT
      agent_id,
      argMax(site_id, (event_time, event_ms)) AS last_site_id,
      argMax(tenant_id, (event_time, event_ms)) AS last_tenant_id,
      argMax(to_state, (event_time, event_ms)) AS state,
      argMax(call_id, (event_time, event_ms)) AS last_call_id,
      argMax(toUInt64(event_time) * 1000 + event_ms, (event_time, event_ms)) AS since_ms
    FROM agent_events
    WHERE event_time >= ${since}
      AND ${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })}
    GROUP BY agent_id
    ORDER BY agent_id`;
}

const rawRow = z.object({
  agent_id: z.string(),
  last_site_id: z.string(),
  last_tenant_id: z.string(),
  state: z.string(),
  last_call_id: z.string(),
  since_ms: z.coerce.number(),
});

/** The rows of latestAgentStatesQuery; a state the wall does not know is left out. */
export function parseLatestAgentStates(rows: readonly unknown[]): SeedAgent[] {
  return rows.flatMap((input) => {
    const r = rawRow.parse(input);
    const state = AGENT_STATES.find((s) => s === r.state);
    if (!state) return [];
    return [
      {
        agentId: r.agent_id,
        siteId: r.last_site_id,
        tenantId: r.last_tenant_id || null,
        state,
        since: r.since_ms,
        callId: r.last_call_id || null,
      },
    ];
  });
}
