// The production ClickHouse cluster's shape: shards × replicas of clickhouse-server and a
// ZooKeeper ensemble, as the hub's processes must see it (docs/clickhouse-cluster.md). The SREs
// run ClickHouse and ZooKeeper as they run Kafka (data namespace, StatefulSets or an operator such
// as Altinity's); this module fixes the names and macros every member is given, and turns the
// shape into what the ingester and the migration Job read: CCFED_CLICKHOUSE_SHARDS and
// CCFED_CLICKHOUSE_CLUSTER. Pure, so the shape is checked before anything is deployed.

export interface ClickHouseClusterShape {
  /** remote_servers name the Distributed tables use; `ccfed` unless the SREs chose another. */
  readonly name?: string;
  readonly shards: number;
  /** Per shard. Two at least: one replica down must not lose a shard. */
  readonly replicas: number;
  /** ZooKeeper ensemble size: odd, three at least (a quorum of two survives the loss of one). */
  readonly zookeeperNodes: number;
  /** DNS domain of the members and ZooKeeper nodes, e.g. `ccfed-data.svc.cluster.local`. */
  readonly domain: string;
  /** The members' HTTPS port; 8443 by default (production ClickHouse is reached over TLS only). */
  readonly httpsPort?: number;
}

export interface ClickHouseClusterMember {
  /** 1-based, the member's {shard} macro. */
  readonly shard: number;
  /** The member's {replica} macro, unique in the cluster. */
  readonly replica: string;
  readonly host: string;
  readonly url: string;
}

export interface ClickHouseClusterPlan {
  readonly name: string;
  readonly members: readonly ClickHouseClusterMember[];
  /** host:port of each ZooKeeper node, for every member's <zookeeper> section. */
  readonly zookeeper: readonly string[];
  /** CCFED_CLICKHOUSE_SHARDS: shards by `;`, replicas by `,` (common/src/config.ts). */
  readonly shardsEnv: string;
}

const NAME = /^[a-z][a-z0-9_]*$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const ZOOKEEPER_PORT = 2181;

/**
 * The members (`https://clickhouse-s<shard>-r<replica>.<domain>:8443`), ZooKeeper nodes
 * (`zookeeper-<i>.<domain>`) and the env of a cluster shape; throws naming what is wrong.
 * `topicPartitions` is the Kafka partition count: the ingester puts partition p on shard
 * p mod shards, so a count that is not a multiple of the shards loads some shards more.
 */
export function clickhouseClusterPlan(
  shape: ClickHouseClusterShape,
  topicPartitions: number,
): ClickHouseClusterPlan {
  const name = shape.name ?? 'ccfed';
  const wrong = (what: string) => new Error(`clickhouse cluster: ${what}`);
  if (!NAME.test(name)) throw wrong(`name ${JSON.stringify(name)} is not a cluster name`);
  if (!DOMAIN.test(shape.domain))
    throw wrong(`domain ${JSON.stringify(shape.domain)} is not a DNS name`);
  if (!Number.isInteger(shape.shards) || shape.shards < 1)
    throw wrong(`shards must be a whole number of at least 1, got ${shape.shards}`);
  if (!Number.isInteger(shape.replicas) || shape.replicas < 2)
    throw wrong(
      `replicas must be a whole number of at least 2 (one replica down must not take a shard with it), got ${shape.replicas}`,
    );
  if (
    !Number.isInteger(shape.zookeeperNodes) ||
    shape.zookeeperNodes < 3 ||
    shape.zookeeperNodes % 2 === 0
  )
    throw wrong(
      `zookeeperNodes must be odd and at least 3 (a majority must survive one loss), got ${shape.zookeeperNodes}`,
    );
  if (topicPartitions < shape.shards || topicPartitions % shape.shards !== 0)
    throw wrong(
      `${topicPartitions} partitions per topic over ${shape.shards} shards: the ingester puts partition p on shard p mod shards, so make the partitions a multiple of the shards`,
    );
  const port = shape.httpsPort ?? 8443;
  const members: ClickHouseClusterMember[] = [];
  for (let shard = 1; shard <= shape.shards; shard++)
    for (let r = 1; r <= shape.replicas; r++) {
      const host = `clickhouse-s${shard}-r${r}.${shape.domain}`;
      members.push({ shard, replica: `s${shard}r${r}`, host, url: `https://${host}:${port}` });
    }
  const zookeeper = Array.from(
    { length: shape.zookeeperNodes },
    (_, i) => `zookeeper-${i}.${shape.domain}:${ZOOKEEPER_PORT}`,
  );
  const shardsEnv = Array.from({ length: shape.shards }, (_, s) =>
    members
      .filter((m) => m.shard === s + 1)
      .map((m) => m.url)
      .join(','),
  ).join(';');
  return { name, members, zookeeper, shardsEnv };
}
