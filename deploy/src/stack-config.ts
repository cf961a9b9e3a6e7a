// The stack's settings, read once from Pulumi config (Pulumi.<stack>.yaml). Secret values are
// read with requireSecret, so they stay encrypted in the state and masked in the output.
import type * as pulumi from '@pulumi/pulumi';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { SipServiceType, SiteUpdateStrategy } from './contact-center-site.js';

export interface StackSettings {
  /** Topology file, resolved against the deploy/ directory when relative. */
  readonly topologyFile: string;
  readonly namespace: string;
  readonly createNamespace: boolean;
  /** `<imageRepository>:<imageTag>` is the ccfed image. */
  readonly imageRepository: string;
  readonly imageTag: string;
  readonly kamailioImage: string;
  /** Brokers as the pods reach them. */
  readonly kafkaBrokers: string[];
  /** Brokers as the machine running `pulumi up` reaches them (topic creation); default kafkaBrokers. */
  readonly kafkaAdminBrokers: string[];
  readonly topicPrefix?: string;
  readonly topicReplicationFactor?: number;
  readonly routerReplicas?: number;
  readonly ingesterReplicas?: number;
  readonly apiReplicas?: number;
  readonly clickhouseUrl: pulumi.Output<string>;
  readonly clickhouseDatabase?: string;
  readonly apiSecret: pulumi.Output<string>;
  readonly apiUsersYaml: pulumi.Output<string>;
  readonly sipServiceType?: SipServiceType;
  /** How a site pod picks up a new image or config (see ContactCenterSiteArgs.updateStrategy). */
  readonly siteUpdateStrategy?: SiteUpdateStrategy;
  /** Run site pods on the node's network (see ContactCenterSiteArgs.hostNetwork). */
  readonly siteHostNetwork: boolean;
  /** Site id → node labels that pin that site to the node owning its sip.host. */
  readonly siteNodeSelectors: Record<string, Record<string, string>>;
  readonly siteDataVolumeGi?: number;
  readonly storageClassName?: string;
  readonly grafanaDir?: string;
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
  const grafanaDir = config.get('grafanaDir');
  return {
    topologyFile: path(config.require('topologyFile')),
    namespace: config.require('namespace'),
    createNamespace: config.getBoolean('createNamespace') ?? true,
    imageRepository: config.require('imageRepository'),
    imageTag: config.require('imageTag'),
    kamailioImage: config.require('kamailioImage'),
    kafkaBrokers,
    kafkaAdminBrokers: config.get('kafkaAdminBrokers')
      ? brokers('kafkaAdminBrokers')
      : kafkaBrokers,
    topicPrefix: config.get('topicPrefix'),
    topicReplicationFactor: config.getNumber('topicReplicationFactor'),
    routerReplicas: config.getNumber('routerReplicas'),
    ingesterReplicas: config.getNumber('ingesterReplicas'),
    apiReplicas: config.getNumber('apiReplicas'),
    clickhouseUrl: config.requireSecret('clickhouseUrl'),
    clickhouseDatabase: config.get('clickhouseDatabase'),
    apiSecret: config.requireSecret('apiSecret'),
    apiUsersYaml: config.requireSecret('apiUsers'),
    sipServiceType: sipServiceType as SipServiceType | undefined,
    siteUpdateStrategy: updateStrategy as SiteUpdateStrategy | undefined,
    siteHostNetwork: config.getBoolean('siteHostNetwork') ?? false,
    siteNodeSelectors: nodeSelectors(config),
    siteDataVolumeGi: config.getNumber('siteDataVolumeGi'),
    storageClassName: config.get('storageClassName'),
    grafanaDir: grafanaDir !== undefined ? path(grafanaDir) : undefined,
  };
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
