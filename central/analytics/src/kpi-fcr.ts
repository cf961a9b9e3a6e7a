// First-contact resolution: of the customers' first answered contacts about a skill, the share
// that were not followed by another contact about the same skill within 7 days, unless the agent
// said at wrap-up whether it was resolved: then the agent's word counts (docs/kpis.md).
// Read from `contacts` (one row per answered or abandoned call), exact however often an event was
// sent.
import { ident, join, raw, sql, type Sql } from '@ccfed/common';
import { KpiFilterError, type KpiDimension, type KpiFilter } from './kpi.js';
import { scopeCondition, type Scope } from './scope.js';

/** How long after a first contact another contact about the same skill counts as a repeat. */
export const REPEAT_WINDOW_DAYS = 7;
const WINDOW_S = REPEAT_WINDOW_DAYS * 86_400;

/** FCR is booked by the first contact's arrival day: it cannot be split finer than a day. */
export const FCR_DIMENSIONS = ['site', 'skill', 'tenant', 'day'] as const;

export interface FcrRow {
  readonly site?: string;
  readonly skill?: string;
  readonly tenant?: string;
  /** ISO start of the UTC day the first contacts arrived. */
  readonly day?: string;
  /** Answered calls with no answered call from the same customer on the skill in the 7 days before. */
  readonly first_contacts: number;
  /** First contacts with no further contact (short abandons aside) within the 7 days after. */
  readonly resolved: number;
  /** resolved / first_contacts; null when there were none. */
  readonly fcr: number | null;
}

const DIMENSIONS: Record<(typeof FCR_DIMENSIONS)[number], Sql> = {
  site: raw('contact_site'),
  skill: raw('contact_skill'),
  tenant: raw('contact_tenant'),
  day: raw('intDiv(contact_time, 86400) * 86400'),
};

function fcrDimension(d: KpiDimension): (typeof FCR_DIMENSIONS)[number] {
  if ((FCR_DIMENSIONS as readonly string[]).includes(d))
    return d as (typeof FCR_DIMENSIONS)[number];
  throw new KpiFilterError(
    `invalid KPI filter: groupBy: first-contact resolution is booked by day; expected one of ${FCR_DIMENSIONS.join(', ')}, got ${d}`,
  );
}

/**
 * First contacts and how many were resolved, per combination of the groupBy dimensions (site,
 * skill, tenant, day), for first contacts that arrived in [from, to) and that the scope may see.
 * The site of a contact is the site that answered it. Repeats are looked for at every site of the
 * tenant: a customer who calls back and reaches another site was still not helped the first time.
 * Customers are known by customer_id, else by caller_hash; calls with neither are left out.
 *
 * Read from `contacts` (migration 023: one row per answered or abandoned call, keyed by who
 * called about what), only for the customers with an answered contact in the range, and counted
 * by distinct call so that a call stored twice counts once: exact before merges.
 */
export function fcrQuery(scope: Scope, filter: KpiFilter): Sql {
  const dims = filter.groupBy.map(fcrDimension);
  const lookFrom = new Date(filter.from.getTime() - WINDOW_S * 1000);
  const lookTo = new Date(filter.to.getTime() + WINDOW_S * 1000);

  // A tenant client's customers are their own: nothing of another tenant needs reading.
  const tenantBound: Sql[] =
    scope.role === 'tenant'
      ? [scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })]
      : [];
  const narrowed: Sql[] = [...tenantBound];
  if (filter.tenants) narrowed.push(sql`has(${filter.tenants}, tenant_id)`);
  if (filter.skills) narrowed.push(sql`has(${filter.skills}, skill)`);

  // Customers (per skill) with an answered contact in the range: only their histories matter.
  const candidates = sql`SELECT contact_key FROM contacts
        WHERE ${join([...narrowed, raw('answered = 1'), sql`arrival_time >= ${filter.from}`, sql`arrival_time < ${filter.to}`], ' AND ')}`;

  const outer: Sql[] = [
    scopeCondition(scope, { site: 'contact_site', tenant: 'contact_tenant' }),
    raw('contact_answered = 1'),
    sql`contact_time >= toUInt32(${filter.from})`,
    sql`contact_time < toUInt32(${filter.to})`,
    // No answered contact about the skill in the window before: this one opens an episode.
    raw(
      `NOT arrayExists((t, a) -> a = 1 AND t < contact_time AND t + ${WINDOW_S} >= contact_time, times, answereds)`,
    ),
  ];
  if (filter.sites) outer.push(sql`has(${filter.sites}, contact_site)`);

  const dimSelect = filter.groupBy.map((d, i) => sql`${DIMENSIONS[dims[i]!]} AS ${ident(d)}`);
  const dimColumns = filter.groupBy.map((d) => ident(d));
  const grouped =
    dimColumns.length > 0
      ? sql` GROUP BY ${join(dimColumns)} ORDER BY ${join(dimColumns)}`
      : raw('');

  return sql`SELECT ${join([
    ...dimSelect,
    raw('uniqExact(contact_call) AS first_contacts'),
    // Resolved: what the agent recorded at wrap-up when it did (agent_verdict 2 yes, 1 no);
    // otherwise no later contact about the skill within the window, a short abandon aside (most
    // are misdials or a caller who hung up at once, not a customer coming back).
    raw(
      `uniqExactIf(contact_call, if(agent_verdict > 0, agent_verdict = 2, NOT arrayExists((t, s) -> s = 0 AND t > contact_time AND t <= contact_time + ${WINDOW_S}, times, shorts))) AS resolved`,
    ),
  ])}
FROM
(
    SELECT
        contact_key,
        any(tenant_id) AS contact_tenant,
        any(skill) AS contact_skill,
        groupArray(toUInt32(arrival_time)) AS times,
        groupArray(answered) AS answereds,
        groupArray(short_abandon) AS shorts,
        groupArray(site_id) AS sites,
        groupArray(call_key) AS calls
    FROM contacts
    WHERE ${join([...narrowed, sql`arrival_time >= ${lookFrom}`, sql`arrival_time < ${lookTo}`, sql`contact_key IN (${candidates})`], ' AND ')}
    GROUP BY contact_key
)
ARRAY JOIN times AS contact_time, answereds AS contact_answered, sites AS contact_site, calls AS contact_call
ANY LEFT JOIN
(
    SELECT call_key AS contact_call, max(resolved) + 1 AS agent_verdict
    FROM wrap_up_verdicts
    WHERE ${join([...tenantBound, sql`arrival_time >= ${filter.from}`, sql`arrival_time < ${filter.to}`], ' AND ')}
    GROUP BY call_key
) AS verdicts USING contact_call
WHERE ${join(outer, ' AND ')}${grouped}`;
}

/** Turns the rows of fcrQuery (18.16 sends UInt64 as strings) into FcrRows. */
export function parseFcrRows(raw: readonly Record<string, unknown>[]): FcrRow[] {
  return raw.map((r) => {
    const n = (column: string): number => {
      const v = r[column];
      const x = typeof v === 'string' ? Number(v) : v;
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw new TypeError(`FCR row: ${column} is ${JSON.stringify(v)}, not a number`);
      return x;
    };
    const dims: Record<string, string> = {};
    for (const d of FCR_DIMENSIONS) {
      if (!(d in r)) continue;
      dims[d] = d === 'day' ? new Date(n(d) * 1000).toISOString() : String(r[d] as string);
    }
    const first = n('first_contacts');
    const resolved = n('resolved');
    return { ...dims, first_contacts: first, resolved, fcr: first > 0 ? resolved / first : null };
  });
}
