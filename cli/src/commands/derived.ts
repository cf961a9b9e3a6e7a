import { clickhouseEnvSchema, clickhouseShardsSchema, type ClickHouseTarget } from '@ccfed/common';
import {
  checkDerivedTables,
  DerivedTableError,
  repairDerivedTables,
  type PartitionCheck,
  type PartitionRepair,
} from '@ccfed/services';
import { z } from 'zod';
import { parseCommandArgs, positionals } from '../args.js';
import { EXIT, OperationError, UsageError } from '../errors.js';
import type { Command } from './context.js';

const usage = `usage: ccfed derived check|repair [--table TABLE [--partition ID]] [--json]

The tables ClickHouse's materialized views fill (call_rollup_15m, agent_rollup_15m, call_facts,
contacts, customer_story, …) against what those views compute from the raw tables now, partition
by partition. A server killed in the middle of an INSERT can keep the raw rows and lose some
views' rows (docs/clickhouse-cluster.md, "What a crash costs"); nothing sends them again.

  check    rebuild each partition beside its table (a staging table) and compare the two;
           print the partitions that differ
  repair   rebuild the partitions that differ and swap each in whole (REPLACE PARTITION);
           partitions that match are left alone, so running it twice changes nothing.
           Stop the ingester first: rows it stores in a partition while it is rebuilt
           would be lost from it (the repair checks each partition again and fails if so)

  --table TABLE   only this table (on a cluster, TABLE_local on each shard)
  --partition ID  only this partition of it, e.g. 202611 (month) or 2026 (customer_story's
                  year); all for an unpartitioned table
  --json          one JSON object per partition looked at, instead of the text

Logs in to $CCFED_CLICKHOUSE_URL, database $CCFED_CLICKHOUSE_DATABASE (default ccfed), as
$CCFED_CLICKHOUSE_USER with $CCFED_CLICKHOUSE_PASSWORD: the admin (migrations) user, which may
create the staging tables. On a cluster, $CCFED_CLICKHOUSE_SHARDS (url,url;url,url) instead: each
shard is checked and repaired on its first replica (replication copies a repair to the others).
Each partition costs one read of the raw table per view.
Exit status: 0 every partition matches (check) or was repaired (repair), 1 a partition differs
(check) or ClickHouse failed, 2 bad input (unknown table or partition, read-only user).`;

const envSchema = z.object({
  ...clickhouseEnvSchema,
  // Not needed when the shards are given.
  CCFED_CLICKHOUSE_URL: clickhouseEnvSchema.CCFED_CLICKHOUSE_URL.optional(),
  CCFED_CLICKHOUSE_SHARDS: clickhouseShardsSchema,
});

/** The server each shard is checked on: its first replica, or the single server. */
function servers(env: NodeJS.ProcessEnv): {
  database: string;
  shards: { label: string; target: ClickHouseTarget }[];
} {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success)
    throw new UsageError(
      `ClickHouse login: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const c = parsed.data;
  const login = { username: c.CCFED_CLICKHOUSE_USER, password: c.CCFED_CLICKHOUSE_PASSWORD };
  if (c.CCFED_CLICKHOUSE_SHARDS)
    return {
      database: c.CCFED_CLICKHOUSE_DATABASE,
      shards: c.CCFED_CLICKHOUSE_SHARDS.map((replicas, i) => ({
        label: `shard ${i + 1} (${replicas[0]})`,
        target: { url: replicas[0]!, ...login },
      })),
    };
  if (!c.CCFED_CLICKHOUSE_URL)
    throw new UsageError('ClickHouse: set CCFED_CLICKHOUSE_URL (or CCFED_CLICKHOUSE_SHARDS)');
  return {
    database: c.CCFED_CLICKHOUSE_DATABASE,
    shards: [{ label: c.CCFED_CLICKHOUSE_URL, target: { url: c.CCFED_CLICKHOUSE_URL, ...login } }],
  };
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function line(where: string, p: PartitionCheck | PartitionRepair): string {
  const action = 'action' in p ? `${p.action}: ` : '';
  const how =
    p.stored.rows === p.computed.rows
      ? `${count(p.stored.rows, 'row')} stored and computed by its views, values differ`
      : `${count(p.stored.rows, 'row')} stored, ${p.computed.rows} computed by its views`;
  return `${where}  ${p.table}  partition ${p.partition}  ${action}${how}`;
}

export const derivedCommand: Command = {
  name: 'derived',
  summary: 'check or repair the tables ClickHouse views fill (rollups, call_facts, contacts)',
  usage,
  async run(argv, { env, io }) {
    const { values, positionals: rest } = parseCommandArgs(
      argv,
      { table: { type: 'string' }, partition: { type: 'string' }, json: { type: 'boolean' } },
      usage,
    );
    if (values.help) {
      io.out(usage);
      return EXIT.ok;
    }
    const [action] = positionals(rest, ['check|repair'], usage);
    if (action !== 'check' && action !== 'repair')
      throw new UsageError(`expected check or repair, not ${JSON.stringify(action)}`, usage);
    if (values.partition !== undefined && values.table === undefined)
      throw new UsageError('--partition needs --table', usage);
    const { database, shards } = servers(env);
    const scope = { table: values.table, partition: values.partition };

    let differ = 0;
    let looked = 0;
    for (const shard of shards) {
      io.err(`${action === 'check' ? 'checking' : 'repairing'} ${database} on ${shard.label}…`);
      let results: (PartitionCheck | PartitionRepair)[];
      try {
        results = await (action === 'check' ? checkDerivedTables : repairDerivedTables)(
          shard.target,
          database,
          scope,
        );
      } catch (err) {
        if (err instanceof DerivedTableError) throw new UsageError(err.message);
        throw new OperationError(`${shard.label}: ${(err as Error).message}`);
      }
      looked += results.length;
      for (const p of results) {
        if (values.json) io.out(JSON.stringify({ server: shard.target.url, database, ...p }));
        if (p.matches) continue;
        differ += 1;
        if (!values.json) io.out(line(shard.label, p));
      }
    }
    if (action === 'repair') {
      io.err(`${count(looked, 'partition')} looked at, ${differ} repaired`);
      return EXIT.ok;
    }
    io.err(
      `${count(looked, 'partition')} looked at, ${differ} differ from what their views compute`,
    );
    return differ === 0 ? EXIT.ok : EXIT.failed;
  },
};
