// Tables that materialized views fill (the rollups, call_facts, contacts, customer_story, …)
// checked against what their views compute from the raw tables now, partition by partition, and
// rebuilt where they differ. Why: ClickHouse 18.16 writes a table, then its views, with no
// atomicity; a server killed in the middle of an INSERT can keep the raw rows and lose some
// views' rows, and the ingester's ledger (which reads the raw table) never sends them again
// (docs/clickhouse-cluster.md, "What a crash costs").
//
// A partition is rebuilt into a staging table with the table's own engine, compared with the
// table (both read FINAL, as merged), and, when repairing, swapped in with REPLACE PARTITION:
// readers see the old partition or the new one, never half of it. Run it as the admin
// (migrations) user: it creates and drops the staging tables.
import { randomBytes } from 'node:crypto';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseTarget } from '@ccfed/common';
import {
  WHOLE_TABLE,
  columnsQuery,
  createStagingSql,
  dropPartitionSql,
  dropStagingSql,
  fingerprintSql,
  parseMaterializedView,
  partsQuery,
  READONLY_QUERY,
  rebuildSql,
  replacePartitionSql,
  stagingName,
  tablesQuery,
  viewPartitionsSql,
  type DerivedTable,
  type DerivedView,
} from './derived-sql.js';

/** Bad input: an unknown table or partition, or a user that may not run DDL. */
export class DerivedTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerivedTableError';
  }
}

export interface Fingerprint {
  readonly rows: number;
  readonly hash: string;
}

/** One partition of one derived table: what it holds, and what its views compute. */
export interface PartitionCheck {
  readonly table: string;
  readonly partition: string;
  readonly stored: Fingerprint;
  readonly computed: Fingerprint;
  readonly matches: boolean;
}

export interface DerivedScope {
  /** Only this table: `call_rollup_15m` (on a cluster member, its `call_rollup_15m_local`). */
  readonly table?: string;
  /** Only this partition id (e.g. 202611; `all` for an unpartitioned table); needs `table`. */
  readonly partition?: string;
}

/** The database's derived tables: every table a materialized view writes to, with its views. */
export async function derivedTables(
  client: ClickHouseClient,
  database: string,
): Promise<DerivedTable[]> {
  const tables = await rows<{
    name: string;
    engine: string;
    engine_full: string;
    partition_key: string;
    sorting_key: string;
    create_table_query: string;
  }>(client, tablesQuery(database));
  const columns = await rows<{ table: string; name: string; type: string }>(
    client,
    columnsQuery(database),
  );
  const columnsOf = (table: string) => columns.filter((c) => c.table === table);
  const views = new Map<string, DerivedView[]>();
  for (const t of tables) {
    if (t.engine !== 'MaterializedView') continue;
    const mv = parseMaterializedView(t.create_table_query);
    if (!mv || (mv.database !== '' && mv.database !== database)) continue;
    const list = views.get(mv.table) ?? [];
    list.push({ name: t.name, select: mv.select, columns: columnsOf(t.name).map((c) => c.name) });
    views.set(mv.table, list);
  }
  return tables.flatMap((t) => {
    const fed = views.get(t.name);
    if (!fed) return [];
    if (!t.engine.endsWith('MergeTree'))
      throw new Error(`${database}.${t.name}: views write to a ${t.engine} table, not a MergeTree`);
    return [
      {
        database,
        name: t.name,
        partitionKey: t.partition_key,
        sortingKey: t.sorting_key,
        engineFull: t.engine_full,
        columns: columnsOf(t.name).map((c) => ({ name: c.name, type: c.type })),
        views: fed,
      },
    ];
  });
}

/**
 * Compares every partition of the derived tables in scope (those the table holds and those its
 * views compute) with what the views compute from the raw rows now. Returns one entry per
 * partition, differing ones with matches false. Refuses an unknown table or partition.
 */
export async function checkDerivedTables(
  target: ClickHouseTarget,
  database: string,
  scope: DerivedScope = {},
): Promise<PartitionCheck[]> {
  return withAdmin(target, database, async (client) => {
    const checks: PartitionCheck[] = [];
    for (const { table, partitions } of await inScope(client, database, scope)) {
      await withStaging(client, table, async (staging) => {
        for (const partition of partitions)
          checks.push(await checkPartition(client, table, staging, partition));
      });
    }
    return checks;
  });
}

/** What a repair did to one partition. */
export interface PartitionRepair extends PartitionCheck {
  /** replaced: rebuilt and swapped in; dropped: the views compute nothing for it; kept: matched. */
  readonly action: 'replaced' | 'dropped' | 'kept';
}

/**
 * Rebuilds every partition in scope that differs from what its views compute, each swapped in
 * whole (REPLACE PARTITION), and checks it again afterwards. A partition that matches is kept:
 * running it twice changes nothing. Run it with the ingester stopped: rows stored in the
 * partition between its rebuild and the swap would be lost from it, and the check afterwards
 * fails naming the partition.
 */
export async function repairDerivedTables(
  target: ClickHouseTarget,
  database: string,
  scope: DerivedScope = {},
): Promise<PartitionRepair[]> {
  return withAdmin(target, database, async (client) => {
    const repairs: PartitionRepair[] = [];
    for (const { table, partitions } of await inScope(client, database, scope)) {
      await withStaging(client, table, async (staging) => {
        for (const partition of partitions) {
          const check = await checkPartition(client, table, staging, partition, true);
          if (check.matches) {
            repairs.push({ ...check, action: 'kept' });
            continue;
          }
          const action = check.computed.rows === 0 ? 'dropped' : 'replaced';
          await client.command({
            query:
              action === 'dropped'
                ? dropPartitionSql(table, table.name, partition)
                : replacePartitionSql(table, staging, partition),
          });
          await client.command({ query: dropPartitionSql(table, staging, partition) });
          const after = await fingerprint(client, table, table.name, partition);
          if (!same(after, check.computed))
            throw new Error(
              `${database}.${table.name} partition ${partition} changed while it was rebuilt (${after.rows} rows, ${check.computed.rows} rebuilt): is the ingester writing? Stop it and run the repair again.`,
            );
          repairs.push({ ...check, action });
        }
      });
    }
    return repairs;
  });
}

async function checkPartition(
  client: ClickHouseClient,
  table: DerivedTable,
  staging: string,
  partition: string,
  keep = false,
): Promise<PartitionCheck> {
  for (const query of rebuildSql(table, staging, partition)) await client.command({ query });
  const computed = await fingerprint(client, table, staging, partition);
  const stored = await fingerprint(client, table, table.name, partition);
  const matches = same(stored, computed);
  // A repair swaps what it built in; anything else leaves the staging table empty again.
  if (!keep || matches)
    await client.command({ query: dropPartitionSql(table, staging, partition) });
  return { table: table.name, partition, stored, computed, matches };
}

async function inScope(
  client: ClickHouseClient,
  database: string,
  scope: DerivedScope,
): Promise<{ table: DerivedTable; partitions: string[] }[]> {
  const all = await derivedTables(client, database);
  if (scope.partition !== undefined && scope.table === undefined)
    throw new DerivedTableError('a partition needs its table');
  // On a cluster member the tables views fill are the `_local` ones: `call_rollup_15m` names
  // call_rollup_15m_local there, so an operator gives the same name on either.
  const named = (t: DerivedTable) => t.name === scope.table || t.name === `${scope.table}_local`;
  const exact = all.filter((t) => t.name === scope.table);
  const chosen = scope.table === undefined ? all : exact.length > 0 ? exact : all.filter(named);
  if (chosen.length === 0)
    throw new DerivedTableError(
      `${database}.${scope.table} is not a table that materialized views fill; those are: ${all.map((t) => t.name).join(', ')}`,
    );
  const out: { table: DerivedTable; partitions: string[] }[] = [];
  for (const table of chosen) {
    const partitions = await partitionsOf(client, table);
    if (scope.partition !== undefined && !partitions.includes(scope.partition))
      throw new DerivedTableError(
        `${database}.${table.name} has no partition ${JSON.stringify(scope.partition)}, and its views compute none; its partitions are: ${partitions.join(', ') || '(none)'}`,
      );
    out.push({
      table,
      partitions: scope.partition === undefined ? partitions : [scope.partition],
    });
  }
  return out;
}

/** The partitions the table holds and those its views compute from the raw rows, sorted. */
async function partitionsOf(client: ClickHouseClient, table: DerivedTable): Promise<string[]> {
  const ids = new Set<string>();
  for (const p of await rows<{ partition_id: string; partition: string }>(
    client,
    partsQuery(table),
  )) {
    // The check selects a partition's rows by its key as text; that is its id only for a key
    // that is one number (toYYYYMM, toYear) or none.
    const plain =
      table.partitionKey === '' ? p.partition_id === WHOLE_TABLE : p.partition === p.partition_id;
    if (!plain)
      throw new Error(
        `${table.database}.${table.name}: partition ${p.partition} has id ${p.partition_id}; only a numeric PARTITION BY (or none) can be checked`,
      );
    ids.add(p.partition_id);
  }
  for (const view of table.views)
    for (const p of await rows<{ partition_id: string }>(client, viewPartitionsSql(table, view)))
      ids.add(p.partition_id);
  return [...ids].sort();
}

async function withAdmin<T>(
  target: ClickHouseTarget,
  database: string,
  work: (client: ClickHouseClient) => Promise<T>,
): Promise<T> {
  const client = createClient({
    url: target.url,
    username: target.username,
    password: target.password,
    database,
    // A failure is thrown to the caller, which says it once (the CLI on stderr).
    log: { level: ClickHouseLogLevel.OFF },
  });
  try {
    const [setting] = await rows<{ value: string }>(client, READONLY_QUERY);
    if (setting?.value !== '0')
      throw new DerivedTableError(
        `ClickHouse user ${target.username} is read-only (readonly=${setting?.value}): log in as the admin (migrations) user, which may create the staging tables`,
      );
    return await work(client);
  } finally {
    await client.close();
  }
}

async function withStaging(
  client: ClickHouseClient,
  table: DerivedTable,
  work: (staging: string) => Promise<void>,
): Promise<void> {
  const staging = stagingName(table.name, randomBytes(4).toString('hex'));
  await client.command({ query: createStagingSql(table, staging) });
  try {
    await work(staging);
  } finally {
    await client.command({ query: dropStagingSql(table, staging) });
  }
}

async function fingerprint(
  client: ClickHouseClient,
  table: DerivedTable,
  from: string,
  partition: string,
): Promise<Fingerprint> {
  const [row] = await rows<{ rows: string; hash: string }>(
    client,
    fingerprintSql(table, from, partition),
  );
  return { rows: Number(row?.rows ?? 0), hash: row?.hash ?? '0' };
}

function same(a: Fingerprint, b: Fingerprint): boolean {
  return a.rows === b.rows && a.hash === b.hash;
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}
