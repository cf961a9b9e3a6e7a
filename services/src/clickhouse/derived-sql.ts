// The SQL of the derived-table check and repair (derived-tables.ts), built from what the server
// itself says its tables and views are (system.tables), so that the check compares a table with
// the view the server really runs: the single server's `call_events → call_rollup_15m` and a
// cluster member's `call_events_local → call_rollup_15m_local` alike. Every statement here is
// accepted by ClickHouse 18.16 and by current ClickHouse (tests/clickhouse/derived-tables.test.ts
// runs them on both).
import { ident, quoteString, raw, sql, type Sql } from '@ccfed/common';

/** A materialized view that writes into a derived table: its SELECT and the columns it gives. */
export interface DerivedView {
  readonly name: string;
  /** The view's SELECT as the server stores it (its source table qualified with the database). */
  readonly select: string;
  readonly columns: readonly string[];
}

/** A table that materialized views fill, with what is needed to rebuild it beside itself. */
export interface DerivedTable {
  readonly database: string;
  readonly name: string;
  /** PARTITION BY expression over the table's columns; '' for an unpartitioned table. */
  readonly partitionKey: string;
  /** ORDER BY expression: the key rows merge on. */
  readonly sortingKey: string;
  /** ENGINE = … as system.tables.engine_full has it (PARTITION BY, ORDER BY, SETTINGS included). */
  readonly engineFull: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly views: readonly DerivedView[];
}

/** The partition id of an unpartitioned MergeTree table. */
export const WHOLE_TABLE = 'all';

/** What system.tables says about every table and view of the database. */
export function tablesQuery(database: string): string {
  return sql`SELECT name, engine, engine_full, partition_key, sorting_key, create_table_query FROM system.tables WHERE database = ${database} ORDER BY name`
    .text;
}

/** Every column of the database's tables and views, in table order. */
export function columnsQuery(database: string): string {
  return sql`SELECT table, name, type FROM system.columns WHERE database = ${database}`.text;
}

/** The partitions a table holds now: partition id and its value as text. */
export function partsQuery(table: DerivedTable): string {
  return sql`SELECT DISTINCT partition_id, partition FROM system.parts WHERE database = ${table.database} AND table = ${table.name} AND active`
    .text;
}

/** The current user's readonly setting: '0' may run DDL (the admin, migrations user). */
export const READONLY_QUERY = "SELECT value FROM system.settings WHERE name = 'readonly'";

/**
 * The target and SELECT of a `CREATE MATERIALIZED VIEW … TO t [(columns)] AS SELECT …` as
 * system.tables.create_table_query gives it on 18.16 (one line) or current ClickHouse (several);
 * undefined for a view without TO (an inner table, which ccfed does not use) or anything else.
 */
export function parseMaterializedView(
  createQuery: string,
): { readonly database: string; readonly table: string; readonly select: string } | undefined {
  const head = /^CREATE MATERIALIZED VIEW\s+\S+\s+TO\s+(?:`?(\w+)`?\.)?`?(\w+)`?\s*/.exec(
    createQuery,
  );
  if (!head) return undefined;
  const rest = createQuery.slice(head[0].length);
  // The column list's types hold parentheses but never "AS SELECT": the first one ends it.
  const as = /(?:^|\)\s*)AS\s+(SELECT\s[\s\S]*)$/.exec(rest);
  if (!as?.[1]) return undefined;
  return { database: head[1] ?? '', table: head[2]!, select: as[1].trim() };
}

/**
 * The engine for a staging table beside `table`: the same engine without replication. A staging
 * table is local to one server; REPLACE PARTITION then moves its parts into the replicated table,
 * which replicates them as one change.
 */
export function stagingEngine(engineFull: string): string {
  return engineFull.replace(/^Replicated(\w*MergeTree)\('[^']*',\s*'[^']*'(?:,\s*)?/, '$1(');
}

/** Staging table name for `table`: unique per run, so two runs never share one. */
export function stagingName(table: string, runId: string): string {
  return `${table}_rebuild_${runId}`;
}

export function createStagingSql(table: DerivedTable, staging: string): string {
  return sql`CREATE TABLE ${ident(table.database)}.${ident(staging)} AS ${ident(table.database)}.${ident(table.name)} ENGINE = ${raw(stagingEngine(table.engineFull))}`
    .text;
}

export function dropStagingSql(table: DerivedTable, staging: string): string {
  return sql`DROP TABLE IF EXISTS ${ident(table.database)}.${ident(staging)}`.text;
}

/** Rows of `table` that fall in the partition: its key as text is the partition id. */
function inPartition(table: DerivedTable, partitionId: string): Sql {
  return table.partitionKey === ''
    ? raw('1')
    : sql`toString(${raw(table.partitionKey)}) = ${partitionId}`;
}

/** The partitions the table's views compute from the raw rows (one query per view). */
export function viewPartitionsSql(table: DerivedTable, view: DerivedView): string {
  if (table.partitionKey === '') return sql`SELECT ${WHOLE_TABLE} AS partition_id`.text;
  return sql`SELECT DISTINCT toString(${raw(table.partitionKey)}) AS partition_id FROM (${raw(view.select)})`
    .text;
}

/** INSERTs that fill the staging table with one partition as the views compute it now. */
export function rebuildSql(table: DerivedTable, staging: string, partitionId: string): string[] {
  return table.views.map((v) => {
    const cols = raw(v.columns.map((c) => ident(c).text).join(', '));
    return sql`INSERT INTO ${ident(table.database)}.${ident(staging)} (${cols}) SELECT ${cols} FROM (${raw(v.select)}) WHERE ${inPartition(table, partitionId)}`
      .text;
  });
}

/**
 * A fingerprint of one partition as readers see it once merged (FINAL): its row count and the
 * sum of every row's hash. Aggregate states are hashed by their final value (18.16 cannot hash a
 * state). count() is taken over the hashed rows: 18.16 answers count() … FINAL with 0.
 *
 * In an AggregatingMergeTree a column that is neither in the sorting key nor an aggregate keeps
 * the value of whichever row merged first (call_facts' event_date, for a call whose events span
 * midnight): it depends on the order rows were stored in, not on what they say, so it is left
 * out, as every reader leaves it out.
 */
export function fingerprintSql(table: DerivedTable, from: string, partitionId: string): string {
  const aggregating = /^(Replicated)?AggregatingMergeTree/.test(table.engineFull);
  const keyNames = new Set(table.sortingKey.match(/\w+/g) ?? []);
  const values = table.columns.flatMap((c) =>
    c.type.startsWith('AggregateFunction(')
      ? [sql`finalizeAggregation(${ident(c.name)})`]
      : aggregating && !keyNames.has(c.name)
        ? []
        : [ident(c.name)],
  );
  const hashed = raw(values.map((v) => v.text).join(', '));
  return sql`SELECT toString(count()) AS rows, toString(sum(h)) AS hash FROM (SELECT cityHash64(${hashed}) AS h FROM ${ident(table.database)}.${ident(from)} FINAL WHERE ${inPartition(table, partitionId)})`
    .text;
}

/** Swaps the table's partition for the staging table's, in one step readers see whole. */
export function replacePartitionSql(
  table: DerivedTable,
  staging: string,
  partitionId: string,
): string {
  return `ALTER TABLE ${ident(table.database).text}.${ident(table.name).text} REPLACE PARTITION ID ${quoteString(partitionId)} FROM ${ident(table.database).text}.${ident(staging).text}`;
}

/** Drops one partition (of the table when the views compute nothing for it, or of staging). */
export function dropPartitionSql(table: DerivedTable, from: string, partitionId: string): string {
  return `ALTER TABLE ${ident(table.database).text}.${ident(from).text} DROP PARTITION ID ${quoteString(partitionId)}`;
}
