// The stack's settings, read once from Pulumi config (Pulumi.<stack>.yaml). Secret values are
// read with requireSecret, so they stay encrypted in the state and masked in the output.
import type * as pulumi from '@pulumi/pulumi';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ClickHouseClusterShape } from './clickhouse-cluster.js';
import type { SipServiceType, SiteUpdateStrategy } from './contact-center-site.js';
import { readSecuritySettings, type SecuritySettings } from './stack-security.js';

export interface StackSettings {
  /** Topology file, resolved against the deploy/ directory when relative. */
  readonly topologyFile: string;
  readonly namespace: string;
  readonly createNamespace: boolean;
  /** `<imageRepository>:<imageTag>` is the ccfed image. */
  readonly imageRepository: string;
  readonly imageTag: string;
  readonly kamailioImage: string;
  /** rtpengine (images/rtpengine.Dockerfile), beside Kamailio in every site's pod. */
  readonly rtpengineImage: string;
  /** Brokers as the pods reach them. */
  readonly kafkaBrokers: string[];
  /** Brokers as the machine running `pulumi up` reaches them (topic creation); default kafkaBrokers. */
  readonly kafkaAdminBrokers: string[];
  /**
   * How `pulumi up` logs in to Kafka to create topics, users and ACLs: the super user (default
   * `admin`, password from the secret kafkaAdminPassword) over TLS, trusting kafkaCaCert (PEM;
   * the system's roots without it).
   */
  readonly kafkaAdmin: {
    readonly username: string;
    readonly password: pulumi.Output<string>;
    readonly caCert?: string;
  };
  /** Each Kafka user's password, by user name (secret kafkaPasswords, a JSON object). */
  readonly kafkaPasswords: pulumi.Output<Record<string, string>>;
  readonly topicPrefix?: string;
  readonly topicReplicationFactor?: number;
  readonly ingesterReplicas?: number;
  readonly apiReplicas?: number;
  readonly clickhouseDatabase?: string;
  /** Kafka partitions per event topic; DEFAULT_TOPIC_PARTITIONS when unset. */
  readonly topicPartitions?: number;
  /** The ClickHouse cluster's shape (clickhouse-cluster.ts); one server when unset. */
  readonly clickhouseCluster?: ClickHouseClusterShape;
  readonly apiSecret: pulumi.Output<string>;
  readonly apiUsersYaml: pulumi.Output<string>;
  readonly callerHashKey: pulumi.Output<string>;
  readonly sipServiceType?: SipServiceType;
  /** How a site pod picks up a new image or config (see ContactCenterSiteArgs.updateStrategy). */
  readonly siteUpdateStrategy?: SiteUpdateStrategy;
  /** Run site pods on the node's network (see ContactCenterSiteArgs.hostNetwork). */
  readonly siteHostNetwork: boolean;
  /** Sites that run in another Kubernetes cluster than the hub, by site id. */
  readonly siteClusters: Record<string, SiteCluster>;
  /** ClusterIP, or LoadBalancer when sites in other clusters must reach the router. */
  readonly routerServiceType?: 'ClusterIP' | 'LoadBalancer';
  /**
   * host:port,host:port remote sites use for the router pair (e.g. DNS names on the two routers'
   * load balancers).
   */
  readonly routerExternalAddress?: string;
  /** Site id → node labels that pin that site to the node owning its sip.host. */
  readonly siteNodeSelectors: Record<string, Record<string, string>>;
  readonly siteDataVolumeGi?: number;
  /** Size of each site's recordings volume (GiB); default 50. */
  readonly siteRecordingVolumeGi?: number;
  readonly storageClassName?: string;
  readonly grafanaDir?: string;
  /** OTLP/HTTP endpoint every ccfed process exports telemetry to; none without it. */
  readonly otlpEndpoint?: string;
  /** Logins, keys, certificates, the API's Ingress and the NetworkPolicies' peers. */
  readonly security: SecuritySettings;
}

/** Where a site runs when not in the hub's cluster. */
export interface SiteCluster {
  /** kubeconfig context of the site's cluster. */
  readonly kubeContext: string;
  /** Kafka brokers as that cluster's pods reach them; default kafkaBrokers. */
  readonly kafkaBrokers?: string[];
}

const SIP_SERVICE_TYPES: readonly SipServiceType[] = ['LoadBalancer', 'NodePort'];
const UPDATE_STRATEGIES: readonly SiteUpdateStrategy[] = ['RollingUpdate', 'OnDelete'];

/** Reads the stack's config; a missing or malformed key throws naming the key. */
export function readStackSettings(config: pulumi.Config, baseDir: string): StackSettings {
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const brokers = (key: string) => {
    const list = config.requireObject<unknown>(key);
    if (!Array.isArray(list) || list.length === 0 || !list.every(isBroker)) {
      throw new Error(
        `config ${config.name}:${key} must be a non-empty list of host:port strings, got ${JSON.stringify(list)}`,
      );
    }
    return list as string[];
  };
  const kafkaBrokers = brokers('kafkaBrokers');
  const sipServiceType = config.get('sipServiceType');
  if (
    sipServiceType !== undefined &&
    !SIP_SERVICE_TYPES.includes(sipServiceType as SipServiceType)
  ) {
    throw new Error(
      `config ${config.name}:sipServiceType must be one of ${SIP_SERVICE_TYPES.join(', ')}, got ${sipServiceType}`,
    );
  }
  const updateStrategy = config.get('siteUpdateStrategy');
  if (
    updateStrategy !== undefined &&
    !UPDATE_STRATEGIES.includes(updateStrategy as SiteUpdateStrategy)
  ) {
    throw new Error(
      `config ${config.name}:siteUpdateStrategy must be one of ${UPDATE_STRATEGIES.join(', ')}, got ${updateStrategy}`,
    );
  }
  const routerServiceType = config.get('routerServiceType');
  if (
    routerServiceType !== undefined &&
    !['ClusterIP', 'LoadBalancer'].includes(routerServiceType)
  ) {
    throw new Error(
      `config ${config.name}:routerServiceType must be ClusterIP or LoadBalancer, got ${routerServiceType}`,
    );
  }
  const routerExternalAddress = config.get('routerExternalAddress');
  if (
    routerExternalAddress !== undefined &&
    !routerExternalAddress.split(',').every((a) => isBroker(a))
  ) {
    throw new Error(
      `config ${config.name}:routerExternalAddress must be host:port of each router of the pair, comma-separated (host:port,host:port), got ${routerExternalAddress}`,
    );
  }
  if (config.get('routerReplicas') !== undefined)
    throw new Error(
      `config ${config.name}:routerReplicas is no longer read: the hub runs a router pair (ccfed-router-a and ccfed-router-b, one replica each, docs/deploy.md); remove it from the stack`,
    );
  const otlpEndpoint = config.get('otlpEndpoint');
  if (otlpEndpoint !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(otlpEndpoint)) {
    throw new Error(
      `config ${config.name}:otlpEndpoint must be an http(s) URL such as http://otel-collector:4318, got ${otlpEndpoint}`,
    );
  }
  const grafanaDir = config.get('grafanaDir');
  return {
    topologyFile: path(config.require('topologyFile')),
    namespace: config.require('namespace'),
    createNamespace: config.getBoolean('createNamespace') ?? true,
    imageRepository: config.require('imageRepository'),
    imageTag: config.require('imageTag'),
    kamailioImage: config.require('kamailioImage'),
    rtpengineImage: config.require('rtpengineImage'),
    kafkaBrokers,
    kafkaAdminBrokers: config.get('kafkaAdminBrokers')
      ? brokers('kafkaAdminBrokers')
      : kafkaBrokers,
    kafkaAdmin: {
      username: config.get('kafkaAdminUser') ?? 'admin',
      password: config.requireSecret('kafkaAdminPassword'),
      caCert: config.get('kafkaCaCert'),
    },
    kafkaPasswords: config.requireSecretObject<Record<string, string>>('kafkaPasswords'),
    topicPrefix: config.get('topicPrefix'),
    topicReplicationFactor: config.getNumber('topicReplicationFactor'),
    ingesterReplicas: config.getNumber('ingesterReplicas'),
    apiReplicas: config.getNumber('apiReplicas'),
    clickhouseDatabase: config.get('clickhouseDatabase'),
    topicPartitions: config.getNumber('topicPartitions'),
    clickhouseCluster: config.getObject<ClickHouseClusterShape>('clickhouseCluster'),
    apiSecret: config.requireSecret('apiSecret'),
    apiUsersYaml: config.requireSecret('apiUsers'),
    // HMAC key of the caller hash, the same for every site (site-agent/src/config.ts).
    callerHashKey: config.requireSecret('callerHashKey'),
    sipServiceType: sipServiceType as SipServiceType | undefined,
    siteUpdateStrategy: updateStrategy as SiteUpdateStrategy | undefined,
    siteHostNetwork: config.getBoolean('siteHostNetwork') ?? false,
    siteNodeSelectors: nodeSelectors(config),
    siteClusters: siteClusters(config),
    routerServiceType: routerServiceType as 'ClusterIP' | 'LoadBalancer' | undefined,
    routerExternalAddress,
    siteDataVolumeGi: config.getNumber('siteDataVolumeGi'),
    siteRecordingVolumeGi: config.getNumber('siteRecordingVolumeGi'),
    storageClassName: config.get('storageClassName'),
    grafanaDir: grafanaDir !== undefined ? path(grafanaDir) : undefined,
    otlpEndpoint,
    security: readSecuritySettings(config),
  };
}

function siteClusters(config: pulumi.Config): Record<string, SiteCluster> {
  const value = config.getObject<unknown>('siteClusters') ?? {};
  const fail = (): never => {
    throw new Error(
      `config ${config.name}:siteClusters must map site ids to {kubeContext, kafkaBrokers?}, e.g. {"beijing": {"kubeContext": "ccfed-beijing", "kafkaBrokers": ["kafka.bj:9092"]}}, got ${JSON.stringify(value)}`,
    );
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail();
  for (const cluster of Object.values(value)) {
    if (typeof cluster !== 'object' || cluster === null || Array.isArray(cluster)) return fail();
    const { kubeContext, kafkaBrokers, ...rest } = cluster as Record<string, unknown>;
    if (typeof kubeContext !== 'string' || kubeContext === '' || Object.keys(rest).length > 0)
      return fail();
    if (
      kafkaBrokers !== undefined &&
      !(Array.isArray(kafkaBrokers) && kafkaBrokers.length > 0 && kafkaBrokers.every(isBroker))
    )
      return fail();
  }
  return value as Record<string, SiteCluster>;
}

function nodeSelectors(config: pulumi.Config): Record<string, Record<string, string>> {
  const value = config.getObject<unknown>('siteNodeSelectors') ?? {};
  const ok =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every(
      (labels) =>
        typeof labels === 'object' &&
        labels !== null &&
        !Array.isArray(labels) &&
        Object.values(labels).every((v) => typeof v === 'string'),
    );
  if (!ok) {
    throw new Error(
      `config ${config.name}:siteNodeSelectors must map site ids to label maps, e.g. {"beijing": {"kubernetes.io/hostname": "bj-node-1"}}, got ${JSON.stringify(value)}`,
    );
  }
  return value as Record<string, Record<string, string>>;
}

function isBroker(b: unknown): boolean {
  return typeof b === 'string' && /^[\w.-]+:\d{1,5}$/.test(b);
}

/** The deploy/ directory, against which relative paths in stack config are resolved. */
export const DEPLOY_DIR = dirname(dirname(new URL(import.meta.url).pathname));
