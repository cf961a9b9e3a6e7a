// The HQ side of the federation on Kubernetes: router, ingester and API Deployments, the Kafka
// topics every process uses, the ClickHouse migration Job and scheduled jobs, the Grafana files,
// and what holds the hub's trust boundaries (docs/security.md, "Deploy"): a certificate per
// process, its own ClickHouse and Kafka login per process, the API only behind a TLS Ingress, the
// router only behind an internal load balancer, and NetworkPolicies for every flow.
import * as k8s from '@pulumi/kubernetes';
import * as kafka from '@pulumi/kafka';
import * as pulumi from '@pulumi/pulumi';
import type { ClickHouseRole } from '@ccfed/common';
import { clickhouseClusterPlan, type ClickHouseClusterShape } from './clickhouse-cluster.js';
import {
  DEFAULT_TOPIC_PARTITIONS,
  DEFAULT_TOPIC_PREFIX,
  minInsyncReplicasFor,
  STATE_TOPICS,
  TOPIC_SUFFIXES,
  topicNames,
  type TopicKind,
} from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { stringify } from 'yaml';
import { apiIngress, type ApiIngressSettings } from './api-ingress.js';
import { readGrafanaFiles } from './grafana.js';
import { hubNetworkPolicies, type HubNetwork } from './hub-network.js';
import { HUB_SECRET_KEYS, hubCredentials, type HubKafkaUser } from './hub-credentials.js';
import { hubJobs } from './hub-jobs.js';
import { hubDeployment } from './hub-workloads.js';
import { routerServiceFor } from './router-service.js';
import type { IssuerRef } from './identity.js';
import {
  CONTAINER_PATHS,
  TOPOLOGY_KEY,
  ccfedCommand,
  ccfedLabels,
  configHash,
  plainEnv,
  resolveNamespace,
  secretEnv,
  type Images,
} from './kube.js';
import type { ResourceOverrides } from './resources.js';

export {
  CHURN_SCORING_COMMAND,
  CHURN_SCORING_SCHEDULE,
  CROSS_SELL_REFRESH_COMMAND,
  CROSS_SELL_REFRESH_SCHEDULE,
  MIGRATE_COMMAND,
} from './hub-jobs.js';
export { GRAFANA_SECRET, HUB_KAFKA_USERS, HUB_SECRET_KEYS } from './hub-credentials.js';
export { INTERNAL_LB_ANNOTATIONS } from './router-service.js';

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
  /** ClickHouse HTTP URL, without a user or password in it. */
  readonly clickhouseUrl: pulumi.Input<string>;
  readonly clickhouseDatabase?: string;
  /**
   * A ClickHouse cluster (clickhouse-cluster.ts): the ingester writes each shard's replicated
   * tables and the migration Job migrates every member. Without it, the one server of
   * clickhouseUrl (which the API and the jobs read in either case: any member answers for all).
   */
  readonly clickhouseCluster?: ClickHouseClusterShape;
  /**
   * The password of each ClickHouse user (CLICKHOUSE_USERNAMES names them; services/src/
   * clickhouse/users.ts writes their profiles): each process gets its own role's only.
   */
  readonly clickhousePasswords: Readonly<Record<ClickHouseRole, pulumi.Input<string>>>;
  /** SASL/SCRAM passwords of the hub's Kafka users, by user name. */
  readonly kafkaPasswords: Readonly<Record<HubKafkaUser, pulumi.Input<string>>>;
  /** The API's token signing secret (CCFED_API_SECRET). */
  readonly apiSecret: pulumi.Input<string>;
  /** The API's users file (YAML with scrypt password hashes), mounted from a Secret. */
  readonly apiUsersYaml: pulumi.Input<string>;
  /**
   * Every site's secret for its browser agents' SIP credentials (site id → base64): the API
   * reads them as CCFED_SIP_SECRETS_FILE, mounted from the hub's Secret. Without them it issues
   * no SIP credentials (GET /desktop/sip-credentials answers 503).
   */
  readonly sipSecrets?: pulumi.Input<Record<string, string>>;
  /** cert-manager issuer of the federation CA: every hub process gets its certificate from it. */
  readonly tlsIssuer: IssuerRef;
  /** The API's TLS Ingress; without it the API is reachable from inside the cluster only. */
  readonly apiIngress?: ApiIngressSettings;
  /** LoadBalancer (internal) when sites in other clusters must reach the router. Default ClusterIP. */
  readonly routerServiceType?: 'ClusterIP' | 'LoadBalancer';
  /**
   * The only addresses (CIDRs) that may reach the router from outside its namespace: remote sites
   * through its load balancer, sites on their node's network. Required with a LoadBalancer.
   */
  readonly routerSourceRanges?: readonly string[];
  /** Annotations that make the router's load balancer internal (router-service.ts). */
  readonly routerLoadBalancerAnnotations?: Readonly<Record<string, string>>;
  /** Where Kafka, ClickHouse, the ingress controller, Grafana and the collector are. */
  readonly network: HubNetwork;
  readonly resources?: ResourceOverrides;
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
/** The two routers of the pair: Deployments and Services ccfed-router-a and ccfed-router-b. */
export const ROUTER_PAIR = ['a', 'b'] as const;
/** The pod label that tells the routers of the pair apart (each Service selects one). */
export const ROUTER_LABEL = 'ccfed.io/router';
export const API_PORT = 8080;
const DEFAULT_DATABASE = 'ccfed';

/** Where the ccfed image keeps the built console (deploy/images/ccfed.Dockerfile). */
export const CONSOLE_DIR = '/app/central/console/dist';
/** And the agents' and supervisors' desktop, which the API serves at /desktop/. */
export const DESKTOP_DIR = '/app/central/desktop/dist';

/** Router, ingester, API, topics, schema migration and Grafana provisioning for one federation. */
export class CentralHub extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  /**
   * host:port,host:port of the router pair, which the site agents in the hub's cluster use
   * (CCFED_ROUTER).
   */
  readonly routerAddress: pulumi.Output<string>;
  /**
   * host:port,host:port of the routers' load balancers, for sites in other clusters (LoadBalancer
   * only).
   */
  readonly routerExternalAddress: pulumi.Output<string> | undefined;
  /** In-cluster URL of the HTTP API. */
  readonly apiUrl: pulumi.Output<string>;
  /** https URL of the API's Ingress, when it has one. */
  readonly apiPublicUrl: string | undefined;
  readonly topics: Readonly<Record<TopicKind, kafka.Topic>>;
  readonly migrationJob: k8s.batch.v1.Job;
  readonly crossSellRefresh: k8s.batch.v1.CronJob;
  readonly churnScoring: k8s.batch.v1.CronJob;
  /** The Grafana files, one ConfigMap per directory of grafanaDir. */
  readonly grafanaConfigMaps: readonly k8s.core.v1.ConfigMap[];
  readonly networkPolicies: readonly k8s.networking.v1.NetworkPolicy[];

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
    const routerType = args.routerServiceType ?? 'ClusterIP';
    const routerSourceRanges = args.routerSourceRanges ?? [];
    if (routerType === 'LoadBalancer' && routerSourceRanges.length === 0)
      throw new Error(
        'central hub: a LoadBalancer router needs routerSourceRanges, the CIDRs of the sites that reach it; it is never open to any address',
      );
    if (args.apiIngress && !args.network.ingressController)
      throw new Error(
        'central hub: the API Ingress needs network.ingressController (where the ingress controller runs), or no NetworkPolicy lets it reach the API',
      );
    if (args.otlpEndpoint !== undefined && !args.network.telemetry)
      throw new Error(
        'central hub: otlpEndpoint needs network.telemetry (where the collector is), or no NetworkPolicy lets the processes reach it',
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
    // Producers write with acks=all: with 3 copies a write needs 2, so a broker can be lost
    // without losing an acknowledged write or refusing a new one (docs/operations.md, "Broker lost").
    const minInsync = { 'min.insync.replicas': String(minInsyncReplicasFor(replication)) };

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
                config: { 'cleanup.policy': 'compact', ...minInsync },
              }
            : { name: names[kind], partitions, replicationFactor: replication, config: minInsync },
          parent,
        ),
      ]),
    ) as Record<TopicKind, kafka.Topic>;
    const allTopics = Object.values(this.topics);

    const cluster =
      args.clickhouseCluster && clickhouseClusterPlan(args.clickhouseCluster, partitions);
    const { secret, clickhouseEnv, kafkaEnv, certificate } = hubCredentials(name, {
      ...args,
      clickhouseCluster: cluster,
      namespace: ns,
      brokers,
      database,
      parent: this,
    });

    const topologyYaml = stringify(args.topology);
    const topologyMap = new k8s.core.v1.ConfigMap(
      `${name}-topology`,
      {
        metadata: { name: 'ccfed-hub-topology', namespace: ns, labels: ccfedLabels('hub') },
        data: { [TOPOLOGY_KEY]: topologyYaml },
      },
      parent,
    );

    const jobs = hubJobs(name, {
      image: args.images.ccfed,
      namespace: ns,
      clickhouseEnv,
      resources: args.resources,
      parent: this,
    });
    this.migrationJob = jobs.migration;
    this.crossSellRefresh = jobs.crossSellRefresh;
    this.churnScoring = jobs.churnScoring;

    // The router pair: two Deployments of one replica, each with its own Service and router id,
    // serving at once and sharing reservations through route-decisions (docs/operations.md,
    // "Router down"). Site agents know both addresses and fail over between them; a replicated
    // Deployment behind one Service could not be asked "the other one".
    const routerCertificate = certificate(
      'router',
      ROUTER_PAIR.map((r) => `ccfed-router-${r}`),
    );
    const routerServices = ROUTER_PAIR.map((r) => {
      const labels = ccfedLabels('router', { [ROUTER_LABEL]: r });
      hubDeployment(
        `${name}-router-${r}`,
        {
          component: 'router',
          deploymentName: `ccfed-router-${r}`,
          labels,
          namespace: ns,
          replicas: 1,
          image: args.images.ccfed,
          command: ccfedCommand('central/router/src/index.ts'),
          env: [
            ...plainEnv({
              CCFED_TOPOLOGY: CONTAINER_PATHS.topologyFile,
              CCFED_TOPIC_PREFIX: prefix,
              CCFED_ROUTER_HOST: '0.0.0.0',
              CCFED_ROUTER_PORT: String(ROUTER_PORT),
              CCFED_ROUTER_ID: `router-${r}`,
            }),
            ...kafkaEnv('router'),
            ...telemetryEnv,
          ],
          port: { name: 'grpc', containerPort: ROUTER_PORT },
          tlsSecret: routerCertificate,
          topologyMap: topologyMap.metadata.name,
          configHash: configHash(topologyYaml),
          resources: args.resources,
          // On different nodes where the cluster has more than one: a node lost must not take
          // both routers. Preferred, not required, so a one-node cluster still runs the pair.
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchLabels: ccfedLabels('router') },
                    topologyKey: 'kubernetes.io/hostname',
                  },
                },
              ],
            },
          },
        },
        { parent: this, dependsOn: allTopics },
      );
      return routerServiceFor(`${name}-router-${r}-service`, {
        serviceName: `ccfed-router-${r}`,
        namespace: ns,
        labels,
        port: ROUTER_PORT,
        type: routerType,
        sourceRanges: routerSourceRanges,
        annotations: args.routerLoadBalancerAnnotations,
        parent: this,
      });
    });
    this.routerAddress = pulumi
      .all([ns, ...routerServices.map((s) => s.metadata.name)])
      .apply(([namespace, ...names]) =>
        names.map((n) => `${n}.${namespace}.svc.cluster.local:${ROUTER_PORT}`).join(','),
      );
    this.routerExternalAddress =
      routerType === 'LoadBalancer'
        ? pulumi.all(routerServices.map((s) => s.status.loadBalancer.ingress)).apply((ingresses) =>
            ingresses
              .map((ingress, i) => {
                const host = ingress?.[0]?.ip || ingress?.[0]?.hostname;
                if (!host)
                  throw new Error(
                    `the router Service ccfed-router-${ROUTER_PAIR[i]} got no load balancer address`,
                  );
                return `${host}:${ROUTER_PORT}`;
              })
              .join(','),
          )
        : undefined;

    hubDeployment(
      `${name}-ingester`,
      {
        component: 'ingester',
        labels: ccfedLabels('ingester'),
        namespace: ns,
        replicas: replicas.ingester,
        image: args.images.ccfed,
        command: ccfedCommand('central/ingester/src/index.ts'),
        env: [
          ...plainEnv({ CCFED_TOPIC_PREFIX: prefix }),
          ...kafkaEnv('ingester'),
          ...clickhouseEnv('ingester'),
          ...telemetryEnv,
        ],
        tlsSecret: certificate('ingester'),
        resources: args.resources,
      },
      { parent: this, dependsOn: [...allTopics, this.migrationJob] },
    );

    const apiLabels = ccfedLabels('api');
    hubDeployment(
      `${name}-api`,
      {
        component: 'api',
        labels: apiLabels,
        namespace: ns,
        replicas: replicas.api,
        image: args.images.ccfed,
        command: ccfedCommand('central/api/src/index.ts'),
        env: [
          ...plainEnv({
            CCFED_API_HOST: '0.0.0.0',
            CCFED_API_PORT: String(API_PORT),
            CCFED_API_USERS: CONTAINER_PATHS.apiUsersFile,
            // The live wall: snapshots and agent states from Kafka, agents' tenants from the
            // topology; the console bundle the image builds.
            CCFED_TOPIC_PREFIX: prefix,
            CCFED_TOPOLOGY: CONTAINER_PATHS.topologyFile,
            CCFED_CONSOLE_DIR: CONSOLE_DIR,
            CCFED_DESKTOP_DIR: DESKTOP_DIR,
            ...(args.sipSecrets !== undefined && {
              CCFED_SIP_SECRETS_FILE: CONTAINER_PATHS.apiSipSecretsFile,
            }),
            // Whose X-Forwarded-For names the client, for the log-in throttle.
            CCFED_API_TRUSTED_PROXIES: (args.apiIngress?.trustedProxyCidrs ?? []).join(','),
          }),
          ...kafkaEnv('api'),
          ...secretEnv(secret.metadata.name, { CCFED_API_SECRET: HUB_SECRET_KEYS.apiSecret }),
          ...clickhouseEnv('api'),
          ...telemetryEnv,
        ],
        port: { name: 'http', containerPort: API_PORT },
        tlsSecret: certificate('api'),
        usersSecret: secret.metadata.name,
        withSipSecrets: args.sipSecrets !== undefined,
        topologyMap: topologyMap.metadata.name,
        resources: args.resources,
      },
      { parent: this, dependsOn: [this.migrationJob] },
    );
    // ClusterIP only: from outside, the API is reached through its TLS Ingress and nothing else.
    const apiService = new k8s.core.v1.Service(
      `${name}-api-service`,
      {
        metadata: { name: 'ccfed-api', namespace: ns, labels: apiLabels },
        spec: {
          type: 'ClusterIP',
          selector: apiLabels,
          ports: [{ name: 'api', protocol: 'TCP', port: API_PORT, targetPort: API_PORT }],
        },
      },
      parent,
    );
    this.apiUrl = pulumi.interpolate`http://${apiService.metadata.name}.${ns}.svc.cluster.local:${API_PORT}`;
    if (args.apiIngress) {
      apiIngress(
        `${name}-api-ingress`,
        {
          settings: args.apiIngress,
          namespace: ns,
          serviceName: apiService.metadata.name,
          port: API_PORT,
        },
        parent,
      );
    }
    this.apiPublicUrl = args.apiIngress ? `https://${args.apiIngress.host}` : undefined;

    this.networkPolicies = hubNetworkPolicies(
      name,
      {
        namespace: ns,
        network: args.network,
        routerPort: ROUTER_PORT,
        apiPort: API_PORT,
        routerSourceRanges,
        apiIngress: args.apiIngress !== undefined,
        siteGrpcPorts: args.topology.sites.map((s) => s.grpc.port),
      },
      parent,
    );

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
}
