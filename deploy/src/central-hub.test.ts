import { allTopics, DEFAULT_TOPIC_PARTITIONS, STATE_TOPICS, topicNames } from '@ccfed/proto';
import { loadTopology, parseTopology, type Topology } from '@ccfed/topology';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CentralHub,
  GRAFANA_SECRET,
  HUB_SECRET_KEYS,
  CONSOLE_DIR,
  CHURN_SCORING_COMMAND,
  CHURN_SCORING_SCHEDULE,
  CROSS_SELL_REFRESH_COMMAND,
  CROSS_SELL_REFRESH_SCHEDULE,
  MIGRATE_COMMAND,
  ROUTER_PORT,
  type CentralHubArgs,
} from './central-hub.js';
import { CONTAINER_PATHS, TOPOLOGY_KEY } from './kube.js';
import {
  byMetadataName,
  container,
  envSecretRef,
  envValue,
  plainTexts,
  writeClusterTopology,
  type DeclaredContainer,
} from './testing/fixtures.js';
import { BROKERS, CLICKHOUSE_URL, hubArgs, SECRET_VALUES, SECRETS } from './testing/hub-fixture.js';
import {
  isSecret,
  ofType,
  promiseOf,
  recordResources,
  settled,
  unwrapSecrets,
  type DeclaredResource,
} from './testing/pulumi-mocks.js';

let declared: DeclaredResource[];
let topology: Topology;

beforeAll(async () => {
  declared = await recordResources();
  topology = loadTopology(writeClusterTopology());
});

function args(extra: Partial<CentralHubArgs> = {}): CentralHubArgs {
  return hubArgs(topology, extra);
}

let count = 0;
/** Declares one hub and returns it with exactly the resources it declared. */
async function declare(extra: Partial<CentralHubArgs> = {}) {
  await settled();
  declared.length = 0;
  const hub = new CentralHub(`hub-${++count}`, args(extra));
  await promiseOf(hub.routerAddress);
  await settled();
  return { hub, declared: [...declared] };
}

const deployment = (list: DeclaredResource[], name: string) =>
  byMetadataName(ofType(list, 'kubernetes:apps/v1:Deployment'), name);

describe('CentralHub', () => {
  it('creates every ccfed topic with the default partitions and replication 3', async () => {
    const { declared } = await declare();
    const topics = ofType(declared, 'kafka:index/topic:Topic');
    expect(topics.map((t) => t.inputs.name).sort()).toEqual(allTopics(topicNames()).sort());
    const names = topicNames();
    const stateTopics = STATE_TOPICS.map((k) => names[k]);
    expect(stateTopics).toEqual([names.routingPolicy, names.customerDirectory]);
    for (const t of topics) {
      // State (the routing policy, the customer directory): one partition, compacted; every event
      // topic is partitioned.
      if (stateTopics.includes(t.inputs.name as string)) {
        expect(t.inputs.partitions).toBe(1);
        expect(t.inputs.config).toEqual({
          'cleanup.policy': 'compact',
          'min.insync.replicas': '2',
        });
      } else {
        expect(t.inputs.partitions).toBe(DEFAULT_TOPIC_PARTITIONS);
        expect(t.inputs.config).toEqual({ 'min.insync.replicas': '2' });
      }
      // Three copies, a write on two of them: one broker can go without a write lost or refused.
      expect(t.inputs.replicationFactor).toBe(3);
    }
  });

  it('uses the given topic prefix and replication factor everywhere', async () => {
    const { declared } = await declare({ topicPrefix: 'ccfed-staging', topicReplicationFactor: 1 });
    const topics = ofType(declared, 'kafka:index/topic:Topic');
    expect(topics.map((t) => t.inputs.name).sort()).toEqual(
      allTopics(topicNames('ccfed-staging')).sort(),
    );
    expect(topics.every((t) => t.inputs.replicationFactor === 1)).toBe(true);
    // One copy: a write needs only it.
    expect(
      topics.every(
        (t) => (t.inputs.config as Record<string, string>)['min.insync.replicas'] === '1',
      ),
    ).toBe(true);
    for (const [name, component] of [
      ['ccfed-router-a', 'router'],
      ['ccfed-router-b', 'router'],
      ['ccfed-ingester', 'ingester'],
    ]) {
      const c = container(deployment(declared, name!), component!);
      expect(envValue(c, 'CCFED_TOPIC_PREFIX')).toBe('ccfed-staging');
    }
  });

  it('runs the router pair on the topology, each router with its id and a Service of its own', async () => {
    const { hub, declared } = await declare();
    const services = ofType(declared, 'kubernetes:core/v1:Service');
    for (const r of ['a', 'b']) {
      const d = deployment(declared, `ccfed-router-${r}`);
      expect((d.inputs.spec as any).replicas).toBe(1);
      const labels = (d.inputs.spec as any).selector.matchLabels;
      expect(labels).toMatchObject({
        'app.kubernetes.io/component': 'router',
        'ccfed.io/router': r,
      });
      // Kept off each other's node where the cluster allows.
      const anti = (d.inputs.spec as any).template.spec.affinity.podAntiAffinity
        .preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
      expect(anti.topologyKey).toBe('kubernetes.io/hostname');
      expect(anti.labelSelector.matchLabels).toMatchObject({
        'app.kubernetes.io/component': 'router',
      });
      const router = container(d, 'router');
      expect(router.image).toBe('registry.test/ccfed:1.2.3');
      expect(router.command).toEqual(['node', '--import', 'tsx', 'central/router/src/index.ts']);
      expect(envValue(router, 'CCFED_KAFKA_BROKERS')).toBe(BROKERS.join(','));
      expect(envValue(router, 'CCFED_TOPOLOGY')).toBe(CONTAINER_PATHS.topologyFile);
      expect(envValue(router, 'CCFED_ROUTER_HOST')).toBe('0.0.0.0');
      expect(envValue(router, 'CCFED_ROUTER_PORT')).toBe(String(ROUTER_PORT));
      expect(envValue(router, 'CCFED_ROUTER_ID')).toBe(`router-${r}`);
      expect(router.readinessProbe).toEqual({
        tcpSocket: { port: ROUTER_PORT },
        periodSeconds: 5,
      });
      // Each Service reaches its own router only: "the other one" must be another process.
      const svc = byMetadataName(services, `ccfed-router-${r}`).inputs.spec as any;
      expect(svc.selector).toEqual(labels);
      expect(svc.ports).toEqual([
        { name: 'router', protocol: 'TCP', port: ROUTER_PORT, targetPort: ROUTER_PORT },
      ]);
    }
    expect(services.some((s) => (s.inputs.metadata as any).name === 'ccfed-router')).toBe(false);
    const maps = ofType(declared, 'kubernetes:core/v1:ConfigMap');
    const shipped = (byMetadataName(maps, 'ccfed-hub-topology').inputs.data as any)[TOPOLOGY_KEY];
    expect(parseTopology(shipped, 'configmap')).toEqual(topology);

    expect(await promiseOf(hub.routerAddress)).toBe(
      `ccfed-router-a.ccfed.svc.cluster.local:${ROUTER_PORT},ccfed-router-b.ccfed.svc.cluster.local:${ROUTER_PORT}`,
    );
  });

  it('gives the ingester, the API and the migration each its own ClickHouse user, the password by Secret reference', async () => {
    const { hub, declared } = await declare({ clickhouseDatabase: 'ccfed_prod' });
    const ingester = container(deployment(declared, 'ccfed-ingester'), 'ingester');
    const api = container(deployment(declared, 'ccfed-api'), 'api');
    const jobs = ofType(declared, 'kubernetes:batch/v1:Job');
    expect(jobs).toHaveLength(1);
    const migrate = container(jobs[0]!, 'migrate');
    for (const [c, role] of [
      [ingester, 'ingester'],
      [api, 'api'],
      [migrate, 'admin'],
    ] as const) {
      expect(c.image).toBe('registry.test/ccfed:1.2.3');
      expect(envValue(c, 'CCFED_CLICKHOUSE_URL')).toBe(CLICKHOUSE_URL);
      expect(envValue(c, 'CCFED_CLICKHOUSE_DATABASE')).toBe('ccfed_prod');
      expect(envValue(c, 'CCFED_CLICKHOUSE_USER')).toBe(`ccfed_${role}`);
      expect(envSecretRef(c, 'CCFED_CLICKHOUSE_PASSWORD')).toEqual({
        name: 'ccfed-hub-secrets',
        key: HUB_SECRET_KEYS.clickhousePassword(role),
      });
    }
    expect(envValue(ingester, 'CCFED_KAFKA_BROKERS')).toBe(BROKERS.join(','));
    expect(migrate.command).toEqual(MIGRATE_COMMAND);
    expect(MIGRATE_COMMAND.at(-1)).toBe('services/src/clickhouse/migrate-cli.ts');

    // The cross-sell rules refresh and the churn scoring run hourly with the same ClickHouse
    // settings.
    const crons = ofType(declared, 'kubernetes:batch/v1:CronJob');
    expect(crons).toHaveLength(2);
    const scheduled = [
      [CROSS_SELL_REFRESH_SCHEDULE, CROSS_SELL_REFRESH_COMMAND],
      [CHURN_SCORING_SCHEDULE, CHURN_SCORING_COMMAND],
    ] as const;
    for (const [i, [schedule, command]] of scheduled.entries()) {
      const cronSpec = crons[i]!.inputs.spec as {
        schedule: string;
        jobTemplate: { spec: { template: { spec: { containers: DeclaredContainer[] } } } };
      };
      expect(cronSpec.schedule).toBe(schedule);
      const job = cronSpec.jobTemplate.spec.template.spec.containers[0]!;
      expect(job.command).toEqual(command);
      expect(job.image).toBe('registry.test/ccfed:1.2.3');
      // The scheduled jobs store results and drop old partitions: the analytics user.
      expect(envValue(job, 'CCFED_CLICKHOUSE_USER')).toBe('ccfed_analytics');
      expect(envSecretRef(job, 'CCFED_CLICKHOUSE_PASSWORD')).toEqual({
        name: 'ccfed-hub-secrets',
        key: HUB_SECRET_KEYS.clickhousePassword('analytics'),
      });
    }
    expect(CHURN_SCORING_COMMAND.at(-1)).toBe('central/analytics/src/score-churn-cli.ts');

    expect(envSecretRef(api, 'CCFED_API_SECRET')).toEqual({
      name: 'ccfed-hub-secrets',
      key: HUB_SECRET_KEYS.apiSecret,
    });
    expect(envValue(api, 'CCFED_API_USERS')).toBe(CONTAINER_PATHS.apiUsersFile);
    expect(envValue(api, 'CCFED_API_HOST')).toBe('0.0.0.0');
    expect(envValue(api, 'CCFED_KAFKA_BROKERS')).toBe(BROKERS.join(','));
    expect(envValue(api, 'CCFED_TOPOLOGY')).toBe(CONTAINER_PATHS.topologyFile);
    expect(envValue(api, 'CCFED_CONSOLE_DIR')).toBe(CONSOLE_DIR);
    expect(api.volumeMounts).toContainEqual({
      name: 'users',
      mountPath: CONTAINER_PATHS.apiUsersDir,
      readOnly: true,
    });
    const apiSvc = byMetadataName(ofType(declared, 'kubernetes:core/v1:Service'), 'ccfed-api');
    expect((apiSvc.inputs.spec as any).ports[0].port).toBe(8080);
    expect((apiSvc.inputs.spec as any).type).toBe('ClusterIP');
    expect(await promiseOf(hub.apiUrl)).toBe('http://ccfed-api.ccfed.svc.cluster.local:8080');
  });

  it('keeps every secret in the Secrets, marked secret, and nowhere in plain config', async () => {
    const { declared } = await declare();
    const secrets = ofType(declared, 'kubernetes:core/v1:Secret');
    expect(secrets.map((s) => (s.inputs.metadata as any).name)).toEqual([
      'ccfed-hub-secrets',
      GRAFANA_SECRET,
    ]);
    const data = secrets[0]!.inputs.stringData;
    expect(isSecret(data)).toBe(true);
    const ch = SECRETS.clickhousePasswords;
    const kafka = SECRETS.kafkaPasswords;
    expect(unwrapSecrets(data)).toEqual({
      [HUB_SECRET_KEYS.apiSecret]: SECRETS.apiSecret,
      [HUB_SECRET_KEYS.apiUsers]: SECRETS.apiUsersYaml,
      'clickhouse-admin-password': ch.admin,
      'clickhouse-ingester-password': ch.ingester,
      'clickhouse-analytics-password': ch.analytics,
      'clickhouse-api-password': ch.api,
      'kafka-router-password': kafka.router,
      'kafka-ingester-password': kafka.ingester,
      'kafka-api-password': kafka.api,
    });
    // Grafana's login, for the SREs' Grafana to take as env: its own password only.
    expect(isSecret(secrets[1]!.inputs.stringData)).toBe(true);
    expect(unwrapSecrets(secrets[1]!.inputs.stringData)).toEqual({
      CCFED_CLICKHOUSE_HOST: 'clickhouse.ccfed-data.svc',
      CCFED_CLICKHOUSE_PASSWORD: ch.grafana,
    });
    const texts = plainTexts(declared);
    expect(texts.length).toBeGreaterThan(10);
    for (const { where, text } of texts) {
      for (const secret of SECRET_VALUES) expect(text, where).not.toContain(secret);
    }
  });

  it('gives Grafana one ConfigMap per directory of the dashboards build it is pointed at', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccfed-grafana-'));
    mkdirSync(join(dir, 'provisioning', 'datasources'), { recursive: true });
    mkdirSync(join(dir, 'provisioning', 'dashboards'), { recursive: true });
    writeFileSync(join(dir, 'ccfed-overview.json'), '{"title":"Overview"}');
    writeFileSync(join(dir, 'ccfed-site.json'), '{"title":"Site"}');
    writeFileSync(join(dir, 'provisioning', 'dashboards', 'ccfed.yaml'), 'providers: []\n');
    writeFileSync(join(dir, 'provisioning', 'datasources', 'ch.yaml'), 'datasources: []\n');
    writeFileSync(join(dir, 'README.txt'), 'not for Grafana');
    const { hub, declared } = await declare({ grafanaDir: dir });
    expect(hub.grafanaConfigMaps).toHaveLength(3);
    const maps = ofType(declared, 'kubernetes:core/v1:ConfigMap').filter((m) =>
      (m.inputs.metadata as any).name.startsWith('ccfed-grafana'),
    );
    const byName = Object.fromEntries(
      maps.map((m) => [
        (m.inputs.metadata as any).name,
        {
          dir: (m.inputs.metadata as any).annotations['ccfed.io/grafana-dir'],
          data: m.inputs.data,
        },
      ]),
    );
    expect(byName).toEqual({
      'ccfed-grafana': {
        dir: '.',
        data: {
          'ccfed-overview.json': '{"title":"Overview"}',
          'ccfed-site.json': '{"title":"Site"}',
        },
      },
      'ccfed-grafana-provisioning-dashboards': {
        dir: 'provisioning/dashboards',
        data: { 'ccfed.yaml': 'providers: []\n' },
      },
      'ccfed-grafana-provisioning-datasources': {
        dir: 'provisioning/datasources',
        data: { 'ch.yaml': 'datasources: []\n' },
      },
    });
    const without = await declare();
    expect(without.hub.grafanaConfigMaps).toEqual([]);
    expect(
      ofType(without.declared, 'kubernetes:core/v1:ConfigMap').map(
        (m) => (m.inputs.metadata as any).name,
      ),
    ).toEqual(['ccfed-hub-topology']);
  });

  it("takes the project's own dashboards build as it is committed", async () => {
    const generated = new URL('../../dashboards/generated', import.meta.url).pathname;
    const { declared } = await declare({ grafanaDir: generated });
    const names = ofType(declared, 'kubernetes:core/v1:ConfigMap')
      .map((m) => (m.inputs.metadata as any).name)
      .filter((n: string) => n.startsWith('ccfed-grafana'))
      .sort();
    expect(names).toEqual([
      'ccfed-grafana',
      'ccfed-grafana-provisioning-dashboards',
      'ccfed-grafana-provisioning-datasources',
    ]);
  });

  it('refuses a Grafana directory it cannot turn into ConfigMaps, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccfed-grafana-'));
    expect(() => new CentralHub('bad-g1', args({ grafanaDir: dir }))).toThrow(
      `grafana directory ${dir} holds no .json, .yaml or .yml file`,
    );
    mkdirSync(join(dir, 'Provisioning'));
    writeFileSync(join(dir, 'Provisioning', 'x.yaml'), 'a: 1\n');
    expect(() => new CentralHub('bad-g2', args({ grafanaDir: dir }))).toThrow(
      'grafana file Provisioning/x.yaml: directory "Provisioning" cannot be part of a ConfigMap name',
    );
  });

  it('refuses bad input with a message naming it', () => {
    expect(() => new CentralHub('bad-1', args({ grafanaDir: '/nonexistent/dash' }))).toThrow(
      'grafana directory /nonexistent/dash does not exist',
    );
    expect(() => new CentralHub('bad-2', args({ topicReplicationFactor: 0 }))).toThrow(
      'topicReplicationFactor must be a whole number of at least 1, got 0',
    );
    expect(() => new CentralHub('bad-3', args({ topicPrefix: 'ccfed prod' }))).toThrow(
      'topic prefix "ccfed prod" is not valid',
    );
    expect(() => new CentralHub('bad-4', args({ kafkaBrokers: [] }))).toThrow(
      'no Kafka brokers given',
    );
    expect(
      () => new CentralHub('bad-6', args({ ingesterReplicas: 4, topicPartitions: 3 })),
    ).toThrow('ingester: 4 replicas for 3 partitions per topic');
    expect(() => new CentralHub('bad-5', args({ apiReplicas: 0 }))).toThrow(
      'api: replicas must be a whole number of at least 1, got 0',
    );
  });
});
