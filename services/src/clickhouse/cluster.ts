// A ClickHouse cluster on loopback for tests and local runs: shards × replicas clickhouse-server
// processes (launcher.ts, one each) with one ZooKeeper (services/src/zookeeper/launcher.ts).
// Every server knows the whole cluster (remote_servers), its own place in it (macros {shard} and
// {replica}, which the replicated tables' ZooKeeper paths use), and the same users and passwords.
// What production runs instead is deploy/src/clickhouse-cluster.ts; how the schema and the
// ingester use the cluster is docs/clickhouse-cluster.md.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseLogins, ClickHouseRole, ClickHouseTarget } from '@ccfed/common';
import { freePort, LOOPBACK } from '../ports.js';
import { startZooKeeper, type ZooKeeperInstance } from '../zookeeper/launcher.js';
import { startClickHouse, type ClickHouseInstance } from './launcher.js';
import { generateClickHouseLogins } from './users.js';

/** The cluster's name in remote_servers, which the Distributed tables name. */
export const CLUSTER_NAME = 'ccfed';

export interface ClickHouseClusterOptions {
  readonly dataDir: string;
  readonly shards: number;
  readonly replicas: number;
  readonly logins?: ClickHouseLogins;
}

export interface ClusterMember {
  /** 1-based, as the {shard} macro. */
  readonly shard: number;
  /** The {replica} macro, unique in the cluster: `s<shard>r<n>`. */
  readonly replica: string;
  readonly dataDir: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly interserverPort: number;
  /** The running server; undefined while stopped (stopMember) until startMember. */
  instance: ClickHouseInstance | undefined;
  /** Killed (not stopped) since its last start. */
  crashed: boolean;
  as(role: ClickHouseRole): ClickHouseTarget;
}

export interface ClickHouseCluster {
  readonly name: string;
  readonly zookeeper: ZooKeeperInstance;
  readonly logins: ClickHouseLogins;
  /** Shard by shard, replica by replica: members[0] is shard 1's first replica. */
  readonly members: readonly ClusterMember[];
  /** The members of each shard, shards in order: what the ingester's shard map is made from. */
  readonly shards: readonly (readonly ClusterMember[])[];
  /** Kills a member's process group (SIGKILL: a crash, nothing flushed) or stops it (SIGTERM). */
  stopMember(member: ClusterMember, how: 'kill' | 'stop'): Promise<void>;
  /**
   * Starts a stopped member again on its data directory and ports. A member that was killed starts
   * as an operator starts a crashed replica (docs/operations.md, "ClickHouse replica lost"): with
   * flags/force_restore_data, so that parts it wrote and never registered in ZooKeeper (a merge or
   * fetch cut short) are set aside to detached/ and fetched from its peers, instead of the server
   * refusing to start because, in a small table, they are most of its rows.
   */
  startMember(member: ClusterMember): Promise<void>;
  stop(): Promise<void>;
}

/** The limits the launcher accepts: a cluster on one machine is for tests and local runs. */
const MAX_SHARDS = 8;
const MAX_REPLICAS = 3;

export async function startClickHouseCluster(
  opts: ClickHouseClusterOptions,
): Promise<ClickHouseCluster> {
  for (const [what, n, max] of [
    ['shards', opts.shards, MAX_SHARDS],
    ['replicas', opts.replicas, MAX_REPLICAS],
  ] as const)
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new Error(
        `clickhouse cluster: ${what} must be a whole number from 1 to ${max}, not ${n}`,
      );
  const logins = opts.logins ?? generateClickHouseLogins();
  const zookeeper = await startZooKeeper({ dataDir: join(opts.dataDir, 'zookeeper') });
  const members: ClusterMember[] = [];
  try {
    for (let shard = 1; shard <= opts.shards; shard++)
      for (let r = 1; r <= opts.replicas; r++) {
        const httpPort = await freePort();
        const tcpPort = await freePort();
        const interserverPort = await freePort();
        const url = `http://${LOOPBACK}:${httpPort}`;
        members.push({
          shard,
          replica: `s${shard}r${r}`,
          dataDir: join(opts.dataDir, `s${shard}r${r}`),
          httpPort,
          tcpPort,
          interserverPort,
          instance: undefined,
          crashed: false,
          as: (role) => ({ url, ...logins[role] }),
        });
      }
    const secrets = {
      zookeeper: randomBytes(24).toString('base64url'),
      interserver: randomBytes(24).toString('base64url'),
    };
    const start = async (m: ClusterMember) => {
      if (m.crashed) {
        const flags = join(m.dataDir, 'data', 'flags');
        mkdirSync(flags, { recursive: true });
        writeFileSync(join(flags, 'force_restore_data'), '');
        m.crashed = false;
      }
      m.instance = await startClickHouse({
        dataDir: m.dataDir,
        httpPort: m.httpPort,
        tcpPort: m.tcpPort,
        logins,
        cluster: {
          configXml: clusterConfigXml({ members, member: m, zookeeper, logins, secrets }),
          interserverPort: m.interserverPort,
          defaultProfile: CLUSTER_PROFILE,
        },
        // stopMember(…, 'stop') is the graceful stop: an INSERT in flight finishes, views included.
        stopTimeoutMs: 20_000,
      });
    };
    await Promise.all(members.map(start));
    const shards = [...new Set(members.map((m) => m.shard))].map((s) =>
      members.filter((m) => m.shard === s),
    );
    return {
      name: CLUSTER_NAME,
      zookeeper,
      logins,
      members,
      shards,
      async stopMember(m, how) {
        const instance = m.instance;
        if (!instance) return;
        m.instance = undefined;
        if (how === 'stop') return instance.stop();
        m.crashed = true;
        try {
          process.kill(-instance.handle.pid, 'SIGKILL');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
        await instance.handle.exited;
      },
      startMember: (m) => (m.instance ? Promise.resolve() : start(m)),
      stop: () => stopAll(members, zookeeper),
    };
  } catch (err) {
    await stopAll(members, zookeeper);
    throw err;
  }
}

async function stopAll(members: ClusterMember[], zookeeper: ZooKeeperInstance): Promise<void> {
  await Promise.allSettled(members.map((m) => m.instance?.stop()));
  for (const m of members) m.instance = undefined;
  await zookeeper.stop();
}

/**
 * Settings every user of a cluster member starts from, on top of the single server's.
 * `distributed_product_mode=global`: a query on a Distributed table whose IN or JOIN reads another
 * Distributed table runs that subquery once, on the initiator, and ships its result to every shard
 * (GLOBAL IN), so a customer's calls on other shards still count; 18.16's default refuses such a
 * query. `insert_distributed_sync=1`: an INSERT through a Distributed table (the analytics jobs'
 * INSERT ... SELECT) returns once every shard holds its rows, not when they are queued locally.
 * `max_replica_delay_for_distributed_queries=5`: a replica more than 5 s behind its shard (one
 * just restarted, still fetching) is not read while an up-to-date one answers.
 */
const CLUSTER_PROFILE = {
  distributed_product_mode: 'global',
  insert_distributed_sync: 1,
  max_replica_delay_for_distributed_queries: 5,
};

function clusterConfigXml(p: {
  members: readonly ClusterMember[];
  member: ClusterMember;
  zookeeper: ZooKeeperInstance;
  logins: ClickHouseLogins;
  secrets: { zookeeper: string; interserver: string };
}): string {
  const admin = p.logins.admin;
  const shards = [...new Set(p.members.map((m) => m.shard))].map(
    (s) => `            <shard>
                <internal_replication>true</internal_replication>
${p.members
  .filter((m) => m.shard === s)
  .map(
    (m) => `                <replica>
                    <host>${LOOPBACK}</host>
                    <port>${m.tcpPort}</port>
                    <user>${admin.username}</user>
                    <password>${admin.password}</password>
                </replica>`,
  )
  .join('\n')}
            </shard>`,
  );
  return `<?xml version="1.0"?>
<!-- Written by services/src/clickhouse/cluster.ts: member ${p.member.replica} of cluster ${CLUSTER_NAME}. -->
<yandex>
    <!-- Replicas fetch each other's parts over this port, logging in with these credentials. -->
    <interserver_http_host>${LOOPBACK}</interserver_http_host>
    <interserver_http_port>${p.member.interserverPort}</interserver_http_port>
    <interserver_http_credentials>
        <user>interserver</user>
        <password>${p.secrets.interserver}</password>
    </interserver_http_credentials>
    <!-- internal_replication: a Distributed INSERT writes one replica per shard, and the
         replicated table copies it to the others (writing each replica would write it twice). -->
    <remote_servers>
        <${CLUSTER_NAME}>
${shards.join('\n')}
        </${CLUSTER_NAME}>
    </remote_servers>
    <!-- Every node ClickHouse creates is readable and writable by this identity only. -->
    <zookeeper>
        <node>
            <host>${p.zookeeper.host}</host>
            <port>${p.zookeeper.port}</port>
        </node>
        <!-- A crashed member's session (and its "active" mark) ends after this long: the restarted
             member takes its place only then. Production keeps ClickHouse's 30 s. -->
        <session_timeout_ms>8000</session_timeout_ms>
        <identity>clickhouse:${p.secrets.zookeeper}</identity>
    </zookeeper>
    <macros>
        <shard>${p.member.shard}</shard>
        <replica>${p.member.replica}</replica>
    </macros>
</yandex>
`;
}
