// Faster forms of the queries that miss the target, timed next to the originals so that the
// report's before/after comes from the same data and the same run. They are proposals for the
// builders' owners, made by rewriting the builders' own SQL, not queries any caller sends:
//
// - reads of the `calls` view fold every call ever taken (the view groups all of call_facts and
//   only then filters on arrival_time). The same fold over call_facts restricted to the event
//   dates the query can need (call_facts is partitioned by month of event_date) reads a month or
//   two instead of the year;
// - live site status filters on event_time only, which the monthly partitions of site_snapshots
//   cannot use: every part of the year is opened. event_date >= the day of `since` keeps it to
//   the current month's parts.
import { raw, type Sql } from '@ccfed/common';
import { readMigrations } from '@ccfed/services';
import type { BenchQuery } from './catalogue.js';

const DAY_MS = 86_400_000;
const isoDate = (d: Date) => d.toISOString().slice(0, 10);

/** The `calls` view's fold, over the call_facts rows of event dates [from, to] only. */
export function callsBetween(from: Date, to: Date): string {
  const view = readMigrations()
    .flatMap((m) => m.statements)
    .find((s) => s.startsWith('CREATE VIEW IF NOT EXISTS calls AS'));
  const m = view && /AS\s+(SELECT[\s\S]*)FROM call_facts\s+GROUP BY tenant_id, call_id$/.exec(view);
  if (!m) throw new Error('migration 007: the calls view is not SELECT … FROM call_facts GROUP BY');
  return `(${m[1]!}FROM call_facts
    WHERE event_date >= toDate('${isoDate(from)}') AND event_date <= toDate('${isoDate(to)}')
    GROUP BY tenant_id, call_id)`;
}

/**
 * `query` with every read of the calls view limited to event dates [from, to]; undefined when
 * it does not read the view (its builder already reads call_facts by date).
 */
export function withCallsBetween(query: Sql, from: Date, to: Date): Sql | undefined {
  if (!/FROM calls\b/.test(query.text)) return undefined;
  return raw(query.text.replace(/FROM calls\b/g, `FROM ${callsBetween(from, to)}`));
}

/**
 * `query` with every `FROM <table> WHERE` of call_events and site_snapshots given the event_date
 * bounds of [from, to], or undefined when it reads neither that way.
 */
export function withEventDates(query: Sql, from: Date, to: Date): Sql | undefined {
  const pattern = /FROM (call_events|site_snapshots)\s+WHERE /g;
  if (!pattern.test(query.text)) return undefined;
  return raw(
    query.text.replace(
      pattern,
      (_all, table: string) =>
        `FROM ${table} WHERE event_date >= toDate('${isoDate(from)}') AND event_date <= toDate('${isoDate(to)}') AND `,
    ),
  );
}

/** Days before and after a period whose call_facts rows a query over the period can need. */
export function around(from: Date, to: Date, before: number, after: number): [Date, Date] {
  return [new Date(from.getTime() - before * DAY_MS), new Date(to.getTime() + after * DAY_MS)];
}

/** The proposal for one catalogue query, named after it. */
export function proposal(of: BenchQuery, fix: string, sql: Sql): BenchQuery {
  return { name: `proposed (${fix}): ${of.name}`, sql };
}
