// The whole federation from one topology file: the central hub and one site per topology entry.
// Adding a site is adding it to the topology and running `pulumi up` again. Every namespace it
// deploys into first refuses all traffic (network-policy.ts); each workload is then allowed its own
// flows.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { DEFAULT_TOPIC_PREFIX } from '@ccfed/proto';
import { siteUsesWebSocket } from '@ccfed/services';
import { loadTopology, type Topology } from '@ccfed/topology';
import { CentralHub, ROUTER_PORT } from './central-hub.js';
import { ContactCenterSite } from './contact-center-site.js';
import { KafkaAccess, kafkaAdminProvider } from './kafka-access.js';
import { ccfedLabels } from './kube.js';
import { namespaceBaseline } from './network-policy.js';
import type { StackSettings } from './stack-config.js';

export interface Federation {
  readonly topology: Topology;
  readonly kafkaAccess: KafkaAccess;
  readonly hub: CentralHub;
  readonly sites: readonly ContactCenterSite[];
}

/**
 * Loads and validates the topology (a bad file throws TopologyError naming the file and each
 * problem), then declares the hub and every site: in the hub's cluster (the current kubeconfig
 * context), or in the cluster siteClusters names for it.
 */
export function deployFederation(settings: StackSettings): Federation {
  const topology = loadTopology(settings.topologyFile);
  const siteIds = new Set(topology.sites.map((s) => s.id));
  for (const [key, bySite] of [
    ['siteNodeSelectors', settings.siteNodeSelectors],
    ['siteClusters', settings.siteClusters],
    ['siteWssTlsSecrets', settings.security.siteWssTlsSecrets],
  ] as const) {
    for (const id of Object.keys(bySite)) {
      if (!siteIds.has(id)) {
        throw new Error(
          `config ${key} names site "${id}", which ${settings.topologyFile} does not have (it has: ${[...siteIds].join(', ')})`,
        );
      }
    }
  }
  const remote = Object.keys(settings.siteClusters);
  if (
    remote.length > 0 &&
    settings.routerExternalAddress === undefined &&
    settings.routerServiceType !== 'LoadBalancer'
  ) {
    throw new Error(
      `sites ${remote.join(', ')} run in other clusters, where the router's cluster address does not resolve: set routerServiceType to LoadBalancer or give routerExternalAddress`,
    );
  }
  const ccfedImage = `${settings.imageRepository}:${settings.imageTag}`;
  const namespace: pulumi.Input<string> = settings.createNamespace
    ? new k8s.core.v1.Namespace('ccfed', {
        metadata: { name: settings.namespace, labels: ccfedLabels('namespace') },
      }).metadata.name
    : settings.namespace;
  const kafkaAdmin = kafkaAdminProvider('kafka', {
    brokers: settings.kafkaAdminBrokers,
    ...settings.kafkaAdmin,
  });
  // Every principal's Kafka user and ACLs, from the table the local federation grants too.
  const kafkaAccess = new KafkaAccess(
    'kafka-access',
    {
      topicPrefix: settings.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
      siteIds: topology.sites.map((s) => s.id),
      passwords: settings.kafkaPasswords,
    },
    { providers: { kafka: kafkaAdmin } },
  );

  const sec = settings.security;
  for (const id of Object.keys(sec.network.sitePhones)) {
    if (!siteIds.has(id))
      throw new Error(
        `config network.sitePhones names site "${id}", which ${settings.topologyFile} does not have (it has: ${[...siteIds].join(', ')})`,
      );
  }
  if (remote.length > 0 && !sec.network.remoteRouter)
    throw new Error(
      `sites ${remote.join(', ')} run in other clusters: set network.remoteRouter to the router load balancer's address (CIDRs and port) so their NetworkPolicy lets them reach it`,
    );
  if (settings.siteHostNetwork && (sec.routerSourceRanges ?? []).length === 0)
    throw new Error(
      "sites run on their nodes' network (siteHostNetwork), so they reach the router from the nodes' addresses: list the nodes' CIDRs in routerSourceRanges",
    );
  if (topology.sites.some((s) => s.sip.wssPort !== undefined) && !sec.network.agentDesktops)
    throw new Error(
      "sites take browser agents on wss (sip.wssPort): set network.agentDesktops to the agents' networks, or no NetworkPolicy lets their browsers reach Kamailio",
    );
  // Each site's secret for its browser agents (a site's Kamailio gets its own; the API all).
  const sipSecretOf = (siteId: string) =>
    sec.sipSecrets?.apply((m) => {
      const secret = m[siteId];
      if (typeof secret !== 'string' || secret === '')
        throw new Error(
          `config sipSecrets has no secret for site ${siteId}, which takes browser agents (pulumi config set --secret --path 'sipSecrets.${siteId}' "$(openssl rand -base64 32)")`,
        );
      return secret;
    });
  namespaceBaseline('hub-namespace', namespace, {});

  const hub = new CentralHub(
    'hub',
    {
      topology,
      images: { ccfed: ccfedImage },
      namespace,
      kafkaBrokers: settings.kafkaBrokers,
      topicPrefix: settings.topicPrefix,
      topicReplicationFactor: settings.topicReplicationFactor,
      clickhouseUrl: sec.clickhouseUrl,
      clickhouseDatabase: settings.clickhouseDatabase,
      ...(settings.topicPartitions !== undefined && { topicPartitions: settings.topicPartitions }),
      ...(settings.clickhouseCluster && { clickhouseCluster: settings.clickhouseCluster }),
      clickhousePasswords: sec.clickhousePasswords,
      kafkaPasswords: {
        router: sec.kafkaPassword('router'),
        ingester: sec.kafkaPassword('ingester'),
        api: sec.kafkaPassword('api'),
      },
      tlsIssuer: sec.tlsIssuer,
      apiIngress: sec.apiIngress,
      routerSourceRanges: sec.routerSourceRanges,
      network: sec.network,
      resources: sec.resources,
      apiSecret: settings.apiSecret,
      apiUsersYaml: settings.apiUsersYaml,
      ...(sec.sipSecrets && { sipSecrets: sec.sipSecrets }),
      grafanaDir: settings.grafanaDir,
      ingesterReplicas: settings.ingesterReplicas,
      apiReplicas: settings.apiReplicas,
      routerServiceType: settings.routerServiceType,
      otlpEndpoint: settings.otlpEndpoint,
    },
    // Its processes log in as their users from the start.
    { providers: { kafka: kafkaAdmin }, dependsOn: [kafkaAccess] },
  );

  // One provider (and namespace) per other cluster, shared by the sites that run there.
  const clusters = new Map<string, { provider: k8s.Provider; namespace: pulumi.Input<string> }>();
  const clusterOf = (context: string) => {
    let cluster = clusters.get(context);
    if (!cluster) {
      const provider = new k8s.Provider(`cluster-${context}`, { context });
      const clusterNamespace: pulumi.Input<string> = settings.createNamespace
        ? new k8s.core.v1.Namespace(
            `ccfed-${context}`,
            { metadata: { name: settings.namespace, labels: ccfedLabels('namespace') } },
            { provider },
          ).metadata.name
        : settings.namespace;
      namespaceBaseline(`cluster-${context}-namespace`, clusterNamespace, { provider });
      cluster = { provider, namespace: clusterNamespace };
      clusters.set(context, cluster);
    }
    return cluster;
  };
  const externalRouter = settings.routerExternalAddress ?? hub.routerExternalAddress;

  const sites = topology.sites.map((site, index) => {
    const elsewhere = settings.siteClusters[site.id];
    const cluster = elsewhere ? clusterOf(elsewhere.kubeContext) : undefined;
    return new ContactCenterSite(
      `site-${site.id}`,
      {
        topology,
        siteId: site.id,
        images: {
          ccfed: ccfedImage,
          kamailio: settings.kamailioImage,
          rtpengine: settings.rtpengineImage,
        },
        namespace: cluster?.namespace ?? namespace,
        routerAddress: pairOrder(cluster ? externalRouter : hub.routerAddress, index),
        kafkaBrokers: elsewhere?.kafkaBrokers ?? settings.kafkaBrokers,
        topicPrefix: settings.topicPrefix,
        sipServiceType: settings.sipServiceType,
        hostNetwork: settings.siteHostNetwork,
        updateStrategy: settings.siteUpdateStrategy,
        nodeSelector: settings.siteNodeSelectors[site.id],
        dataVolumeGi: settings.siteDataVolumeGi,
        recordingVolumeGi: settings.siteRecordingVolumeGi,
        ...(sec.recordingKeys && { recordingKeys: sec.recordingKeys(site.id) }),
        storageClassName: settings.storageClassName,
        secretEnv: { CCFED_CALLER_HASH_KEY: settings.callerHashKey },
        tlsIssuer: sec.tlsIssuer,
        kafkaPassword: sec.kafkaPassword(`site-${site.id}`),
        federationKey: sec.federationKey,
        ...(siteUsesWebSocket(topology, site.id) &&
          sec.sipSecrets && { agentSecret: sipSecretOf(site.id) }),
        ...(sec.siteWssTlsSecrets[site.id] !== undefined && {
          wssTlsSecretName: sec.siteWssTlsSecrets[site.id],
        }),
        resources: sec.resources,
        network: {
          kafka: cluster ? (sec.network.remoteKafka ?? sec.network.kafka) : sec.network.kafka,
          // In the hub's cluster: the router's pods; elsewhere: its load balancer.
          router: cluster
            ? sec.network.remoteRouter!
            : {
                namespace: settings.namespace,
                podLabels: { 'app.kubernetes.io/component': 'router' },
                ports: [ROUTER_PORT],
              },
          control: sec.network.siteControl,
          agents: sec.network.agentDesktops,
          // The API streams recordings from the sites in its cluster; for a site elsewhere its
          // egress addresses belong in network.siteControl.
          ...(cluster
            ? {}
            : {
                api: {
                  namespace: settings.namespace,
                  podLabels: { 'app.kubernetes.io/component': 'api' },
                },
              }),
          phones: sec.network.sitePhones[site.id],
          telemetry: sec.network.telemetry,
        },
        otlpEndpoint: settings.otlpEndpoint,
      },
      {
        // Site agents publish to the topics the hub creates, as their own Kafka users.
        dependsOn: [...Object.values(hub.topics), kafkaAccess],
        ...(cluster ? { providers: { kubernetes: cluster.provider } } : {}),
      },
    );
  });
  return { topology, kafkaAccess, hub, sites };
}

/**
 * The router pair's addresses in the order site number `index` asks them: every other site
 * prefers the second router, so that both routers serve at once and one router's failure moves
 * only half the sites.
 */
function pairOrder(
  address: pulumi.Input<string> | undefined,
  index: number,
): pulumi.Output<string> | undefined {
  if (address === undefined) return undefined;
  return pulumi.output(address).apply((a) => {
    const list = a.split(',');
    return (index % 2 === 1 ? list.reverse() : list).join(',');
  });
}
