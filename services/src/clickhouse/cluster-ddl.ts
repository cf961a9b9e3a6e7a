// The cluster's schema, derived from the same migration files as the single server's
// (docs/clickhouse-cluster.md). Released migrations never change, so the cluster form is computed,
// never written: each statement of a file becomes what it means on a cluster.
//
//   CREATE TABLE t (…) ENGINE = XMergeTree(args) …
//     → t_local, ENGINE = ReplicatedXMergeTree('/clickhouse/tables/{shard}/<db>.t', '{replica}', args)
//       and t, a Distributed table over every shard's t_local: every query keeps its table names.
//   CREATE MATERIALIZED VIEW v TO r AS SELECT … FROM s
//     → the same view reading s_local and writing r_local: each server rolls up the rows INSERTed
//       into it, and the replicated r_local copies the result to the shard's other replicas.
//   CREATE VIEW → unchanged: it reads the Distributed tables, the whole cluster.
//   ALTER TABLE t ADD COLUMN … → on t_local (replicated to the shard's other replicas) and on t.
//   INSERT INTO t SELECT … (a backfill) → on t_local from the _local tables, once per shard (on
//     its first replica; replication copies it): a shard's rows derive from its own rows, as the
//     materialized views do.
// Anything else is refused: a new kind of statement needs its cluster meaning decided here.
import type { Migration } from './migrate.js';

export interface ClusterDdlOptions {
  /** The cluster's name in remote_servers (cluster.ts: CLUSTER_NAME). */
  readonly cluster: string;
  readonly database: string;
}

/** One migration on a cluster: what every server runs, and what only each shard's first replica. */
export interface ClusterMigration {
  readonly version: number;
  readonly name: string;
  readonly everyServer: readonly string[];
  readonly firstReplica: readonly string[];
}

/** The suffix of the replicated table behind each Distributed one. */
export const LOCAL_SUFFIX = '_local';

/**
 * The column every table the ingester writes carries, and what it shards on: the Kafka partition
 * of the event (docs/clickhouse-cluster.md, "Sharding key"). Producers key each topic by call id
 * (agent id, site id, customer id), so a call's events and every resend of an event share a
 * partition, hence a shard; and each partition's exactly-once ledger lives whole on one shard.
 */
export const INGEST_SHARDING_COLUMN = 'kafka_partition';

/** The shard (0-based) that holds a Kafka partition's rows: what Distributed computes too. */
export function shardOfPartition(partition: number, shards: number): number {
  return partition % shards;
}

const CREATE_TABLE =
  /^CREATE TABLE IF NOT EXISTS (\w+)\s*\(([\s\S]*)\)\s*ENGINE\s*=\s*(\w*MergeTree)\(([^)]*)\)([\s\S]*)$/;
const CREATE_MV = /^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS\s/;
const CREATE_VIEW = /^CREATE VIEW IF NOT EXISTS \w+ AS\s/;
const ALTER_ADD = /^ALTER TABLE (\w+)(\s+ADD COLUMN\s[\s\S]*)$/;
const INSERT_SELECT = /^INSERT INTO (\w+) SELECT\s/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The cluster form of every migration, in order (tables of earlier files are known to later ones). */
export function clusterMigrations(
  migrations: readonly Migration[],
  opts: ClusterDdlOptions,
): ClusterMigration[] {
  for (const [what, v] of [
    ['cluster', opts.cluster],
    ['database', opts.database],
  ] as const)
    if (!NAME.test(v)) throw new Error(`cluster DDL: ${what} ${JSON.stringify(v)} is not a name`);
  const tables = new Set<string>();
  return migrations.map((m) => {
    const everyServer: string[] = [];
    const firstReplica: string[] = [];
    for (const statement of m.statements) {
      const where = `migration ${m.version} (${m.name})`;
      const table = CREATE_TABLE.exec(statement);
      if (table) {
        const [, name, columns, engine, args, rest] = table as unknown as string[];
        tables.add(name!);
        const path = `'/clickhouse/tables/{shard}/${opts.database}.${name}'`;
        const replicatedArgs = [path, "'{replica}'", ...(args!.trim() ? [args!.trim()] : [])];
        everyServer.push(
          `CREATE TABLE IF NOT EXISTS ${name}${LOCAL_SUFFIX}\n(${columns})\nENGINE = Replicated${engine}(${replicatedArgs.join(', ')})${rest}`,
          `CREATE TABLE IF NOT EXISTS ${name} AS ${name}${LOCAL_SUFFIX} ENGINE = Distributed(${opts.cluster}, ${opts.database}, ${name}${LOCAL_SUFFIX}, ${shardingKey(columns!, rest!, where)})`,
        );
        continue;
      }
      if (CREATE_MV.test(statement)) {
        everyServer.push(toLocal(statement, tables));
        continue;
      }
      if (CREATE_VIEW.test(statement)) {
        everyServer.push(statement);
        continue;
      }
      const alter = ALTER_ADD.exec(statement);
      if (alter && tables.has(alter[1]!)) {
        everyServer.push(`ALTER TABLE ${alter[1]}${LOCAL_SUFFIX}${alter[2]}`, statement);
        continue;
      }
      if (INSERT_SELECT.test(statement)) {
        firstReplica.push(toLocal(statement, tables));
        continue;
      }
      throw new Error(
        `cluster DDL: ${where}: no cluster form is defined for this statement (services/src/clickhouse/cluster-ddl.ts): ${statement.slice(0, 120)}`,
      );
    }
    return { version: m.version, name: m.name, everyServer, firstReplica };
  });
}

/**
 * What the Distributed table shards an INSERT through it on. The ingester's tables shard on the
 * Kafka partition (INGEST_SHARDING_COLUMN), as the ingester itself does; every other table on a
 * hash of its sorting key, so that rows a ReplacingMergeTree should collapse (the same key) meet
 * on one shard.
 */
function shardingKey(columns: string, rest: string, where: string): string {
  if (new RegExp(`^\\s*${INGEST_SHARDING_COLUMN}\\s`, 'm').test(columns))
    return INGEST_SHARDING_COLUMN;
  const order = /ORDER BY\s+(.+?)\s*(?:\bSETTINGS\b|$)/s.exec(rest)?.[1];
  if (!order) throw new Error(`cluster DDL: ${where}: a table without ORDER BY`);
  const key = order.startsWith('(') && order.endsWith(')') ? order.slice(1, -1) : order;
  return `cityHash64(${key.replace(/\s+/g, ' ')})`;
}

/** The statement with every known table it reads or writes replaced by its _local table. */
function toLocal(statement: string, tables: ReadonlySet<string>): string {
  return statement.replace(/\b(FROM|JOIN|INTO|TO)(\s+)(\w+)\b/g, (whole, kw, space, name) =>
    tables.has(name) ? `${kw}${space}${name}${LOCAL_SUFFIX}` : whole,
  );
}

/**
 * The migrations as one cluster member runs them with migrate(): the statements of its part, and
 * each migration's checksum unchanged (the file's), so a member's schema_migrations says which
 * files it applied, as a single server's does.
 */
export function memberMigrations(
  migrations: readonly Migration[],
  cluster: readonly ClusterMigration[],
  firstReplica: boolean,
): Migration[] {
  return migrations.map((m, i) => {
    const c = cluster[i]!;
    return {
      ...m,
      statements: [...c.everyServer, ...(firstReplica ? c.firstReplica : [])],
    };
  });
}
