// Where the ingester stores a partition's rows: the one server, or on a cluster the shard that
// holds that Kafka partition (docs/clickhouse-cluster.md). Each shard has its own ledgers (read
// from every replica) and its own INSERT rounds (a quorum of every replica), so a shard whose
// replica is down stops only the partitions it holds.
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import type { Logger } from 'pino';
import { InsertCoalescer } from './insert-coalescer.js';
import { LedgerStore } from './ledger-store.js';

/** The replicated tables behind the Distributed ones (services/src/clickhouse/cluster-ddl.ts). */
export const LOCAL_SUFFIX = '_local';

export interface ShardStores {
  readonly ledgers: LedgerStore;
  readonly inserts: InsertCoalescer;
}

/**
 * The shard holding a Kafka partition's rows: partition mod shards, what the Distributed tables
 * compute from their sharding key kafka_partition (services/src/clickhouse/cluster-ddl.ts).
 */
export function shardOfPartition(partition: number, shards: number): number {
  return partition % shards;
}

/**
 * The settings of every INSERT into a shard's replicated tables. No quorum: 18.16 writes the
 * table first and its materialized views after, and an INSERT whose quorum wait times out fails
 * after its rows are stored but before the views ran, which would leave a rollup short for good
 * (the ledger sees the rows and never sends them again). Without a quorum, an INSERT is acknowledged
 * once the replica it went to has stored it, views included, exactly as on a single server; the
 * shard's other replicas fetch it from there. The ledger, read from every replica (ledger-store.ts),
 * keeps that exact across a replica's crash; what it costs is in docs/clickhouse-cluster.md.
 * No block deduplication: the ledger already makes every row land once, and 18.16 also
 * deduplicates the blocks the views write, so two INSERTs whose rollup rows came out identical
 * would count once.
 */
export const SHARD_INSERT_SETTINGS: ClickHouseSettings = { insert_deduplicate: 0 };

/** One ShardStores per shard of the cluster, or one for the single server. */
export function shardStores(
  target: ClickHouseClient | readonly (readonly ClickHouseClient[])[],
  log: Logger,
  afterInsert?: (inserts: number) => void,
): ShardStores[] {
  if (!Array.isArray(target)) {
    const single = target as ClickHouseClient;
    return [
      { ledgers: new LedgerStore(single), inserts: new InsertCoalescer(single, log, afterInsert) },
    ];
  }
  const shards = target as readonly (readonly ClickHouseClient[])[];
  if (shards.length === 0 || shards.some((r) => r.length === 0))
    throw new Error('ingester: a cluster needs at least one shard, each with a replica');
  return shards.map((replicas) => ({
    ledgers: new LedgerStore({ replicas, tableSuffix: LOCAL_SUFFIX }),
    inserts: new InsertCoalescer(
      { replicas, tableSuffix: LOCAL_SUFFIX, settings: SHARD_INSERT_SETTINGS },
      log,
      afterInsert,
    ),
  }));
}
