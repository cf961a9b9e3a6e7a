// The HQ side of the federation on Kubernetes: router, ingester and API Deployments, the Kafka
// topics every process uses, the ClickHouse migration Job and the Grafana dashboards and provisioning.
import * as k8s from '@pulumi/kubernetes';
import * as kafka from '@pulumi/kafka';
import * as pulumi from '@pulumi/pulumi';
import {
  DEFAULT_TOPIC_PARTITIONS,
  DEFAULT_TOPIC_PREFIX,
  STATE_TOPICS,
  TOPIC_SUFFIXES,
  topicNames,
  type TopicKind,
} from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { stringify } from 'yaml';
import { readGrafanaFiles } from './grafana.js';
import {
  API_USERS_KEY,
  CONTAINER_PATHS,
  TOPOLOGY_KEY,
  ccfedCommand,
  ccfedLabels,
  configHash,
  plainEnv,
  resolveNamespace,
  secretData,
  secretEnv,
  type Images,
} from './kube.js';

export interface CentralHubArgs {
  /** The validated federation topology; the router reads it. */
  readonly topology: Topology;
  readonly images: Pick<Images, 'ccfed'>;
  readonly namespace: pulumi.Input<string>;
  readonly createNamespace?: boolean;
  /** host:port list of the Kafka brokers as the pods reach them. */
  readonly kafkaBrokers: pulumi.Input<string>[];
  /** Defaults to `ccfed`, the production prefix. */
  readonly topicPrefix?: string;
  /** Default DEFAULT_TOPIC_PARTITIONS from @ccfed/proto. */
  readonly topicPartitions?: number;
  /** Default 3: a topic survives the loss of a broker. */
  readonly topicReplicationFactor?: number;
  /** ClickHouse HTTP URL; secret because it may carry the user and password. */
  readonly clickhouseUrl: pulumi.Input<string>;
  readonly clickhouseDatabase?: string;
  /** The API's token signing secret (CCFED_API_SECRET). */
  readonly apiSecret: pulumi.Input<string>;
  /** The API's users file (YAML with scrypt password hashes), mounted from a Secret. */
  readonly apiUsersYaml: pulumi.Input<string>;
  readonly apiServiceType?: 'ClusterIP' | 'LoadBalancer' | 'NodePort';
  /** LoadBalancer when sites in other clusters must reach the router. Default ClusterIP. */
  readonly routerServiceType?: 'ClusterIP' | 'LoadBalancer';
  readonly routerReplicas?: number;
  readonly ingesterReplicas?: number;
  readonly apiReplicas?: number;
  /**
   * Directory of the Grafana files dashboards/ builds (dashboards/generated): one ConfigMap per
   * directory in it. No Grafana ConfigMaps without it.
   */
  readonly grafanaDir?: string;
  /**
   * OTLP endpoint (e.g. http://otel-collector:4318) the processes export traces and metrics to,
   * as OTEL_EXPORTER_OTLP_ENDPOINT; without it they export nothing (docs/operations.md, Telemetry).
   */
  readonly otlpEndpoint?: pulumi.Input<string>;
}

export const ROUTER_PORT = 50051;
export const API_PORT = 8080;
const DEFAULT_DATABASE = 'ccfed';

/** Keys of the hub's Secret. */
export const HUB_SECRET_KEYS = {
  apiSecret: 'api-secret',
  clickhouseUrl: 'clickhouse-url',
  apiUsers: API_USERS_KEY,
} as const;

/** Where the ccfed image keeps the built console (deploy/images/ccfed.Dockerfile). */
export const CONSOLE_DIR = '/app/central/console/dist';

/** What the cross-sell refresh CronJob runs, and when (hourly, at minute 17). */
export const CROSS_SELL_REFRESH_COMMAND = [
  'node',
  '--import',
  'tsx',
  'central/analytics/src/refresh-cross-sell-cli.ts',
];
export const CROSS_SELL_REFRESH_SCHEDULE = '17 * * * *';

/** What the churn scoring CronJob runs, and when (hourly, at minute 47). */
export const CHURN_SCORING_COMMAND = [
  'node',
  '--import',
  'tsx',
  'central/analytics/src/score-churn-cli.ts',
];
export const CHURN_SCORING_SCHEDULE = '47 * * * *';

/** What the migration Job runs: services/src/clickhouse/migrate-cli.ts, from the image's /app. */
export const MIGRATE_COMMAND = [
  'node',
  '--import',
  'tsx',
  'services/src/clickhouse/migrate-cli.ts',
];

/** Router, ingester, API, topics, schema migration and Grafana provisioning for one federation. */
export class CentralHub extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  /** host:port the site agents in the hub's cluster use for the router (CCFED_ROUTER). */
  readonly routerAddress: pulumi.Output<string>;
  /** host:port of the router's load balancer, for sites in other clusters (LoadBalancer only). */
  readonly routerExternalAddress: pulumi.Output<string> | undefined;
  /** In-cluster URL of the HTTP API. */
  readonly apiUrl: pulumi.Output<string>;
  readonly topics: Readonly<Record<TopicKind, kafka.Topic>>;
  readonly migrationJob: k8s.batch.v1.Job;
  readonly crossSellRefresh: k8s.batch.v1.CronJob;
  readonly churnScoring: k8s.batch.v1.CronJob;
  /** The Grafana files, one ConfigMap per directory of grafanaDir. */
  readonly grafanaConfigMaps: readonly k8s.core.v1.ConfigMap[];

  constructor(name: string, args: CentralHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ccfed:deploy:CentralHub', name, {}, opts);
    const partitions = args.topicPartitions ?? DEFAULT_TOPIC_PARTITIONS;
    const replication = args.topicReplicationFactor ?? 3;
    if (!Number.isInteger(partitions) || partitions < 1)
      throw new Error(`topicPartitions must be a whole number of at least 1, got ${partitions}`);
    if (!Number.isInteger(replication) || replication < 1)
      throw new Error(
        `topicReplicationFactor must be a whole number of at least 1, got ${replication}`,
      );
    if (args.kafkaBrokers.length === 0) throw new Error('central hub: no Kafka brokers given');
    const replicas = {
      router: args.routerReplicas ?? 1,
      ingester: args.ingesterReplicas ?? 1,
      api: args.apiReplicas ?? 1,
    };
    for (const [component, n] of Object.entries(replicas)) {
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`${component}: replicas must be a whole number of at least 1, got ${n}`);
    }
    // Ingesters share one consumer group: one beyond the partition count would sit idle.
    if (replicas.ingester > partitions)
      throw new Error(
        `ingester: ${replicas.ingester} replicas for ${partitions} partitions per topic; at most one ingester per partition does work`,
      );
    const prefix = args.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
    const names = topicNames(prefix); // throws on a bad prefix
    const telemetryEnv = plainEnv(
      args.otlpEndpoint !== undefined ? { OTEL_EXPORTER_OTLP_ENDPOINT: args.otlpEndpoint } : {},
    );
    const database = args.clickhouseDatabase ?? DEFAULT_DATABASE;
    const grafanaFiles =
      args.grafanaDir !== undefined ? readGrafanaFiles(args.grafanaDir) : undefined;

    const parent = { parent: this };
    const ns = resolveNamespace(`${name}-ns`, args.namespace, args.createNamespace, this);
    this.namespace = ns;
    const brokers = pulumi.all(args.kafkaBrokers).apply((b) => b.join(','));

    this.topics = Object.fromEntries(
      (Object.keys(TOPIC_SUFFIXES) as TopicKind[]).map((kind) => [
        kind,
        new kafka.Topic(
          `${name}-topic-${TOPIC_SUFFIXES[kind]}`,
          STATE_TOPICS.includes(kind)
            ? // State (the routing policy): one partition, compacted to the latest version.
              {
                name: names[kind],
                partitions: 1,
                replicationFactor: replication,
                config: { 'cleanup.policy': 'compact' },
              }
            : { name: names[kind], partitions, replicationFactor: replication },
          parent,
        ),
      ]),
    ) as Record<TopicKind, kafka.Topic>;
    const allTopics = Object.values(this.topics);

    const secret = new k8s.core.v1.Secret(
      `${name}-secrets`,
      {
        metadata: { name: 'ccfed-hub-secrets', namespace: ns, labels: ccfedLabels('hub') },
        type: 'Opaque',
        stringData: secretData({
          [HUB_SECRET_KEYS.apiSecret]: args.apiSecret,
          [HUB_SECRET_KEYS.clickhouseUrl]: args.clickhouseUrl,
          [HUB_SECRET_KEYS.apiUsers]: args.apiUsersYaml,
        }),
      },
      parent,
    );
    const clickhouseEnv = [
      ...secretEnv(secret.metadata.name, { CCFED_CLICKHOUSE_URL: HUB_SECRET_KEYS.clickhouseUrl }),
      ...plainEnv({ CCFED_CLICKHOUSE_DATABASE: database }),
    ];

    const topologyYaml = stringify(args.topology);
    const topologyMap = new k8s.core.v1.ConfigMap(
      `${name}-topology`,
      {
        metadata: { name: 'ccfed-hub-topology', namespace: ns, labels: ccfedLabels('hub') },
        data: { [TOPOLOGY_KEY]: topologyYaml },
      },
      parent,
    );

    const migrateLabels = ccfedLabels('clickhouse-migrate');
    this.migrationJob = new k8s.batch.v1.Job(
      `${name}-migrate`,
      {
        metadata: { name: 'ccfed-clickhouse-migrate', namespace: ns, labels: migrateLabels },
        spec: {
          backoffLimit: 4,
          template: {
            metadata: { labels: migrateLabels },
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'migrate',
                  image: args.images.ccfed,
                  workingDir: '/app',
                  command: MIGRATE_COMMAND,
                  env: clickhouseEnv,
                },
              ],
            },
          },
        },
      },
      // A changed image (new migrations) replaces the Job, which then runs again.
      { ...parent, replaceOnChanges: ['spec'], deleteBeforeReplace: true },
    );

    // The next best offer and the rules read the newest stored cross-sell rules: mine them again
    // every hour. The churn call-back list reads the newest stored scoring: score every hour too.
    const scheduled = (component: string, schedule: string, command: string[]) => {
      const labels = ccfedLabels(component);
      return new k8s.batch.v1.CronJob(
        `${name}-${component}`,
        {
          metadata: { name: `ccfed-${component}`, namespace: ns, labels },
          spec: {
            schedule,
            concurrencyPolicy: 'Forbid',
            jobTemplate: {
              spec: {
                backoffLimit: 2,
                template: {
                  metadata: { labels },
                  spec: {
                    restartPolicy: 'Never',
                    containers: [
                      {
                        name: component,
                        image: args.images.ccfed,
                        workingDir: '/app',
                        command,
                        env: clickhouseEnv,
                      },
                    ],
                  },
                },
              },
            },
          },
        },
        { ...parent, dependsOn: [this.migrationJob] },
      );
    };
    this.crossSellRefresh = scheduled(
      'cross-sell-refresh',
      CROSS_SELL_REFRESH_SCHEDULE,
      CROSS_SELL_REFRESH_COMMAND,
    );
    this.churnScoring = scheduled('churn-scoring', CHURN_SCORING_SCHEDULE, CHURN_SCORING_COMMAND);

    const routerLabels = ccfedLabels('router');
    this.deployment(name, 'router', {
      labels: routerLabels,
      replicas: replicas.router,
      image: args.images.ccfed,
      entry: 'central/router/src/index.ts',
      env: plainEnv({
        CCFED_TOPOLOGY: CONTAINER_PATHS.topologyFile,
        CCFED_KAFKA_BROKERS: brokers,
        CCFED_TOPIC_PREFIX: prefix,
        CCFED_ROUTER_HOST: '0.0.0.0',
        CCFED_ROUTER_PORT: String(ROUTER_PORT),
      }).concat(telemetryEnv),
      port: { name: 'grpc', containerPort: ROUTER_PORT },
      topologyMap: topologyMap.metadata.name,
      configHash: configHash(topologyYaml),
      dependsOn: allTopics,
    });
    const routerType = args.routerServiceType ?? 'ClusterIP';
    const routerService = this.service(name, 'router', routerLabels, routerType, ROUTER_PORT);
    this.routerAddress = pulumi.interpolate`${routerService.metadata.name}.${ns}.svc.cluster.local:${ROUTER_PORT}`;
    this.routerExternalAddress =
      routerType === 'LoadBalancer'
        ? routerService.status.loadBalancer.ingress.apply((ingress) => {
            const host = ingress?.[0]?.ip || ingress?.[0]?.hostname;
            if (!host) throw new Error('the router Service got no load balancer address');
            return `${host}:${ROUTER_PORT}`;
          })
        : undefined;

    this.deployment(name, 'ingester', {
      labels: ccfedLabels('ingester'),
      replicas: replicas.ingester,
      image: args.images.ccfed,
      entry: 'central/ingester/src/index.ts',
      env: [
        ...plainEnv({ CCFED_KAFKA_BROKERS: brokers, CCFED_TOPIC_PREFIX: prefix }),
        ...clickhouseEnv,
        ...telemetryEnv,
      ],
      dependsOn: [...allTopics, this.migrationJob],
    });

    const apiLabels = ccfedLabels('api');
    this.deployment(name, 'api', {
      labels: apiLabels,
      replicas: replicas.api,
      image: args.images.ccfed,
      entry: 'central/api/src/index.ts',
      env: [
        ...plainEnv({
          CCFED_API_HOST: '0.0.0.0',
          CCFED_API_PORT: String(API_PORT),
          CCFED_API_USERS: CONTAINER_PATHS.apiUsersFile,
          // The live wall: snapshots and agent states from Kafka, agents' tenants from the
          // topology; the console bundle the image builds.
          CCFED_KAFKA_BROKERS: brokers,
          CCFED_TOPIC_PREFIX: prefix,
          CCFED_TOPOLOGY: CONTAINER_PATHS.topologyFile,
          CCFED_CONSOLE_DIR: CONSOLE_DIR,
        }),
        ...secretEnv(secret.metadata.name, { CCFED_API_SECRET: HUB_SECRET_KEYS.apiSecret }),
        ...clickhouseEnv,
      ],
      port: { name: 'http', containerPort: API_PORT },
      usersSecret: secret.metadata.name,
      topologyMap: topologyMap.metadata.name,
      dependsOn: [this.migrationJob],
    });
    const apiService = this.service(
      name,
      'api',
      apiLabels,
      args.apiServiceType ?? 'ClusterIP',
      API_PORT,
    );
    this.apiUrl = pulumi.interpolate`http://${apiService.metadata.name}.${ns}.svc.cluster.local:${API_PORT}`;

    this.grafanaConfigMaps = (grafanaFiles ?? []).map(
      (g) =>
        new k8s.core.v1.ConfigMap(
          `${name}-grafana${g.suffix ? `-${g.suffix}` : ''}`,
          {
            metadata: {
              name: `ccfed-grafana${g.suffix ? `-${g.suffix}` : ''}`,
              namespace: ns,
              labels: ccfedLabels('grafana'),
              // Where the files sat under the Grafana directory, i.e. where Grafana wants them.
              annotations: { 'ccfed.io/grafana-dir': g.dir || '.' },
            },
            data: g.files,
          },
          parent,
        ),
    );

    this.registerOutputs({
      namespace: this.namespace,
      routerAddress: this.routerAddress,
      apiUrl: this.apiUrl,
      topics: allTopics.map((t) => t.name),
    });
  }

  private deployment(
    name: string,
    component: string,
    d: {
      labels: Record<string, string>;
      replicas: number;
      image: pulumi.Input<string>;
      entry: string;
      env: k8s.types.input.core.v1.EnvVar[];
      port?: { name: string; containerPort: number };
      topologyMap?: pulumi.Input<string>;
      usersSecret?: pulumi.Input<string>;
      configHash?: string;
      dependsOn: pulumi.Resource[];
    },
  ): k8s.apps.v1.Deployment {
    const volumes: k8s.types.input.core.v1.Volume[] = [];
    const mounts: k8s.types.input.core.v1.VolumeMount[] = [];
    if (d.topologyMap) {
      volumes.push({ name: 'topology', configMap: { name: d.topologyMap } });
      mounts.push({ name: 'topology', mountPath: CONTAINER_PATHS.topologyDir, readOnly: true });
    }
    if (d.usersSecret) {
      volumes.push({
        name: 'users',
        secret: { secretName: d.usersSecret, items: [{ key: API_USERS_KEY, path: API_USERS_KEY }] },
      });
      mounts.push({ name: 'users', mountPath: CONTAINER_PATHS.apiUsersDir, readOnly: true });
    }
    return new k8s.apps.v1.Deployment(
      `${name}-${component}`,
      {
        metadata: { name: `ccfed-${component}`, namespace: this.namespace, labels: d.labels },
        spec: {
          replicas: d.replicas,
          selector: { matchLabels: d.labels },
          template: {
            metadata: {
              labels: d.labels,
              ...(d.configHash ? { annotations: { 'ccfed.io/config-hash': d.configHash } } : {}),
            },
            spec: {
              containers: [
                {
                  name: component,
                  image: d.image,
                  workingDir: '/app',
                  command: ccfedCommand(d.entry),
                  env: d.env,
                  ...(d.port
                    ? {
                        ports: [{ ...d.port, protocol: 'TCP' }],
                        // Ready once it accepts connections: the Service only sends it traffic then.
                        readinessProbe: {
                          tcpSocket: { port: d.port.containerPort },
                          periodSeconds: 5,
                        },
                      }
                    : {}),
                  volumeMounts: mounts,
                },
              ],
              volumes,
            },
          },
        },
      },
      { parent: this, dependsOn: d.dependsOn },
    );
  }

  private service(
    name: string,
    component: string,
    labels: Record<string, string>,
    type: string,
    port: number,
  ): k8s.core.v1.Service {
    return new k8s.core.v1.Service(
      `${name}-${component}-service`,
      {
        metadata: { name: `ccfed-${component}`, namespace: this.namespace, labels },
        spec: {
          type,
          selector: labels,
          ports: [{ name: component, protocol: 'TCP', port, targetPort: port }],
        },
      },
      { parent: this },
    );
  }
}
