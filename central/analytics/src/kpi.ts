// Operational KPIs per site, skill, tenant and time bucket, read from the 15-minute rollups. The
// definitions (which events count, what each ratio divides by and why) are in docs/kpis.md; the
// SQL only sums rollup columns, and the ratios are computed here from the sums so that the
// definitions live in one pure place and read the same on every ClickHouse version.
import { ident, join, raw, sql, type Sql } from '@ccfed/common';
import { z } from 'zod';
import { scopeCondition, type Scope } from './scope.js';

/** What a KPI can be grouped by: 'interval' is the 15-minute bucket; hours and days are UTC. */
export const KPI_DIMENSIONS = ['site', 'skill', 'tenant', 'interval', 'hour', 'day'] as const;
export type KpiDimension = (typeof KPI_DIMENSIONS)[number];

export interface KpiFilter {
  /** Buckets that start at or after `from` and before `to` are read. */
  readonly from: Date;
  readonly to: Date;
  readonly groupBy: readonly KpiDimension[];
  readonly sites?: readonly string[];
  readonly skills?: readonly string[];
  readonly tenants?: readonly string[];
}

/** A filter that failed validation; the message names the field that was wrong. */
export class KpiFilterError extends Error {
  override readonly name = 'KpiFilterError';
}

/** The longest span one KPI query may cover. */
export const MAX_SPAN_DAYS = 400;

// The id pattern of the topology (topology/src/schema.ts ID_PATTERN): anything else cannot name a
// site, skill or tenant, so it is refused before it gets near SQL.
const ID = /^[a-z][a-z0-9-]{0,31}$/;
const ids = z
  .array(
    z
      .string()
      .regex(
        ID,
        'expected an id: lowercase letters, digits and "-", starting with a letter, at most 32 characters',
      ),
  )
  .min(1, 'expected at least one id (leave the field out to mean all)')
  .max(1000, 'expected at most 1000 ids');

const timestamp = z.iso.datetime({
  offset: true,
  error: 'expected an ISO 8601 timestamp with a time zone, e.g. 2026-01-02T03:00:00Z',
});

const filterSchema = z
  .strictObject({
    from: timestamp,
    to: timestamp,
    groupBy: z
      .array(z.enum(KPI_DIMENSIONS, { error: `expected one of ${KPI_DIMENSIONS.join(', ')}` }))
      .default([])
      .refine((g) => new Set(g).size === g.length, 'expected each dimension at most once'),
    sites: ids.optional(),
    skills: ids.optional(),
    tenants: ids.optional(),
  })
  .transform((f, ctx) => {
    const from = new Date(f.from);
    const to = new Date(f.to);
    if (!(from.getTime() < to.getTime())) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'expected to be later than from' });
      return z.NEVER;
    }
    const days = (to.getTime() - from.getTime()) / 86_400_000;
    if (days > MAX_SPAN_DAYS) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `expected at most ${MAX_SPAN_DAYS} days after from, got ${Math.ceil(days)}`,
      });
      return z.NEVER;
    }
    const filter: KpiFilter = {
      from,
      to,
      groupBy: f.groupBy,
      ...(f.sites && { sites: f.sites }),
      ...(f.skills && { skills: f.skills }),
      ...(f.tenants && { tenants: f.tenants }),
    };
    return filter;
  });

/** Parses a KPI request (JSON-shaped) into a KpiFilter, or throws KpiFilterError naming the field. */
export function validateKpiFilter(input: unknown): KpiFilter {
  const parsed = filterSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const text = parsed.error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'filter'}: ${i.message}`)
    .join('; ');
  throw new KpiFilterError(`invalid KPI filter: ${text}`);
}

/** One row of KPI figures: the dimensions grouped by, then counts, then ratios. */
export interface KpiRow {
  readonly site?: string;
  readonly skill?: string;
  readonly tenant?: string;
  /** ISO start of the 15-minute bucket, hour or UTC day. */
  readonly interval?: string;
  readonly hour?: string;
  readonly day?: string;
  /** Calls offered at the site, counting an overflowed call at each site it reached. */
  readonly offered: number;
  /** Calls that first reached the federation here: offered − overflow_in. Summed over sites, the federation-wide offered. */
  readonly first_offered: number;
  readonly overflow_in: number;
  readonly overflow_out: number;
  readonly overflow_rejected: number;
  readonly answered: number;
  readonly answered_in_sl: number;
  /** Hung up by the caller while waiting, short ones included. */
  readonly abandoned: number;
  /** Abandoned before the skill's short-abandon threshold. */
  readonly abandoned_short: number;
  /** Given up by the system (queue timeout, no agent), not by the caller. */
  readonly dropped: number;
  readonly handled: number;
  readonly transferred: number;
  /** answered_in_sl / (answered + abandoned − abandoned_short + dropped); null when that is 0. */
  readonly service_level: number | null;
  /** (abandoned − abandoned_short) / (answered + abandoned − abandoned_short + dropped). */
  readonly abandon_rate: number | null;
  /** Mean wait of answered calls in seconds, from the original arrival. */
  readonly asa_s: number | null;
  /** (talk + hold + wrap-up) / handled, in seconds. */
  readonly aht_s: number | null;
  readonly talk_s: number;
  readonly hold_s: number;
  readonly wrap_up_s: number;
  /** (on_call + wrap_up) / (ready + reserved + on_call + wrap_up) of the agents; null per skill. */
  readonly occupancy: number | null;
  /** Agent seconds logged in and available or working (ready + reserved + on_call + wrap_up). */
  readonly staffed_s: number | null;
  /** Callbacks asked for by queued callers (press 1, or the API) and scheduled (docs/callbacks.md). */
  readonly callbacks_requested: number;
  /** Callbacks whose customer was connected with the reserved agent. */
  readonly callbacks_connected: number;
  /** Connected within the skill's callback target (skills[].callback.serviceLevelSeconds). */
  readonly callbacks_connected_in_sl: number;
  /** Callbacks that ended unserved: attempts exhausted, or cancelled. */
  readonly callbacks_cancelled: number;
  /** Dial attempts started (an agent reserved for each). */
  readonly callback_attempts: number;
  /** callbacks_connected_in_sl / (callbacks_connected + callbacks_cancelled); null when 0. */
  readonly callback_service_level: number | null;
  /** Mean time from the request (or the scheduled time) to connected, in seconds. */
  readonly callback_wait_s: number | null;
}

interface DimensionSql {
  readonly column: string;
  /** The expression over a rollup row, the same for call_rollup_15m and agent_rollup_15m. */
  readonly expr: Sql;
}

// Buckets come back as unix seconds and are rounded in UTC, so the answer does not depend on the
// server's time zone.
const DIMENSIONS: Record<KpiDimension, DimensionSql> = {
  site: { column: 'site', expr: raw('site_id') },
  skill: { column: 'skill', expr: raw('skill') },
  tenant: { column: 'tenant', expr: raw('tenant_id') },
  interval: { column: 'interval', expr: raw('toUInt32(bucket)') },
  hour: { column: 'hour', expr: raw('intDiv(toUInt32(bucket), 3600) * 3600') },
  day: { column: 'day', expr: raw('intDiv(toUInt32(bucket), 86400) * 86400') },
};
const TIME_DIMENSIONS: readonly KpiDimension[] = ['interval', 'hour', 'day'];

const CALL_SUMS = [
  'offered',
  'overflow_in',
  'overflow_out',
  'overflow_rejected',
  'answered',
  'answered_in_sl',
  'answer_wait_ms',
  'abandoned',
  'abandoned_short',
  'dropped',
  'handled',
  'talk_ms',
  'hold_ms',
  'wrap_up_ms',
  'transferred',
] as const;
// agent_rollup_15m's wrap_up_ms is agent time, not the calls' wrap-up: renamed on the way in.
const AGENT_SUMS = [
  ['ready_ms', 'ready_ms'],
  ['reserved_ms', 'reserved_ms'],
  ['on_call_ms', 'on_call_ms'],
  ['wrap_up_ms', 'agent_wrap_up_ms'],
] as const;

// callback_rollup_15m (050_callbacks.sql): callbacks' own figures and service level.
const CALLBACK_SUMS = [
  ['requested + scheduled', 'callbacks_requested'],
  ['connected', 'callbacks_connected'],
  ['connected_in_sl', 'callbacks_connected_in_sl'],
  ['connect_wait_ms', 'callback_wait_ms'],
  ['cancelled', 'callbacks_cancelled'],
  ['attempts', 'callback_attempts'],
] as const;

/**
 * The rollup sums of the KPIs for the filter, one row per combination of the groupBy dimensions,
 * restricted to what the scope may see. Read the rows with parseKpiRows.
 *
 * Occupancy comes from agent_rollup_15m, which has no skill (agents serve several skills): when
 * the query groups or filters by skill, agent time is left out and occupancy is null.
 */
export function kpiQuery(scope: Scope, filter: KpiFilter): Sql {
  const dims = filter.groupBy.map((d) => DIMENSIONS[d]);
  const withAgents = !filter.groupBy.includes('skill') && filter.skills === undefined;
  const dimSelect = dims.map((d) => sql`${d.expr} AS ${ident(d.column)}`);

  const where = (withSkill: boolean): Sql => {
    const conditions: Sql[] = [
      scopeCondition(scope, { site: 'site_id', tenant: 'tenant_id' }),
      sql`bucket >= ${filter.from}`,
      sql`bucket < ${filter.to}`,
    ];
    if (filter.sites) conditions.push(sql`has(${filter.sites}, site_id)`);
    if (filter.tenants) conditions.push(sql`has(${filter.tenants}, tenant_id)`);
    if (withSkill && filter.skills) conditions.push(sql`has(${filter.skills}, skill)`);
    return join(conditions, ' AND ');
  };

  const zero = raw('toUInt64(0)');
  const noCallbacks = CALLBACK_SUMS.map(([, as]) => sql`${zero} AS ${raw(`no_${as}`)}`);
  const callPart = sql`SELECT ${join([
    ...dimSelect,
    ...CALL_SUMS.map((c) => raw(`${c}`)),
    ...AGENT_SUMS.map(([, as]) => sql`${zero} AS ${raw(as)}`),
    ...CALLBACK_SUMS.map(([, as]) => sql`${zero} AS ${raw(as)}`),
  ])} FROM call_rollup_15m WHERE ${where(true)}`;
  const agentPart = sql`SELECT ${join([
    ...dimSelect,
    // UNION ALL matches columns by position; these aliases must not shadow agent_rollup_15m's
    // own wrap_up_ms, which an alias named wrap_up_ms would (aliases apply to the whole SELECT).
    ...CALL_SUMS.map((c) => sql`${zero} AS ${raw(`no_${c}`)}`),
    ...AGENT_SUMS.map(([c, as]) => raw(c === as ? c : `${c} AS ${as}`)),
    ...noCallbacks,
  ])} FROM agent_rollup_15m WHERE ${where(false)}`;
  const callbackPart = sql`SELECT ${join([
    ...dimSelect,
    ...CALL_SUMS.map((c) => sql`${zero} AS ${raw(`no_${c}`)}`),
    ...AGENT_SUMS.map(([, as]) => sql`${zero} AS ${raw(`no_${as}`)}`),
    ...CALLBACK_SUMS.map(([expr, as]) => raw(`toUInt64(${expr}) AS ${as}`)),
  ])} FROM callback_rollup_15m WHERE ${where(true)}`;

  const sums = [
    ...CALL_SUMS,
    ...AGENT_SUMS.map(([, as]) => as),
    ...CALLBACK_SUMS.map(([, as]) => as),
  ].map((c) => raw(`sum(${c}) AS ${c}`));
  // Quoted: INTERVAL is a keyword.
  const dimColumns = dims.map((d) => ident(d.column));
  const grouped =
    dimColumns.length > 0
      ? sql` GROUP BY ${join(dimColumns)} ORDER BY ${join(dimColumns)}`
      : raw('');
  return sql`SELECT ${join([...dimColumns, ...sums, raw(`${withAgents ? 1 : 0} AS with_agents`)])}
FROM (${callPart} UNION ALL ${callbackPart}${withAgents ? sql` UNION ALL ${agentPart}` : raw('')})${grouped}`;
}

/** Turns the rows of kpiQuery (18.16 sends UInt64 as strings) into KpiRows with the ratios. */
export function parseKpiRows(raw: readonly Record<string, unknown>[]): KpiRow[] {
  return raw.map((r) => {
    const n = (column: string): number => {
      const v = r[column];
      const x = typeof v === 'string' ? Number(v) : v;
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw new TypeError(`KPI row: ${column} is ${JSON.stringify(v)}, not a number`);
      return x;
    };
    const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

    const dims: Record<string, string> = {};
    for (const d of KPI_DIMENSIONS) {
      if (!(d in r)) continue;
      dims[d] = TIME_DIMENSIONS.includes(d)
        ? new Date(n(d) * 1000).toISOString()
        : String(r[d] as string);
    }

    const answered = n('answered');
    const counted = n('abandoned') - n('abandoned_short');
    const slBase = answered + counted + n('dropped');
    const handled = n('handled');
    const work = n('talk_ms') + n('hold_ms') + n('wrap_up_ms');
    const busy = n('on_call_ms') + n('agent_wrap_up_ms');
    const staffed = n('ready_ms') + n('reserved_ms') + busy;
    const withAgents = n('with_agents') === 1;
    return {
      ...dims,
      offered: n('offered'),
      first_offered: n('offered') - n('overflow_in'),
      overflow_in: n('overflow_in'),
      overflow_out: n('overflow_out'),
      overflow_rejected: n('overflow_rejected'),
      answered,
      answered_in_sl: n('answered_in_sl'),
      abandoned: n('abandoned'),
      abandoned_short: n('abandoned_short'),
      dropped: n('dropped'),
      handled,
      transferred: n('transferred'),
      service_level: ratio(n('answered_in_sl'), slBase),
      abandon_rate: ratio(counted, slBase),
      asa_s: ratio(n('answer_wait_ms') / 1000, answered),
      aht_s: ratio(work / 1000, handled),
      talk_s: n('talk_ms') / 1000,
      hold_s: n('hold_ms') / 1000,
      wrap_up_s: n('wrap_up_ms') / 1000,
      occupancy: withAgents ? ratio(busy, staffed) : null,
      staffed_s: withAgents ? staffed / 1000 : null,
      callbacks_requested: n('callbacks_requested'),
      callbacks_connected: n('callbacks_connected'),
      callbacks_connected_in_sl: n('callbacks_connected_in_sl'),
      callbacks_cancelled: n('callbacks_cancelled'),
      callback_attempts: n('callback_attempts'),
      callback_service_level: ratio(
        n('callbacks_connected_in_sl'),
        n('callbacks_connected') + n('callbacks_cancelled'),
      ),
      callback_wait_s: ratio(n('callback_wait_ms') / 1000, n('callbacks_connected')),
    } satisfies KpiRow;
  });
}
