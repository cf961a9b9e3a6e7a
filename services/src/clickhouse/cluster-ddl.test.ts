import { describe, expect, it } from 'vitest';
import { clusterMigrations, memberMigrations, shardOfPartition } from './cluster-ddl.js';
import { readMigrations, type Migration } from './migrate.js';

const OPTS = { cluster: 'ccfed', database: 'ccfed' };
const migration = (statements: string[]): Migration => ({
  version: 1,
  name: 'test',
  statements,
  checksum: 'c',
});

describe('cluster DDL', () => {
  it('turns a table into a replicated _local table and a Distributed one of the same name', () => {
    const [m] = clusterMigrations(
      [
        migration([
          'CREATE TABLE IF NOT EXISTS call_events\n(\n    event_id String,\n    kafka_partition UInt32,\n    ingested_at DateTime\n)\nENGINE = ReplacingMergeTree(ingested_at)\nPARTITION BY toYYYYMM(ingested_at)\nORDER BY (event_id)',
          'CREATE TABLE IF NOT EXISTS rollup\n(\n    bucket DateTime,\n    agg AggregateFunction(max, String)\n)\nENGINE = SummingMergeTree()\nORDER BY (bucket, tenant_id)\nSETTINGS index_granularity = 512',
        ]),
      ],
      OPTS,
    );
    expect(m!.everyServer).toEqual([
      "CREATE TABLE IF NOT EXISTS call_events_local\n(\n    event_id String,\n    kafka_partition UInt32,\n    ingested_at DateTime\n)\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ccfed.call_events', '{replica}', ingested_at)\nPARTITION BY toYYYYMM(ingested_at)\nORDER BY (event_id)",
      // The ingester's tables shard on the Kafka partition, as the ingester does.
      'CREATE TABLE IF NOT EXISTS call_events AS call_events_local ENGINE = Distributed(ccfed, ccfed, call_events_local, kafka_partition)',
      "CREATE TABLE IF NOT EXISTS rollup_local\n(\n    bucket DateTime,\n    agg AggregateFunction(max, String)\n)\nENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/ccfed.rollup', '{replica}')\nORDER BY (bucket, tenant_id)\nSETTINGS index_granularity = 512",
      // Others on their sorting key, so rows a ReplacingMergeTree collapses meet on one shard.
      'CREATE TABLE IF NOT EXISTS rollup AS rollup_local ENGINE = Distributed(ccfed, ccfed, rollup_local, cityHash64(bucket, tenant_id))',
    ]);
    expect(m!.firstReplica).toEqual([]);
  });

  it('points views at the _local tables, leaves plain views on the Distributed ones, runs backfills once per shard', () => {
    const [, m] = clusterMigrations(
      [
        migration([
          'CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = MergeTree() ORDER BY x',
          'CREATE TABLE IF NOT EXISTS b (x UInt8) ENGINE = MergeTree() ORDER BY x',
        ]),
        migration([
          'CREATE MATERIALIZED VIEW IF NOT EXISTS a_mv TO b AS SELECT x FROM a WHERE x NOT IN (SELECT x FROM b)',
          'CREATE VIEW IF NOT EXISTS v AS SELECT x FROM a',
          'ALTER TABLE a ADD COLUMN y UInt8',
          'INSERT INTO b SELECT x FROM a WHERE x NOT IN (SELECT x FROM b)',
        ]),
      ],
      OPTS,
    );
    expect(m!.everyServer).toEqual([
      'CREATE MATERIALIZED VIEW IF NOT EXISTS a_mv TO b_local AS SELECT x FROM a_local WHERE x NOT IN (SELECT x FROM b_local)',
      'CREATE VIEW IF NOT EXISTS v AS SELECT x FROM a',
      'ALTER TABLE a_local ADD COLUMN y UInt8',
      'ALTER TABLE a ADD COLUMN y UInt8',
    ]);
    expect(m!.firstReplica).toEqual([
      'INSERT INTO b_local SELECT x FROM a_local WHERE x NOT IN (SELECT x FROM b_local)',
    ]);
  });

  it('refuses a statement it has no cluster form for, naming the migration', () => {
    expect(() => clusterMigrations([migration(['DROP TABLE a'])], OPTS)).toThrow(
      /migration 1 \(test\): no cluster form is defined for this statement/,
    );
    expect(() =>
      clusterMigrations([migration(['SELECT 1'])], { cluster: 'x; DROP', database: 'd' }),
    ).toThrow(/cluster "x; DROP" is not a name/);
  });

  it('derives every released migration, keeping each file and its checksum per member', () => {
    const all = readMigrations();
    const before = JSON.stringify(all);
    const cluster = clusterMigrations(all, OPTS);
    const first = memberMigrations(all, cluster, true);
    const other = memberMigrations(all, cluster, false);
    expect(first.map((m) => [m.version, m.checksum])).toEqual(
      all.map((m) => [m.version, m.checksum]),
    );
    // The single server's migrations are untouched.
    expect(JSON.stringify(all)).toBe(before);
    // Backfills (023 contacts, 040 customer story) only on each shard's first replica.
    const inserts = (ms: Migration[]) =>
      ms.flatMap((m) => m.statements).filter((s) => s.startsWith('INSERT'));
    expect(inserts(first).length).toBe(
      all.flatMap((m) => m.statements).filter((s) => s.startsWith('INSERT')).length,
    );
    expect(inserts(other)).toEqual([]);
    // Every MergeTree table has its replicated twin; nothing but them names a MergeTree engine.
    const ddl = first.flatMap((m) => m.statements);
    for (const s of ddl.filter((x) => /ENGINE\s*=\s*\w*MergeTree/.test(x)))
      expect(s).toMatch(
        /^CREATE TABLE IF NOT EXISTS \w+_local\b[\s\S]*ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\/ccfed\.\w+', '\{replica\}'/,
      );
    // No view reads or writes a Distributed table.
    for (const s of ddl.filter((x) => x.startsWith('CREATE MATERIALIZED VIEW')))
      for (const [, name] of s.matchAll(/\b(?:FROM|TO)\s+(\w+)/g)) expect(name).toMatch(/_local$/);
  });

  it('puts a Kafka partition on shard partition mod shards, as Distributed(…, kafka_partition) does', () => {
    expect([0, 1, 2, 3, 4].map((p) => shardOfPartition(p, 2))).toEqual([0, 1, 0, 1, 0]);
  });
});
