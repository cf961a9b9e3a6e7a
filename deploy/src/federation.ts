// The whole federation from one topology file: the central hub and one site per topology entry.
// Adding a site is adding it to the topology and running `pulumi up` again.
import * as k8s from '@pulumi/kubernetes';
import * as kafka from '@pulumi/kafka';
import type * as pulumi from '@pulumi/pulumi';
import { loadTopology, type Topology } from '@ccfed/topology';
import { CentralHub } from './central-hub.js';
import { ContactCenterSite } from './contact-center-site.js';
import { ccfedLabels } from './kube.js';
import type { StackSettings } from './stack-config.js';

export interface Federation {
  readonly topology: Topology;
  readonly hub: CentralHub;
  readonly sites: readonly ContactCenterSite[];
}

/**
 * Loads and validates the topology (a bad file throws TopologyError naming the file and each
 * problem), then declares the hub and every site in one namespace.
 */
export function deployFederation(settings: StackSettings): Federation {
  const topology = loadTopology(settings.topologyFile);
  const siteIds = new Set(topology.sites.map((s) => s.id));
  for (const id of Object.keys(settings.siteNodeSelectors)) {
    if (!siteIds.has(id)) {
      throw new Error(
        `config siteNodeSelectors names site "${id}", which ${settings.topologyFile} does not have (it has: ${[...siteIds].join(', ')})`,
      );
    }
  }
  const ccfedImage = `${settings.imageRepository}:${settings.imageTag}`;
  const namespace: pulumi.Input<string> = settings.createNamespace
    ? new k8s.core.v1.Namespace('ccfed', {
        metadata: { name: settings.namespace, labels: ccfedLabels('namespace') },
      }).metadata.name
    : settings.namespace;
  const kafkaAdmin = new kafka.Provider('kafka', {
    bootstrapServers: settings.kafkaAdminBrokers,
  });

  const hub = new CentralHub(
    'hub',
    {
      topology,
      images: { ccfed: ccfedImage },
      namespace,
      kafkaBrokers: settings.kafkaBrokers,
      topicPrefix: settings.topicPrefix,
      topicReplicationFactor: settings.topicReplicationFactor,
      clickhouseUrl: settings.clickhouseUrl,
      clickhouseDatabase: settings.clickhouseDatabase,
      apiSecret: settings.apiSecret,
      apiUsersYaml: settings.apiUsersYaml,
      grafanaDir: settings.grafanaDir,
      routerReplicas: settings.routerReplicas,
      ingesterReplicas: settings.ingesterReplicas,
      apiReplicas: settings.apiReplicas,
    },
    { providers: { kafka: kafkaAdmin } },
  );

  const sites = topology.sites.map(
    (site) =>
      new ContactCenterSite(
        `site-${site.id}`,
        {
          topology,
          siteId: site.id,
          images: { ccfed: ccfedImage, kamailio: settings.kamailioImage },
          namespace,
          routerAddress: hub.routerAddress,
          kafkaBrokers: settings.kafkaBrokers,
          topicPrefix: settings.topicPrefix,
          sipServiceType: settings.sipServiceType,
          hostNetwork: settings.siteHostNetwork,
          updateStrategy: settings.siteUpdateStrategy,
          nodeSelector: settings.siteNodeSelectors[site.id],
          dataVolumeGi: settings.siteDataVolumeGi,
          storageClassName: settings.storageClassName,
        },
        // Site agents publish to the topics the hub creates.
        { dependsOn: Object.values(hub.topics) },
      ),
  );
  return { topology, hub, sites };
}
