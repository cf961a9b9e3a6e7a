import { allTopics, topicNames } from '@ccfed/proto';
import { kamailioConfig } from '@ccfed/services';
import { loadTopology } from '@ccfed/topology';
import * as pulumi from '@pulumi/pulumi';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployFederation } from './federation.js';
import { KAMAILIO_KEY } from './kube.js';
import { readStackSettings, type StackSettings } from './stack-config.js';
import {
  byMetadataName,
  container,
  containersOf,
  envValue,
  plainTexts,
  writeClusterTopology,
} from './testing/fixtures.js';
import {
  MOCK_LOAD_BALANCER_IP,
  unwrapSecrets,
  ofType,
  promiseOf,
  recordResources,
  settled,
  type DeclaredResource,
} from './testing/pulumi-mocks.js';

let declared: DeclaredResource[];
beforeAll(async () => {
  declared = await recordResources();
});

const SECRETS = {
  apiSecret: 'fed-api-secret-0a9d8c7b6e5f4a3b2c1d',
  apiUsers: 'users:\n  - username: hq\n    passwordHash: scrypt$fed-hash-44c2\n    role: hq\n',
  callerHashKey: 'fed-caller-hash-key-7d31e2',
  federationKey: 'fed-federation-key-5e2a0123456789abcdef0123456789',
  clickhousePasswords: {
    admin: 'fed-ch-admin-5b1e',
    ingester: 'fed-ch-ingester-77a0',
    analytics: 'fed-ch-analytics-2c9d',
    api: 'fed-ch-api-41f3',
    grafana: 'fed-ch-grafana-9e6b',
  },
  kafkaAdminPassword: 'fed-kafka-admin-3c9e81f0',
  // Every Kafka user KafkaAccess declares, at least 16 characters each.
  kafkaPasswords: Object.fromEntries(
    ['router', 'ingester', 'api', 'operator', 'crm', 'site-shanghai', 'site-beijing']
      .concat(['site-guangzhou', 'site-shenzhen'])
      .map((u) => [u, `fed-kafka-${u}-pass-77`]),
  ) as Record<string, string>,
  // Each site's secret for its browser agents' SIP credentials.
  sipSecrets: Object.fromEntries(
    ['shanghai', 'beijing', 'guangzhou', 'shenzhen'].map((s) => [s, `fedSipSecret${s}0123456789`]),
  ) as Record<string, string>,
};
const SECRET_VALUES = [
  SECRETS.apiSecret,
  'fed-hash-44c2',
  SECRETS.callerHashKey,
  SECRETS.federationKey,
  SECRETS.kafkaAdminPassword,
  ...Object.values(SECRETS.clickhousePasswords),
  ...Object.values(SECRETS.kafkaPasswords),
  ...Object.values(SECRETS.sipSecrets),
];
const SECRET_KEYS = [
  'ccfed:apiSecret',
  'ccfed:apiUsers',
  'ccfed:callerHashKey',
  'ccfed:federationKey',
  'ccfed:clickhousePasswords',
  'ccfed:kafkaAdminPassword',
  'ccfed:kafkaPasswords',
  'ccfed:recordingKeys',
  'ccfed:sipSecrets',
];
const NETWORK = {
  kafka: { namespace: 'ccfed-data', podLabels: { app: 'kafka' }, ports: [9093] },
  clickhouse: { namespace: 'ccfed-data', podLabels: { app: 'clickhouse' }, ports: [8123] },
  ingressController: { namespace: 'ingress-nginx' },
  telemetry: { namespace: 'observability', ports: [4318] },
  remoteRouter: { cidrs: ['10.20.0.0/24'], ports: [50051] },
  siteControl: { cidrs: ['10.9.0.0/16'] },
  sitePhones: { beijing: { cidrs: ['192.168.20.0/24'] } },
};

/** Stack config as `pulumi config set` (and `--secret`) would leave it. */
function setStackConfig(topologyFile: string, extra: Record<string, string> = {}): void {
  pulumi.runtime.setAllConfig(
    {
      'ccfed:topologyFile': topologyFile,
      'ccfed:namespace': 'ccfed-prod',
      'ccfed:imageRepository': 'registry.test/ccfed',
      'ccfed:imageTag': '2026.11.1',
      'ccfed:kamailioImage': 'registry.test/kamailio:5.8.4',
      'ccfed:rtpengineImage': 'registry.test/rtpengine:10.5',
      'ccfed:kafkaBrokers': JSON.stringify(['kafka-0.kafka:9092', 'kafka-1.kafka:9092']),
      'ccfed:clickhouseUrl': 'http://clickhouse.ccfed-data.svc:8123',
      'ccfed:apiSecret': SECRETS.apiSecret,
      'ccfed:apiUsers': SECRETS.apiUsers,
      'ccfed:callerHashKey': SECRETS.callerHashKey,
      'ccfed:federationKey': SECRETS.federationKey,
      'ccfed:clickhousePasswords': JSON.stringify(SECRETS.clickhousePasswords),
      'ccfed:kafkaAdminPassword': SECRETS.kafkaAdminPassword,
      'ccfed:kafkaPasswords': JSON.stringify(SECRETS.kafkaPasswords),
      'ccfed:sipSecrets': JSON.stringify(SECRETS.sipSecrets),
      'ccfed:tlsIssuer': JSON.stringify({ kind: 'ClusterIssuer', name: 'ccfed-federation-ca' }),
      'ccfed:apiIngress': JSON.stringify({
        host: 'ccfed.example.com',
        tlsSecretName: 'ccfed-example-com-tls',
        trustedProxyCidrs: ['10.42.0.0/16'],
      }),
      'ccfed:routerSourceRanges': JSON.stringify(['10.20.0.0/16']),
      'ccfed:network': JSON.stringify(NETWORK),
      ...extra,
    },
    SECRET_KEYS,
  );
}

function settings(topologyFile: string, extra: Record<string, string> = {}): StackSettings {
  setStackConfig(topologyFile, extra);
  return readStackSettings(new pulumi.Config('ccfed'), dirname(topologyFile));
}

async function declare(s: StackSettings) {
  await settled();
  declared.length = 0;
  const federation = deployFederation(s);
  await promiseOf(pulumi.all(federation.sites.map((x) => x.workloadName)));
  await settled();
  return { federation, declared: [...declared] };
}

describe('deployFederation', () => {
  it('declares the hub and one wired site per topology entry from stack config', async () => {
    const file = writeClusterTopology();
    const topology = loadTopology(file);
    const { federation, declared } = await declare(settings(file));
    const router = await promiseOf(federation.hub.routerAddress);
    expect(router).toBe(
      'ccfed-router-a.ccfed-prod.svc.cluster.local:50051,ccfed-router-b.ccfed-prod.svc.cluster.local:50051',
    );

    expect(ofType(declared, 'kubernetes:core/v1:Namespace').map((n) => n.name)).toEqual(['ccfed']);
    const workloads = ofType(declared, 'kubernetes:apps/v1:StatefulSet');
    expect(workloads.map((w) => (w.inputs.metadata as any).name).sort()).toEqual(
      topology.sites.map((s) => `ccfed-site-${s.id}`).sort(),
    );
    const services = ofType(declared, 'kubernetes:core/v1:Service');
    const maps = ofType(declared, 'kubernetes:core/v1:ConfigMap');
    for (const [i, s] of topology.sites.entries()) {
      const sts = byMetadataName(workloads, `ccfed-site-${s.id}`);
      expect((sts.inputs.metadata as any).namespace).toBe('ccfed-prod');
      const agent = container(sts, 'site-agent');
      expect(envValue(agent, 'CCFED_SITE')).toBe(s.id);
      // Both routers, every other site preferring router b: the pair shares the load.
      expect(envValue(agent, 'CCFED_ROUTER')).toBe(
        i % 2 === 0
          ? 'ccfed-router-a.ccfed-prod.svc.cluster.local:50051,ccfed-router-b.ccfed-prod.svc.cluster.local:50051'
          : 'ccfed-router-b.ccfed-prod.svc.cluster.local:50051,ccfed-router-a.ccfed-prod.svc.cluster.local:50051',
      );
      expect(envValue(agent, 'CCFED_KAFKA_BROKERS')).toBe('kafka-0.kafka:9092,kafka-1.kafka:9092');
      expect(container(sts, 'kamailio').image).toBe('registry.test/kamailio:5.8.4');
      for (const protocol of ['udp', 'tcp']) {
        const spec = byMetadataName(services, `ccfed-site-${s.id}-sip-${protocol}`).inputs
          .spec as any;
        expect(spec.ports[0].port).toBe(s.sip.port);
      }
      const grpc = byMetadataName(services, `ccfed-site-${s.id}-grpc`).inputs.spec as any;
      expect(grpc.ports[0].port).toBe(s.grpc.port);
      const cfg = (byMetadataName(maps, `ccfed-site-${s.id}-kamailio`).inputs.data as any)[
        KAMAILIO_KEY
      ];
      expect(cfg).toBe(kamailioConfig(topology, s.id));
    }

    // Every ccfed process runs the one image at the stack's tag.
    const ccfedContainers = [
      ...workloads.map((w) => container(w, 'site-agent')),
      ...ofType(declared, 'kubernetes:apps/v1:Deployment').flatMap(containersOf),
      ...ofType(declared, 'kubernetes:batch/v1:Job').flatMap(containersOf),
    ];
    // Three site agents; two routers, the ingester and the API; the migration.
    expect(ccfedContainers).toHaveLength(3 + 4 + 1);
    for (const c of ccfedContainers) expect(c.image).toBe('registry.test/ccfed:2026.11.1');

    const topics = ofType(declared, 'kafka:index/topic:Topic');
    expect(topics.map((t) => t.inputs.name).sort()).toEqual(allTopics(topicNames()).sort());
    const kafka = ofType(declared, 'pulumi:providers:kafka');
    expect(kafka.map((p) => p.inputs.bootstrapServers)).toEqual([
      JSON.stringify(['kafka-0.kafka:9092', 'kafka-1.kafka:9092']),
    ]);
  });

  it('gives each site its recording keys and lets the API reach the sites in its cluster for recordings', async () => {
    const file = writeClusterTopology();
    const topology = loadTopology(file);
    const keyFile = (n: number) => ({
      current: 'k1',
      keys: { k1: Buffer.alloc(32, n).toString('base64') },
    });
    const recordingKeys = Object.fromEntries(topology.sites.map((s, i) => [s.id, keyFile(i + 1)]));
    const { declared } = await declare(
      settings(file, {
        'ccfed:recordingKeys': JSON.stringify(recordingKeys),
        'ccfed:siteRecordingVolumeGi': '120',
        'ccfed:siteClusters': JSON.stringify({ beijing: { kubeContext: 'ccfed-north' } }),
        'ccfed:routerServiceType': 'LoadBalancer',
      }),
    );
    const secrets = ofType(declared, 'kubernetes:core/v1:Secret');
    const policies = ofType(declared, 'kubernetes:networking.k8s.io/v1:NetworkPolicy');
    for (const s of topology.sites) {
      const keys = byMetadataName(secrets, `ccfed-site-${s.id}-recording-keys`);
      expect(unwrapSecrets(keys.inputs.stringData)).toEqual({
        'keys.json': JSON.stringify(recordingKeys[s.id]),
      });
      const sts = byMetadataName(
        ofType(declared, 'kubernetes:apps/v1:StatefulSet'),
        `ccfed-site-${s.id}`,
      );
      const claim = (sts.inputs.spec as any).volumeClaimTemplates[1];
      expect(claim.spec.resources.requests.storage).toBe('120Gi');
      const ingress = (byMetadataName(policies, `ccfed-site-${s.id}`).inputs.spec as any).ingress;
      const fromApi = {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ccfed-prod' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/component': 'api' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: s.grpc.port }],
      };
      // A site in another cluster lists the API's egress in network.siteControl instead.
      if (s.id === 'beijing') expect(ingress).not.toContainEqual(fromApi);
      else expect(ingress).toContainEqual(fromApi);
    }
  });

  it("takes browser agents: each site's Kamailio its own SIP secret, the API all of them and the desktop, wss to the agents' networks", async () => {
    // Beijing takes browser agents on wss at a public name, with the operator's certificate.
    const file = writeClusterTopology();
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'sip: { host: 0.0.0.0, port: 5070, transport: udp, tlsPort: 5071, wsPort: 5072 }',
        'sip: { host: 0.0.0.0, port: 5070, transport: udp, tlsPort: 5071, wssPort: 5073, wssHost: sip.beijing.example.com }',
      ),
    );
    const { declared } = await declare(
      settings(file, {
        'ccfed:siteWssTlsSecrets': JSON.stringify({ beijing: 'beijing-wss-tls' }),
        'ccfed:network': JSON.stringify({ ...NETWORK, agentDesktops: { cidrs: ['10.60.0.0/16'] } }),
      }),
    );
    const secrets = ofType(declared, 'kubernetes:core/v1:Secret');
    for (const site of ['shanghai', 'beijing', 'guangzhou']) {
      const file = (
        unwrapSecrets(
          byMetadataName(secrets, `ccfed-site-${site}-agent-secret`).inputs.stringData,
        ) as any
      )['agent-secret.cfg'] as string;
      // its own secret, nobody else's
      expect(file).toContain(`"${SECRETS.sipSecrets[site]}"`);
      for (const other of Object.keys(SECRETS.sipSecrets).filter((x) => x !== site))
        expect(file).not.toContain(SECRETS.sipSecrets[other]);
    }
    // The API: every site's secret in a file from the hub's Secret, and the desktop it serves.
    const hubSecret = unwrapSecrets(
      byMetadataName(secrets, 'ccfed-hub-secrets').inputs.stringData,
    ) as Record<string, string>;
    expect(JSON.parse(hubSecret['sip-secrets.json']!)).toEqual(SECRETS.sipSecrets);
    const apiDeployment = byMetadataName(
      ofType(declared, 'kubernetes:apps/v1:Deployment'),
      'ccfed-api',
    );
    const api = container(apiDeployment, 'api');
    expect(envValue(api, 'CCFED_SIP_SECRETS_FILE')).toBe('/etc/ccfed/api/sip-secrets.json');
    expect(envValue(api, 'CCFED_DESKTOP_DIR')).toBe('/app/central/desktop/dist');
    const users = (apiDeployment.inputs.spec as any).template.spec.volumes.find(
      (v: any) => v.name === 'users',
    );
    expect(users.secret.items).toContainEqual({
      key: 'sip-secrets.json',
      path: 'sip-secrets.json',
    });
    expect(api.volumeMounts).toContainEqual({
      name: 'users',
      mountPath: '/etc/ccfed/api',
      readOnly: true,
    });
    // Beijing's wss: a Service, and only the agents' networks let in.
    const services = ofType(declared, 'kubernetes:core/v1:Service');
    expect((byMetadataName(services, 'ccfed-site-beijing-wss').inputs.spec as any).ports).toEqual([
      { name: 'sip-wss', protocol: 'TCP', port: 5073, targetPort: 5073 },
    ]);
    expect(services.map((r) => (r.inputs.metadata as any).name)).not.toContain(
      'ccfed-site-shanghai-wss',
    );
    const policy = byMetadataName(
      ofType(declared, 'kubernetes:networking.k8s.io/v1:NetworkPolicy'),
      'ccfed-site-beijing',
    ).inputs.spec as any;
    expect(policy.ingress).toContainEqual({
      from: [{ ipBlock: { cidr: '10.60.0.0/16' } }],
      ports: [{ protocol: 'TCP', port: 5073 }],
    });

    // wss without the agents' networks would be a listener nobody may reach.
    await settled();
    expect(() =>
      deployFederation(
        settings(file, {
          'ccfed:siteWssTlsSecrets': JSON.stringify({ beijing: 'beijing-wss-tls' }),
        }),
      ),
    ).toThrow(/network.agentDesktops/);
  });

  it('closes every namespace it deploys into, then gives each site its own Kafka user', async () => {
    const { declared } = await declare(
      settings(writeClusterTopology(), {
        'ccfed:siteClusters': JSON.stringify({ beijing: { kubeContext: 'ccfed-north' } }),
        'ccfed:routerServiceType': 'LoadBalancer',
      }),
    );
    const policies = ofType(declared, 'kubernetes:networking.k8s.io/v1:NetworkPolicy');
    const baseline = policies.filter((p) =>
      ['ccfed-default-deny', 'ccfed-allow-dns'].includes((p.inputs.metadata as any).name),
    );
    // The hub's namespace and the other cluster's, each closed and then given DNS.
    expect(
      baseline.map((p) => [
        (p.inputs.metadata as any).name,
        p.provider?.includes('cluster-') ?? false,
      ]),
    ).toEqual([
      ['ccfed-default-deny', false],
      ['ccfed-allow-dns', false],
      ['ccfed-default-deny', true],
      ['ccfed-allow-dns', true],
    ]);
    expect(baseline[0]!.inputs.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [],
    });
    const workloads = ofType(declared, 'kubernetes:apps/v1:StatefulSet');
    for (const id of ['shanghai', 'beijing', 'guangzhou']) {
      const agent = container(byMetadataName(workloads, `ccfed-site-${id}`), 'site-agent');
      expect(envValue(agent, 'CCFED_KAFKA_USERNAME')).toBe(`site-${id}`);
    }
    const secrets = ofType(declared, 'kubernetes:core/v1:Secret');
    const bj = byMetadataName(secrets, 'ccfed-site-beijing-secrets').inputs.stringData;
    expect(unwrapSecrets(bj)).toMatchObject({
      CCFED_KAFKA_PASSWORD: SECRETS.kafkaPasswords['site-beijing'],
      CCFED_FEDERATION_KEY: SECRETS.federationKey,
    });
    // The remote site reaches the router by its load balancer's range; the local ones by its pods.
    const sitePolicy = (id: string) =>
      byMetadataName(policies, `ccfed-site-${id}`).inputs.spec as any;
    expect(sitePolicy('beijing').egress[0]).toEqual({
      to: [{ ipBlock: { cidr: '10.20.0.0/24' } }],
      ports: [{ protocol: 'TCP', port: 50051 }],
    });
    expect(sitePolicy('shanghai').egress[0].to[0].podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/component': 'router' },
    });
  });

  it('scales the hub as the stack says, the routers always a pair of one replica each', async () => {
    const { declared } = await declare(
      settings(writeClusterTopology(), {
        'ccfed:ingesterReplicas': '3',
        'ccfed:apiReplicas': '2',
      }),
    );
    const deployments = ofType(declared, 'kubernetes:apps/v1:Deployment');
    expect(
      Object.fromEntries(
        deployments.map((d) => [(d.inputs.metadata as any).name, (d.inputs.spec as any).replicas]),
      ),
    ).toEqual({ 'ccfed-router-a': 1, 'ccfed-router-b': 1, 'ccfed-ingester': 3, 'ccfed-api': 2 });
    // A stack from before the pair says so instead of being silently ignored.
    expect(() => settings(writeClusterTopology(), { 'ccfed:routerReplicas': '2' })).toThrow(
      'config ccfed:routerReplicas is no longer read: the hub runs a router pair',
    );
  });

  it('never puts a secret from stack config into a ConfigMap or an env literal', async () => {
    const { declared } = await declare(settings(writeClusterTopology()));
    const texts = plainTexts(declared);
    expect(texts.length).toBeGreaterThan(20);
    for (const { where, text } of texts) {
      for (const secret of SECRET_VALUES) expect(text, where).not.toContain(secret);
    }
  });

  it('adds a site by adding it to the topology', async () => {
    const file = writeClusterTopology();
    const shenzhen = [
      '  - id: shenzhen',
      '    name: Shenzhen',
      '    timezone: Asia/Shanghai',
      '    sip: { host: 0.0.0.0, port: 5090, transport: udp }',
      '    evapi: { host: 127.0.0.1, port: 8451 }',
      '    grpc: { host: 0.0.0.0, port: 50064 }',
      '    fallback: { action: reject, code: 503, retryAfterSeconds: 30 }',
      '',
    ].join('\n');
    writeFileSync(file, readFileSync(file, 'utf8').replace('\nrouting:', `${shenzhen}\nrouting:`));
    // A new site is a new Kafka user too.
    const kafkaPasswords = { ...SECRETS.kafkaPasswords, 'site-shenzhen': 'fed-kafka-sz-4a8c' };
    const { declared } = await declare(
      settings(file, { 'ccfed:kafkaPasswords': JSON.stringify(kafkaPasswords) }),
    );
    const workloads = ofType(declared, 'kubernetes:apps/v1:StatefulSet');
    expect(workloads).toHaveLength(4);
    const sz = container(byMetadataName(workloads, 'ccfed-site-shenzhen'), 'site-agent');
    expect(envValue(sz, 'CCFED_SITE')).toBe('shenzhen');
    const sip = byMetadataName(
      ofType(declared, 'kubernetes:core/v1:Service'),
      'ccfed-site-shenzhen-sip-udp',
    );
    expect((sip.inputs.spec as any).ports[0].port).toBe(5090);
  });

  it('pins each site to its node when the stack says so, and refuses an unknown site there', async () => {
    const file = writeClusterTopology();
    const { declared } = await declare(
      settings(file, {
        'ccfed:siteHostNetwork': 'true',
        'ccfed:siteUpdateStrategy': 'OnDelete',
        'ccfed:siteNodeSelectors': JSON.stringify({ beijing: { 'ccfed.io/sip-node': 'bj-1' } }),
      }),
    );
    const workloads = ofType(declared, 'kubernetes:apps/v1:StatefulSet');
    const podSpec = (id: string) =>
      (byMetadataName(workloads, `ccfed-site-${id}`).inputs.spec as any).template.spec;
    expect(podSpec('beijing').nodeSelector).toEqual({ 'ccfed.io/sip-node': 'bj-1' });
    expect(podSpec('shanghai').nodeSelector).toBeUndefined();
    expect(workloads.every((w) => (w.inputs.spec as any).template.spec.hostNetwork)).toBe(true);
    expect(workloads.map((w) => (w.inputs.spec as any).updateStrategy)).toEqual(
      workloads.map(() => ({ type: 'OnDelete' })),
    );

    const lhasa = JSON.stringify({ lhasa: { 'ccfed.io/sip-node': 'x' } });
    expect(() => deployFederation(settings(file, { 'ccfed:siteNodeSelectors': lhasa }))).toThrow(
      `config siteNodeSelectors names site "lhasa", which ${file} does not have (it has: shanghai, beijing, guangzhou)`,
    );
    expect(() => settings(file, { 'ccfed:siteNodeSelectors': '["beijing"]' })).toThrow(
      'config ccfed:siteNodeSelectors must map site ids to label maps',
    );
  });

  it('runs the sites siteClusters names in their own clusters, reaching the router over its load balancer', async () => {
    const file = writeClusterTopology();
    const { federation, declared } = await declare(
      settings(file, {
        'ccfed:routerServiceType': 'LoadBalancer',
        'ccfed:siteClusters': JSON.stringify({
          beijing: { kubeContext: 'ccfed-north', kafkaBrokers: ['kafka.bj.example:9092'] },
          guangzhou: { kubeContext: 'ccfed-south' },
        }),
      }),
    );
    const external = await promiseOf(federation.hub.routerExternalAddress!);
    expect(external).toBe(`${MOCK_LOAD_BALANCER_IP}:50051,${MOCK_LOAD_BALANCER_IP}:50051`);
    for (const r of ['a', 'b']) {
      const router = byMetadataName(
        ofType(declared, 'kubernetes:core/v1:Service'),
        `ccfed-router-${r}`,
      );
      expect((router.inputs.spec as any).type).toBe('LoadBalancer');
    }

    const providers = ofType(declared, 'pulumi:providers:kubernetes');
    expect(providers.map((p) => [p.name, p.inputs.context])).toEqual([
      ['cluster-ccfed-north', 'ccfed-north'],
      ['cluster-ccfed-south', 'ccfed-south'],
    ]);
    // Each other cluster gets the namespace too.
    const namespaces = ofType(declared, 'kubernetes:core/v1:Namespace');
    expect(namespaces.map((n) => [n.name, n.provider?.includes('cluster-') ?? false])).toEqual([
      ['ccfed', false],
      ['ccfed-ccfed-north', true],
      ['ccfed-ccfed-south', true],
    ]);

    const workloads = ofType(declared, 'kubernetes:apps/v1:StatefulSet');
    const expected = {
      shanghai: {
        router:
          'ccfed-router-a.ccfed-prod.svc.cluster.local:50051,ccfed-router-b.ccfed-prod.svc.cluster.local:50051',
        kafka: 'kafka-0.kafka:9092,kafka-1.kafka:9092',
        cluster: undefined,
      },
      beijing: { router: external, kafka: 'kafka.bj.example:9092', cluster: 'cluster-ccfed-north' },
      guangzhou: {
        router: external,
        kafka: 'kafka-0.kafka:9092,kafka-1.kafka:9092',
        cluster: 'cluster-ccfed-south',
      },
    };
    for (const [id, want] of Object.entries(expected)) {
      const sts = byMetadataName(workloads, `ccfed-site-${id}`);
      const agent = container(sts, 'site-agent');
      expect(envValue(agent, 'CCFED_ROUTER'), id).toBe(want.router);
      expect(envValue(agent, 'CCFED_KAFKA_BROKERS'), id).toBe(want.kafka);
      if (want.cluster) expect(sts.provider, id).toContain(want.cluster);
      else expect(sts.provider ?? '', id).not.toContain('cluster-');
    }
  });

  it('refuses sites in other clusters when nothing there can reach the router', () => {
    const file = writeClusterTopology();
    const clusters = JSON.stringify({ beijing: { kubeContext: 'ccfed-north' } });
    expect(() => deployFederation(settings(file, { 'ccfed:siteClusters': clusters }))).toThrow(
      "sites beijing run in other clusters, where the router's cluster address does not resolve: set routerServiceType to LoadBalancer or give routerExternalAddress",
    );
    const lhasa = JSON.stringify({ lhasa: { kubeContext: 'x' } });
    expect(() =>
      deployFederation(
        settings(file, {
          'ccfed:siteClusters': lhasa,
          'ccfed:routerExternalAddress': 'router.example:50051',
        }),
      ),
    ).toThrow('config siteClusters names site "lhasa"');
    expect(() =>
      settings(file, { 'ccfed:siteClusters': JSON.stringify({ beijing: { context: 'x' } }) }),
    ).toThrow('config ccfed:siteClusters must map site ids to {kubeContext, kafkaBrokers?}');
  });

  it('gives remote sites the router address the stack names', async () => {
    const { declared } = await declare(
      settings(writeClusterTopology(), {
        'ccfed:routerExternalAddress': 'router-a.ccfed.example:50051,router-b.ccfed.example:50051',
        'ccfed:siteClusters': JSON.stringify({ beijing: { kubeContext: 'ccfed-north' } }),
      }),
    );
    const workloads = ofType(declared, 'kubernetes:apps/v1:StatefulSet');
    const agent = container(byMetadataName(workloads, 'ccfed-site-beijing'), 'site-agent');
    // Beijing, the second site, prefers the second router.
    expect(envValue(agent, 'CCFED_ROUTER')).toBe(
      'router-b.ccfed.example:50051,router-a.ccfed.example:50051',
    );
    expect(() =>
      settings(writeClusterTopology(), { 'ccfed:routerExternalAddress': 'router.example' }),
    ).toThrow(
      'config ccfed:routerExternalAddress must be host:port of each router of the pair, comma-separated (host:port,host:port), got router.example',
    );
    const router = byMetadataName(ofType(declared, 'kubernetes:core/v1:Service'), 'ccfed-router-a');
    expect((router.inputs.spec as any).type).toBe('ClusterIP');
  });

  it("points the site agents, the router and the ingester at the stack's OTLP endpoint, if any", async () => {
    const endpoint = 'http://otel-collector.observability:4318';
    const telemetryTargets = (list: DeclaredResource[]) => [
      ...ofType(list, 'kubernetes:apps/v1:StatefulSet').map((w) => container(w, 'site-agent')),
      ...[
        ['ccfed-router-a', 'router'],
        ['ccfed-router-b', 'router'],
        ['ccfed-ingester', 'ingester'],
      ].map(([name, component]) =>
        container(byMetadataName(ofType(list, 'kubernetes:apps/v1:Deployment'), name!), component!),
      ),
    ];
    const file = writeClusterTopology();
    const on = await declare(settings(file, { 'ccfed:otlpEndpoint': endpoint }));
    const targets = telemetryTargets(on.declared);
    expect(targets).toHaveLength(3 + 3);
    for (const c of targets)
      expect(envValue(c, 'OTEL_EXPORTER_OTLP_ENDPOINT'), c.name).toBe(endpoint);

    const off = await declare(settings(file));
    for (const c of telemetryTargets(off.declared))
      expect(
        c.env?.some((e) => e.name.startsWith('OTEL_')),
        c.name,
      ).toBe(false);
    expect(() => settings(file, { 'ccfed:otlpEndpoint': 'otel-collector:4318' })).toThrow(
      'config ccfed:otlpEndpoint must be an http(s) URL such as http://otel-collector:4318, got otel-collector:4318',
    );
  });

  it('stops on an invalid topology file, naming the file and what is wrong', () => {
    const file = writeClusterTopology();
    writeFileSync(file, readFileSync(file, 'utf8').replace('hqSite: shanghai', 'hqSite: lhasa'));
    expect(() => deployFederation(settings(file))).toThrow(
      `invalid topology file ${file}:\n  ${file}: federation.hqSite: unknown site "lhasa" (known: shanghai, beijing, guangzhou)`,
    );
    const missing = join(dirname(file), 'nope.yaml');
    expect(() => deployFederation(settings(missing))).toThrow(
      `invalid topology file ${missing}:\n  ${missing}: cannot read the file (ENOENT)`,
    );
  });
});

describe('readStackSettings', () => {
  it('resolves relative paths against the deploy directory and keeps secrets secret', async () => {
    setStackConfig('topology.yaml', { 'ccfed:grafanaDir': '../dashboards/out' });
    const s = readStackSettings(new pulumi.Config('ccfed'), '/srv/ccfed/deploy');
    expect(s.topologyFile).toBe('/srv/ccfed/deploy/topology.yaml');
    expect(s.grafanaDir).toBe('/srv/ccfed/dashboards/out');
    for (const secret of [
      s.apiSecret,
      s.apiUsersYaml,
      s.callerHashKey,
      s.security.federationKey,
      s.security.clickhousePasswords.api,
      s.security.kafkaPassword('site-beijing'),
      s.kafkaAdmin.password,
      s.kafkaPasswords,
    ] as pulumi.Output<unknown>[]) {
      expect(await pulumi.isSecret(secret)).toBe(true);
    }
    expect(await promiseOf(s.security.kafkaPassword('site-beijing'))).toBe(
      SECRETS.kafkaPasswords['site-beijing'],
    );
    expect(s.security.clickhouseUrl).toBe('http://clickhouse.ccfed-data.svc:8123');
    expect(await promiseOf(s.apiUsersYaml)).toBe(SECRETS.apiUsers);
    expect(s.imageTag).toBe('2026.11.1');
    expect(s.createNamespace).toBe(true);
    expect(s.kafkaAdminBrokers).toEqual(s.kafkaBrokers);
  });

  it('names the key that is missing or malformed', () => {
    const file = writeClusterTopology();
    expect(() => settings(file, { 'ccfed:kafkaBrokers': JSON.stringify(['kafka:x']) })).toThrow(
      'config ccfed:kafkaBrokers must be a non-empty list of host:port strings, got ["kafka:x"]',
    );
    expect(() => settings(file, { 'ccfed:siteUpdateStrategy': 'Recreate' })).toThrow(
      'config ccfed:siteUpdateStrategy must be one of RollingUpdate, OnDelete, got Recreate',
    );
    expect(() => settings(file, { 'ccfed:sipServiceType': 'ClusterIP' })).toThrow(
      'config ccfed:sipServiceType must be one of LoadBalancer, NodePort, got ClusterIP',
    );
    setStackConfig(file);
    const { 'ccfed:namespace': _dropped, ...withoutNamespace } = pulumi.runtime.allConfig();
    pulumi.runtime.setAllConfig(withoutNamespace, []);
    expect(() => readStackSettings(new pulumi.Config('ccfed'), '/')).toThrow(
      "Missing required configuration variable 'ccfed:namespace'",
    );
  });
});
