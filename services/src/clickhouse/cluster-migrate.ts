// Migrations on a cluster: the cluster form of each file (cluster-ddl.ts) applied on every member,
// one file at a time on all of them before the next. In lockstep because a replicated table's
// structure lives in ZooKeeper: a replica created from an old file after another replica already
// ALTERed the table would not match it. Each member records the files it applied in its own
// schema_migrations (a plain local table), with the files' checksums, as a single server does.
//
// The DDL is sent to each member rather than as ON CLUSTER: 18.16's distributed DDL needs a
// queue in ZooKeeper and a <distributed_ddl> section on every server, and it reports a member
// that is down only by timing out; here a member that cannot be reached fails the run at once,
// naming it, and the run is simply repeated (every statement is idempotent).
import type { ClickHouseTarget } from '@ccfed/common';
import { clusterMigrations, memberMigrations } from './cluster-ddl.js';
import { migrate, readMigrations, type Migration } from './migrate.js';

export interface ClusterMemberTarget {
  /** 1-based shard number, as the member's {shard} macro. */
  readonly shard: number;
  /** The member's login with DDL rights (the admin role). */
  readonly target: ClickHouseTarget;
}

/**
 * Applies the migrations each member has not had yet, file by file, on every member. Backfills
 * (INSERT ... SELECT) run on the first member listed for each shard. Returns, per member in the
 * order given, the versions it applied.
 */
export async function migrateCluster(
  members: readonly ClusterMemberTarget[],
  opts: { readonly cluster: string; readonly database: string },
  migrations: readonly Migration[] = readMigrations(),
): Promise<number[][]> {
  if (members.length === 0) throw new Error('migrate cluster: no member given');
  const cluster = clusterMigrations(migrations, opts);
  const firstOfShard = new Set<number>();
  const parts = members.map((m) => {
    const first = !firstOfShard.has(m.shard);
    firstOfShard.add(m.shard);
    return memberMigrations(migrations, cluster, first);
  });
  const applied = members.map(() => [] as number[]);
  for (let i = 0; i < migrations.length; i++)
    for (let j = 0; j < members.length; j++) {
      const member = members[j]!;
      try {
        applied[j]!.push(...(await migrate(member.target, opts.database, [parts[j]![i]!])));
      } catch (err) {
        throw new Error(
          `migrate cluster: member ${member.target.url} (shard ${member.shard}), migration ${migrations[i]!.version} (${migrations[i]!.name}): ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
  return applied;
}
