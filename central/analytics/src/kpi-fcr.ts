// First-contact resolution: of the customers' first answered contacts about a skill, the share
// that were not followed by another contact about the same skill within 7 days (docs/kpis.md).
// Read from call_facts folded per call (as the `calls` view does), exact however often an event
// was sent, over only the days the window needs.
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
  skill: raw('skill'),
  tenant: raw('tenant_id'),
  day: raw('intDiv(toUInt32(contact_time), 86400) * 86400'),
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
 */
export function fcrQuery(scope: Scope, filter: KpiFilter): Sql {
  const dims = filter.groupBy.map(fcrDimension);
  const lookFrom = new Date(filter.from.getTime() - WINDOW_S * 1000);
  const lookTo = new Date(filter.to.getTime() + WINDOW_S * 1000);

  const inner: Sql[] = [
    sql`arrival_time >= ${lookFrom}`,
    sql`arrival_time < ${lookTo}`,
    raw("customer_key != ''"),
  ];
  if (filter.tenants) inner.push(sql`has(${filter.tenants}, tenant_id)`);
  if (filter.skills) inner.push(sql`has(${filter.skills}, skill)`);

  // A tenant client's customers are their own: nothing of another tenant needs reading.
  const tenantOnly =
    scope.role === 'tenant'
      ? sql` AND ${scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' })}`
      : raw('');

  const outer: Sql[] = [
    scopeCondition(scope, { site: 'contact_site', tenant: 'tenant_id' }),
    raw('contact_answered = 1'),
    sql`contact_time >= ${filter.from}`,
    sql`contact_time < ${filter.to}`,
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
    raw('count() AS first_contacts'),
    // Resolved: no later contact about the skill within the window, a short abandon aside (most
    // are misdials or a caller who hung up at once, not a customer coming back).
    raw(
      `sum(NOT arrayExists((t, s) -> s = 0 AND t > contact_time AND t <= contact_time + ${WINDOW_S}, times, shorts)) AS resolved`,
    ),
  ])}
FROM
(
    SELECT
        tenant_id,
        skill,
        customer_key,
        groupArray(toUInt32(arrival_time)) AS times,
        groupArray(answered) AS answereds,
        groupArray(toUInt8(abandoned_by_caller = 1 AND wait_ms < short_abandon_ms)) AS shorts,
        groupArray(handling_site_id) AS sites
    FROM
    (
        SELECT
            tenant_id,
            skill,
            if(customer_id != '', concat('c:', customer_id), if(caller_hash != '', concat('h:', caller_hash), '')) AS customer_key,
            arrival_time,
            answered,
            abandoned_by_caller,
            wait_ms,
            short_abandon_ms,
            handling_site_id
        FROM
        (
            -- The calls view folds every call ever taken before a WHERE can apply; fold only the
            -- partitions of the days these calls can have events in (a call's events fall on its
            -- arrival day or the next), then keep the calls that arrived in the window.
            SELECT
                tenant_id,
                maxMerge(skill) AS skill,
                maxMerge(customer_id) AS customer_id,
                maxMerge(caller_hash) AS caller_hash,
                maxMerge(arrival_time) AS arrival_time,
                maxMerge(answered) AS answered,
                maxMerge(abandoned_by_caller) AS abandoned_by_caller,
                maxMerge(wait_ms) AS wait_ms,
                maxMerge(short_abandon_ms) AS short_abandon_ms,
                maxMerge(handling_site_id) AS handling_site_id
            FROM call_facts
            WHERE event_date >= toDate(${lookFrom}) AND event_date <= toDate(${lookTo}) + 1${tenantOnly}
            GROUP BY tenant_id, call_id
        )
        WHERE ${join(inner, ' AND ')}
    )
    GROUP BY tenant_id, skill, customer_key
)
ARRAY JOIN times AS contact_time, answereds AS contact_answered, sites AS contact_site
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
