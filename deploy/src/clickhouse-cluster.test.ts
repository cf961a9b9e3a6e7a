import { loadTopology, type Topology } from '@ccfed/topology';
import { beforeAll, describe, expect, it } from 'vitest';
import { CentralHub, type CentralHubArgs } from './central-hub.js';
import { clickhouseClusterPlan } from './clickhouse-cluster.js';
import { byMetadataName, container, envValue, writeClusterTopology } from './testing/fixtures.js';
import { hubArgs } from './testing/hub-fixture.js';
import {
  ofType,
  promiseOf,
  recordResources,
  settled,
  type DeclaredResource,
} from './testing/pulumi-mocks.js';

const PRODUCTION = {
  shards: 2,
  replicas: 2,
  zookeeperNodes: 3,
  domain: 'ccfed-data.svc.cluster.local',
};

describe('clickhouseClusterPlan', () => {
  it('names every member and ZooKeeper node, and gives the ingester its shard map', () => {
    const plan = clickhouseClusterPlan(PRODUCTION, 6);
    expect(plan.name).toBe('ccfed');
    expect(plan.members.map((m) => [m.shard, m.replica, m.url])).toEqual([
      [1, 's1r1', 'https://clickhouse-s1-r1.ccfed-data.svc.cluster.local:8443'],
      [1, 's1r2', 'https://clickhouse-s1-r2.ccfed-data.svc.cluster.local:8443'],
      [2, 's2r1', 'https://clickhouse-s2-r1.ccfed-data.svc.cluster.local:8443'],
      [2, 's2r2', 'https://clickhouse-s2-r2.ccfed-data.svc.cluster.local:8443'],
    ]);
    expect(plan.zookeeper).toEqual([
      'zookeeper-0.ccfed-data.svc.cluster.local:2181',
      'zookeeper-1.ccfed-data.svc.cluster.local:2181',
      'zookeeper-2.ccfed-data.svc.cluster.local:2181',
    ]);
    expect(plan.shardsEnv).toBe(
      'https://clickhouse-s1-r1.ccfed-data.svc.cluster.local:8443,https://clickhouse-s1-r2.ccfed-data.svc.cluster.local:8443;' +
        'https://clickhouse-s2-r1.ccfed-data.svc.cluster.local:8443,https://clickhouse-s2-r2.ccfed-data.svc.cluster.local:8443',
    );
  });

  it('refuses a shape that loses data or balance, saying why', () => {
    expect(() => clickhouseClusterPlan({ ...PRODUCTION, replicas: 1 }, 6)).toThrow(
      /replicas must be a whole number of at least 2/,
    );
    expect(() => clickhouseClusterPlan({ ...PRODUCTION, zookeeperNodes: 1 }, 6)).toThrow(
      /zookeeperNodes must be odd and at least 3/,
    );
    expect(() => clickhouseClusterPlan({ ...PRODUCTION, zookeeperNodes: 4 }, 6)).toThrow(
      /zookeeperNodes must be odd/,
    );
    expect(() => clickhouseClusterPlan(PRODUCTION, 3)).toThrow(
      /3 partitions per topic over 2 shards: .* a multiple of the shards/,
    );
    expect(() => clickhouseClusterPlan({ ...PRODUCTION, domain: 'x;rm' }, 6)).toThrow(
      /not a DNS name/,
    );
  });
});

describe('CentralHub on a ClickHouse cluster', () => {
  let declared: DeclaredResource[];
  let topology: Topology;
  beforeAll(async () => {
    declared = await recordResources();
    topology = loadTopology(writeClusterTopology());
  });

  async function declare(extra: Partial<CentralHubArgs>) {
    await settled();
    declared.length = 0;
    const hub = new CentralHub('hub-cluster', hubArgs(topology, extra));
    await promiseOf(hub.routerAddress);
    await settled();
    return [...declared];
  }

  it('gives the ingester and the migration Job every member; the API reads through one', async () => {
    const list = await declare({ clickhouseCluster: PRODUCTION, topicPartitions: 6 });
    const deployment = (name: string) =>
      byMetadataName(ofType(list, 'kubernetes:apps/v1:Deployment'), name);
    const ingester = container(deployment('ccfed-ingester'), 'ingester');
    const migrate = container(ofType(list, 'kubernetes:batch/v1:Job')[0]!, 'migrate');
    const api = container(deployment('ccfed-api'), 'api');
    const shards = clickhouseClusterPlan(PRODUCTION, 6).shardsEnv;
    for (const c of [ingester, migrate]) {
      expect(envValue(c, 'CCFED_CLICKHOUSE_SHARDS')).toBe(shards);
      expect(envValue(c, 'CCFED_CLICKHOUSE_CLUSTER')).toBe('ccfed');
    }
    expect(api.env?.map((e) => e.name)).not.toContain('CCFED_CLICKHOUSE_SHARDS');
  });

  it('refuses a cluster whose shards do not divide the partitions', async () => {
    await expect(declare({ clickhouseCluster: PRODUCTION, topicPartitions: 3 })).rejects.toThrow(
      /3 partitions per topic over 2 shards/,
    );
  });
});
