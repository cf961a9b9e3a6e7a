import { kamailioConfig, kamailioSideFiles } from '@ccfed/services';
import { loadTopology, parseTopology, siteById, type Topology } from '@ccfed/topology';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkFederationKey,
  ContactCenterSite,
  WSS_TLS_DIR,
  type ContactCenterSiteArgs,
} from './contact-center-site.js';
import { CONTAINER_PATHS, KAMAILIO_KEY, TOPOLOGY_KEY } from './kube.js';
import { checkRecordingKeys, RECORDING_PATHS } from './site-recordings.js';
import {
  byMetadataName,
  container,
  envSecretRef,
  envValue,
  plainTexts,
  writeClusterTopology,
} from './testing/fixtures.js';
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

const ROUTER = 'ccfed-router.ccfed.svc.cluster.local:50051';
const BROKERS = ['kafka-0.kafka:9092', 'kafka-1.kafka:9092'];
const KAFKA_PASSWORD = 'site-kafka-pass-2b8e';
const FEDERATION_KEY = 'federation-key-0123456789abcdef0123456789abcdef';
const AGENT_SECRET = 'c2l0ZS1hZ2VudC1zZWNyZXQtMDEyMzQ1Njc4OWFi';
const NETWORK: ContactCenterSiteArgs['network'] = {
  kafka: { cidrs: ['10.5.0.0/24'], ports: [9093] },
  router: {
    namespace: 'ccfed',
    podLabels: { 'app.kubernetes.io/component': 'router' },
    ports: [50051],
  },
  control: { cidrs: ['10.9.0.0/16'] },
  phones: { cidrs: ['192.168.10.0/24'] },
};

function args(siteId: string, extra: Partial<ContactCenterSiteArgs> = {}): ContactCenterSiteArgs {
  return {
    topology,
    siteId,
    images: {
      ccfed: 'registry.test/ccfed:1.2.3',
      kamailio: 'registry.test/kamailio:5.8.4',
      rtpengine: 'registry.test/rtpengine:10.5',
    },
    namespace: 'ccfed',
    routerAddress: ROUTER,
    kafkaBrokers: BROKERS,
    tlsIssuer: { kind: 'ClusterIssuer', name: 'ccfed-federation-ca' },
    kafkaPassword: KAFKA_PASSWORD,
    federationKey: FEDERATION_KEY,
    agentSecret: AGENT_SECRET,
    network: NETWORK,
    ...extra,
  };
}

/** Declares one site and returns it with exactly the resources it declared. */
async function declare(siteId: string, extra: Partial<ContactCenterSiteArgs> = {}) {
  await settled();
  declared.length = 0;
  const site = new ContactCenterSite(`test-${siteId}`, args(siteId, extra));
  await promiseOf(site.workloadName);
  await settled();
  return { site, declared: [...declared] };
}

describe('ContactCenterSite', () => {
  it('runs each site of a three-site topology as one pod of Kamailio and the site agent', async () => {
    expect(topology.sites.map((s) => s.id)).toHaveLength(3);
    for (const s of topology.sites) {
      const { declared } = await declare(s.id);
      const workloads = ofType(declared, 'kubernetes:apps/v1:StatefulSet');
      expect(workloads).toHaveLength(1);
      const sts = workloads[0]!;
      expect((sts.inputs.metadata as any).name).toBe(`ccfed-site-${s.id}`);
      expect((sts.inputs.spec as any).replicas).toBe(1);
      expect((sts.inputs.spec as any).updateStrategy).toEqual({ type: 'RollingUpdate' });

      const agent = container(sts, 'site-agent');
      expect(agent.image).toBe('registry.test/ccfed:1.2.3');
      expect(agent.command).toEqual(['node', '--import', 'tsx', 'site-agent/src/index.ts']);
      expect(envValue(agent, 'CCFED_SITE')).toBe(s.id);
      expect(envValue(agent, 'CCFED_ROUTER')).toBe(ROUTER);
      expect(envValue(agent, 'CCFED_KAFKA_BROKERS')).toBe(BROKERS.join(','));
      expect(envValue(agent, 'CCFED_TOPIC_PREFIX')).toBe('ccfed');
      expect(envValue(agent, 'CCFED_TOPOLOGY')).toBe(CONTAINER_PATHS.topologyFile);
      // The outbox lives on the claim, so it survives a restart of the pod.
      expect(envValue(agent, 'CCFED_DATA_DIR')).toBe(CONTAINER_PATHS.siteDataDir);
      expect(agent.volumeMounts).toContainEqual({
        name: 'data',
        mountPath: CONTAINER_PATHS.siteDataDir,
      });
      const claims = (sts.inputs.spec as any).volumeClaimTemplates;
      expect(claims.map((c: any) => c.metadata.name)).toEqual(['data', 'recordings']);
      expect(claims[0].spec.resources.requests.storage).toBe('10Gi');
      expect(Number(envValue(agent, 'CCFED_OUTBOX_MAX_BYTES'))).toBeLessThan(10 * 1024 ** 3);
      expect(agent.ports).toEqual([{ name: 'grpc', containerPort: s.grpc.port, protocol: 'TCP' }]);
      expect(agent.readinessProbe).toEqual({ tcpSocket: { port: s.grpc.port }, periodSeconds: 5 });

      const kamailio = container(sts, 'kamailio');
      expect(kamailio.image).toBe('registry.test/kamailio:5.8.4');
      expect(kamailio.command?.slice(0, 2)).toEqual(['kamailio', '-f']);
      expect(kamailio.command?.[2]).toBe(`${CONTAINER_PATHS.kamailioDir}/${KAMAILIO_KEY}`);
      // Kamailio writes its pid file and sockets into a writable run directory.
      expect(kamailio.command).toContain(CONTAINER_PATHS.kamailioRunDir);
      expect(kamailio.volumeMounts).toContainEqual({
        name: 'kamailio-run',
        mountPath: CONTAINER_PATHS.kamailioRunDir,
      });
      expect(kamailio.ports?.map((p) => [p.containerPort, p.protocol])).toEqual([
        [s.sip.port, 'UDP'],
        [s.sip.port, 'TCP'],
      ]);
    }
  });

  it("ships the project's generated kamailio.cfg for the site and the topology it was made from", async () => {
    for (const s of topology.sites) {
      const { site, declared } = await declare(s.id);
      const maps = ofType(declared, 'kubernetes:core/v1:ConfigMap');
      const cfg = (byMetadataName(maps, `ccfed-site-${s.id}-kamailio`).inputs.data as any)[
        KAMAILIO_KEY
      ];
      expect(cfg).toBe(kamailioConfig(topology, s.id));
      expect(site.kamailioConfig).toBe(cfg);
      expect(cfg).toContain(`#!substdef "!SIP_PORT!${s.sip.port}!g"`);
      expect(cfg).toContain(`# Site ${s.id} (`);

      const shipped = (byMetadataName(maps, `ccfed-site-${s.id}-topology`).inputs.data as any)[
        TOPOLOGY_KEY
      ];
      expect(parseTopology(shipped, 'configmap')).toEqual(topology);

      const sts = ofType(declared, 'kubernetes:apps/v1:StatefulSet')[0]!;
      const volumes = (sts.inputs.spec as any).template.spec.volumes;
      // Beside kamailio.cfg, the files it reads: address.list and tls.cfg (the site's TLS
      // listener), and the agents' secret from a Secret, never from the ConfigMap.
      const data = byMetadataName(maps, `ccfed-site-${s.id}-kamailio`).inputs.data as any;
      const side = kamailioSideFiles(topology, s.id);
      expect(data['address.list']).toBe(side['address.list']);
      expect(data['tls.cfg']).toBe(side['tls.cfg']);
      expect(data['tls.cfg']).toContain('certificate = /etc/ccfed/tls/tls.crt');
      expect(data).not.toHaveProperty('agent-secret.cfg');
      expect(volumes).toContainEqual({
        name: 'kamailio',
        projected: {
          sources: [
            { configMap: { name: `ccfed-site-${s.id}-kamailio` } },
            {
              secret: {
                name: `ccfed-site-${s.id}-agent-secret`,
                items: [{ key: 'agent-secret.cfg', path: 'agent-secret.cfg', mode: 0o440 }],
              },
            },
          ],
        },
      });
      expect(volumes).toContainEqual({
        name: 'topology',
        configMap: { name: `ccfed-site-${s.id}-topology` },
      });
    }
  });

  it("exposes SIP over UDP and TCP on the site's port and the site agent's gRPC port", async () => {
    for (const s of topology.sites) {
      for (const type of ['LoadBalancer', 'NodePort'] as const) {
        const { declared } = await declare(s.id, { sipServiceType: type });
        const services = ofType(declared, 'kubernetes:core/v1:Service');
        expect(services).toHaveLength(3);
        for (const protocol of ['UDP', 'TCP']) {
          const svc = byMetadataName(services, `ccfed-site-${s.id}-sip-${protocol.toLowerCase()}`);
          const spec = svc.inputs.spec as any;
          expect(spec.type).toBe(type);
          expect(spec.ports).toEqual([
            {
              name: `sip-${protocol.toLowerCase()}`,
              protocol,
              port: s.sip.port,
              targetPort: s.sip.port,
            },
          ]);
          expect(spec.selector['ccfed.io/site']).toBe(s.id);
        }
        const grpc = byMetadataName(services, `ccfed-site-${s.id}-grpc`).inputs.spec as any;
        expect(grpc.type).toBe('ClusterIP');
        expect(grpc.ports).toEqual([
          { name: 'grpc', protocol: 'TCP', port: s.grpc.port, targetPort: s.grpc.port },
        ]);
      }
    }
  });

  it('keeps secret env, the Kafka password and the federation key in a Secret read by reference', async () => {
    const token = 'site-secret-6f1c0d7e9a';
    const { declared } = await declare('beijing', { secretEnv: { CCFED_EXAMPLE_TOKEN: token } });
    const secrets = ofType(declared, 'kubernetes:core/v1:Secret');
    // the site agent's, and Kamailio's agent secret
    expect(secrets).toHaveLength(2);
    const stringData = byMetadataName(secrets, 'ccfed-site-beijing-secrets').inputs.stringData;
    expect(isSecret(stringData)).toBe(true);
    expect(unwrapSecrets(stringData)).toEqual({
      CCFED_EXAMPLE_TOKEN: token,
      CCFED_KAFKA_PASSWORD: KAFKA_PASSWORD,
      CCFED_FEDERATION_KEY: FEDERATION_KEY,
      // the outbound dialer's, the same secret Kamailio checks the dialer's credentials with
      CCFED_SIP_SECRET: AGENT_SECRET,
    });

    const agent = container(ofType(declared, 'kubernetes:apps/v1:StatefulSet')[0]!, 'site-agent');
    for (const key of [
      'CCFED_EXAMPLE_TOKEN',
      'CCFED_KAFKA_PASSWORD',
      'CCFED_FEDERATION_KEY',
      'CCFED_SIP_SECRET',
    ]) {
      expect(envSecretRef(agent, key)).toEqual({ name: 'ccfed-site-beijing-secrets', key });
    }
    expect(envValue(agent, 'CCFED_KAFKA_USERNAME')).toBe('site-beijing');
    const texts = plainTexts(declared);
    expect(texts.length).toBeGreaterThan(5);
    for (const { where, text } of texts) {
      for (const secret of [token, KAFKA_PASSWORD, FEDERATION_KEY, AGENT_SECRET])
        expect(text, where).not.toContain(secret);
    }
  });

  it('runs on the node network, pinned to a node, when asked to', async () => {
    const pinned = await declare('beijing', {
      hostNetwork: true,
      nodeSelector: { 'ccfed.io/sip-node': 'beijing' },
    });
    const spec = (ofType(pinned.declared, 'kubernetes:apps/v1:StatefulSet')[0]!.inputs.spec as any)
      .template.spec;
    expect(spec.hostNetwork).toBe(true);
    expect(spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(spec.nodeSelector).toEqual({ 'ccfed.io/sip-node': 'beijing' });
    const plain = await declare('beijing');
    const plainSpec = (
      ofType(plain.declared, 'kubernetes:apps/v1:StatefulSet')[0]!.inputs.spec as any
    ).template.spec;
    expect(plainSpec.hostNetwork).toBeUndefined();
    expect(plainSpec.nodeSelector).toBeUndefined();
  });

  it('keeps recordings on a volume of their own, sealed with keys from a Secret mounted read-only', async () => {
    const keys = JSON.stringify({
      current: 'k2',
      keys: {
        k1: Buffer.alloc(32, 1).toString('base64'),
        k2: Buffer.alloc(32, 2).toString('base64'),
      },
    });
    const { declared } = await declare('guangzhou', {
      recordingKeys: keys,
      recordingVolumeGi: 200,
    });
    const sts = ofType(declared, 'kubernetes:apps/v1:StatefulSet')[0]!;
    const claim = (sts.inputs.spec as any).volumeClaimTemplates.find(
      (c: any) => c.metadata.name === 'recordings',
    );
    expect(claim.spec).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '200Gi' } },
    });
    const agent = container(sts, 'site-agent');
    expect(envValue(agent, 'CCFED_RECORDING_DIR')).toBe(RECORDING_PATHS.dir);
    expect(envValue(agent, 'CCFED_RECORDING_KEYS_FILE')).toBe(RECORDING_PATHS.keysFile);
    expect(agent.volumeMounts).toContainEqual({
      name: 'recordings',
      mountPath: RECORDING_PATHS.dir,
    });
    // The site agent drives the pod's rtpengine, whose pcap spool is on the same volume: a call
    // being recorded when the pod went away is finished from it by the next site agent.
    const site = siteById(topology, 'guangzhou');
    expect(envValue(agent, 'CCFED_RTPENGINE_NG')).toBe(`127.0.0.1:${site.media.ngPort}`);
    expect(envValue(agent, 'CCFED_RTPENGINE_RECORDING_DIR')).toBe(RECORDING_PATHS.spool);
    const rtpengine = (sts.inputs.spec as any).template.spec.initContainers.find(
      (c: any) => c.name === 'rtpengine',
    );
    expect(rtpengine.command).toContain(`--recording-dir=${RECORDING_PATHS.spool}`);
    expect(rtpengine.volumeMounts).toContainEqual({
      name: 'recordings',
      mountPath: RECORDING_PATHS.dir,
    });
    expect(agent.volumeMounts).toContainEqual({
      name: 'recording-keys',
      mountPath: RECORDING_PATHS.keysDir,
      readOnly: true,
    });
    // The keys are a Secret of their own, as a file the pod's group alone may read.
    const secret = byMetadataName(
      ofType(declared, 'kubernetes:core/v1:Secret'),
      'ccfed-site-guangzhou-recording-keys',
    );
    expect(isSecret(secret.inputs.stringData)).toBe(true);
    expect(unwrapSecrets(secret.inputs.stringData)).toEqual({ 'keys.json': keys });
    expect((sts.inputs.spec as any).template.spec.volumes).toContainEqual({
      name: 'recording-keys',
      secret: {
        secretName: 'ccfed-site-guangzhou-recording-keys',
        defaultMode: 0o440,
        items: [{ key: 'keys.json', path: 'keys.json' }],
      },
    });
    // Never a literal anywhere in the pod's env.
    expect(JSON.stringify(agent.env)).not.toContain(Buffer.alloc(32, 2).toString('base64'));
  });

  it('gives a site without recording keys the volume but no keys: it records nothing', async () => {
    const { declared } = await declare('beijing');
    const agent = container(ofType(declared, 'kubernetes:apps/v1:StatefulSet')[0]!, 'site-agent');
    expect(envValue(agent, 'CCFED_RECORDING_DIR')).toBe(RECORDING_PATHS.dir);
    expect(agent.env?.some((e) => e.name === 'CCFED_RECORDING_KEYS_FILE')).toBe(false);
    expect(agent.env?.some((e) => e.name === 'CCFED_RTPENGINE_NG')).toBe(false);
    expect(
      ofType(declared, 'kubernetes:core/v1:Secret').map((r) => (r.inputs.metadata as any).name),
    ).not.toContain('ccfed-site-beijing-recording-keys');
  });

  it('refuses recording keys the site agent would refuse, and an empty recordings volume', () => {
    expect(() => checkRecordingKeys('{"current":"k1","keys":{}}', 'beijing')).toThrow(
      'site beijing: recordingKeys: current: key "k1" is not in keys ()',
    );
    expect(() => checkRecordingKeys('not json', 'beijing')).toThrow(
      /site beijing: recordingKeys: not JSON/,
    );
    expect(
      () => new ContactCenterSite('bad-volume', args('beijing', { recordingVolumeGi: 0 })),
    ).toThrow('site beijing: recordingVolumeGi must be at least 1, got 0');
  });

  it('refuses a federation key shorter than 32 bytes', () => {
    expect(() => checkFederationKey('k'.repeat(31), 'beijing')).toThrow(
      'site beijing: the federation key has 31 bytes; at least 32 needed',
    );
    expect(checkFederationKey(FEDERATION_KEY, 'beijing')).toBe(FEDERATION_KEY);
  });

  it('creates the namespace only when asked to', async () => {
    const { site, declared } = await declare('shanghai', {
      namespace: 'ccfed-sh',
      createNamespace: true,
    });
    const ns = ofType(declared, 'kubernetes:core/v1:Namespace');
    expect(ns.map((n) => (n.inputs.metadata as any).name)).toEqual(['ccfed-sh']);
    expect(await promiseOf(site.namespace)).toBe('ccfed-sh');
    const again = await declare('beijing', { namespace: 'ccfed-bj' });
    expect(ofType(again.declared, 'kubernetes:core/v1:Namespace')).toEqual([]);
  });

  it('refuses a site the topology does not have, naming the known ones', () => {
    expect(() => new ContactCenterSite('test-nowhere', args('nowhere'))).toThrow(
      'unknown site "nowhere" (the topology has: shanghai, beijing, guangzhou)',
    );
  });

  it('refuses an evapi listener off loopback: Kamailio and the site agent share a pod', () => {
    const text = JSON.stringify(topology).replace(
      '"evapi":{"host":"127.0.0.1","port":8449}',
      '"evapi":{"host":"10.0.0.5","port":8449}',
    );
    const moved = parseTopology(text, 'moved.yaml');
    expect(
      () => new ContactCenterSite('test-moved', { ...args('beijing'), topology: moved }),
    ).toThrow('site beijing: evapi.host is 10.0.0.5');
  });

  it('refuses a secret env that is no env name or would replace what the deployment sets', () => {
    for (const key of [
      'CCFED_SITE',
      'ccfed-token',
      'CCFED_KAFKA_PASSWORD',
      'CCFED_FEDERATION_KEY',
      'CCFED_SIP_SECRET',
    ]) {
      expect(
        () =>
          new ContactCenterSite(`test-env-${key}`, args('beijing', { secretEnv: { [key]: 'x' } })),
      ).toThrow(
        `site beijing: secret env "${key}" must be an env var name the deployment does not set itself`,
      );
    }
  });

  it('refuses an empty broker list', () => {
    expect(
      () => new ContactCenterSite('test-nokafka', args('beijing', { kafkaBrokers: [] })),
    ).toThrow('site beijing: no Kafka brokers given');
  });

  it("runs the site's rtpengine in the pod: a sidecar Kamailio waits for (ng ping), ng on loopback, the topology's ports, prompts rendered at start into a volume the site agent and rtpengine share", async () => {
    for (const s of topology.sites) {
      const { declared } = await declare(s.id);
      const sts = ofType(declared, 'kubernetes:apps/v1:StatefulSet')[0]!;
      const pod = (sts.inputs.spec as any).template.spec;
      expect(pod.initContainers.map((c: any) => c.name)).toEqual(['prompts', 'rtpengine']);
      const [prompts, rtpengine] = pod.initContainers;
      expect(prompts.image).toBe('registry.test/ccfed:1.2.3');
      expect(prompts.command).toEqual([
        'node',
        '--import',
        'tsx',
        'services/src/media/prompts-cli.ts',
        CONTAINER_PATHS.promptsDir,
      ]);
      // A sidecar: it keeps running, and the containers start once its startup probe passes.
      expect(rtpengine.restartPolicy).toBe('Always');
      expect(rtpengine.image).toBe('registry.test/rtpengine:10.5');
      const probe = rtpengine.startupProbe.exec.command.join(' ');
      expect(probe).toContain(`http://127.0.0.1:${s.media.ngHttpPort}/ng`);
      expect(probe).toContain('"command":"ping"');
      expect(probe).toContain('grep -q pong');
      const cmd: string[] = rtpengine.command;
      expect(cmd[0]).toBe('rtpengine');
      expect(cmd).toContain('--table=-1');
      expect(cmd).toContain(`--listen-ng=127.0.0.1:${s.media.ngPort}`);
      expect(cmd).toContain(`--listen-http=127.0.0.1:${s.media.ngHttpPort}`);
      expect(cmd).toContain(`--dtmf-log-dest=127.0.0.1:${s.media.dtmfPort}`);
      expect(cmd).toContain(`--port-min=${s.media.rtpPorts.min}`);
      expect(cmd).toContain(`--port-max=${s.media.rtpPorts.max}`);
      // The cluster topology has no media address (sip.host 0.0.0.0): the pod's own.
      expect(cmd).toContain('--interface=$(POD_IP)');
      expect(rtpengine.env).toEqual([
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      ]);
      expect(rtpengine.volumeMounts).toContainEqual({
        name: 'prompts',
        mountPath: CONTAINER_PATHS.promptsDir,
        readOnly: true,
      });
      const agent = container(sts, 'site-agent');
      expect(envValue(agent, 'CCFED_PROMPTS_DIR')).toBe(CONTAINER_PATHS.promptsDir);
      expect(agent.volumeMounts).toContainEqual({
        name: 'prompts',
        mountPath: CONTAINER_PATHS.promptsDir,
      });
      expect(pod.volumes).toContainEqual({ name: 'prompts', emptyDir: {} });
    }
  });

  it("binds the pod's address and writes the site's media address into SDP when the topology gives one", async () => {
    const text = JSON.stringify(topology).replace(
      '"media":{"ngPort":2233',
      '"media":{"host":"203.0.113.7","ngPort":2233',
    );
    const withMedia = parseTopology(text, 'media.yaml');
    expect(withMedia.sites.find((x) => x.id === 'beijing')!.media.host).toBe('203.0.113.7');
    const { declared } = await declare('beijing', { topology: withMedia });
    const pod = (ofType(declared, 'kubernetes:apps/v1:StatefulSet')[0]!.inputs.spec as any).template
      .spec;
    const rtpengine = pod.initContainers.find((c: any) => c.name === 'rtpengine');
    expect(rtpengine.command).toContain('--interface=$(POD_IP)!203.0.113.7');
  });

  describe('browser agents', () => {
    /** The cluster topology with Beijing taking browser agents on wss at a public name. */
    function withWss(wssHost?: string): Topology {
      const doc = JSON.parse(JSON.stringify(topology));
      const bj = doc.sites.find((x: any) => x.id === 'beijing');
      bj.sip.wssPort = 5073;
      if (wssHost) bj.sip.wssHost = wssHost;
      return parseTopology(JSON.stringify(doc), 'wss.yaml');
    }
    const AGENTS = { cidrs: ['10.60.0.0/16'] };

    it("gives Kamailio the site's SIP secret as agent-secret.cfg from a Secret of its own", async () => {
      const { declared } = await declare('beijing');
      const secret = byMetadataName(
        ofType(declared, 'kubernetes:core/v1:Secret'),
        'ccfed-site-beijing-agent-secret',
      );
      const data = secret.inputs.stringData;
      expect(isSecret(data)).toBe(true);
      // exactly the file the generator writes, which Kamailio's auth_ephemeral reads
      expect(unwrapSecrets(data)).toEqual({
        'agent-secret.cfg': kamailioSideFiles(topology, 'beijing', undefined, AGENT_SECRET)[
          'agent-secret.cfg'
        ],
      });
      expect((unwrapSecrets(data) as any)['agent-secret.cfg']).toContain(
        `modparam("auth_ephemeral", "secret", "${AGENT_SECRET}")`,
      );
      const kamailio = container(
        ofType(declared, 'kubernetes:apps/v1:StatefulSet')[0]!,
        'kamailio',
      );
      expect(kamailio.volumeMounts).toContainEqual({
        name: 'kamailio',
        mountPath: CONTAINER_PATHS.kamailioDir,
        readOnly: true,
      });
    });

    it('refuses a site taking browser agents without its SIP secret', async () => {
      await settled();
      expect(
        () => new ContactCenterSite('no-secret', args('beijing', { agentSecret: undefined })),
      ).toThrow(/site beijing takes browser agents .*sipSecrets\.beijing/);
    });

    it("serves wss to the agents' networks only, with the operator's browser-trusted certificate", async () => {
      const t = withWss('sip.beijing.example.com');
      const { declared } = await declare('beijing', {
        topology: t,
        wssTlsSecretName: 'beijing-wss-tls',
        network: { ...NETWORK, agents: AGENTS },
      });
      const wss = byMetadataName(
        ofType(declared, 'kubernetes:core/v1:Service'),
        'ccfed-site-beijing-wss',
      ).inputs.spec as any;
      expect(wss.type).toBe('LoadBalancer');
      expect(wss.ports).toEqual([
        { name: 'sip-wss', protocol: 'TCP', port: 5073, targetPort: 5073 },
      ]);

      const sts = ofType(declared, 'kubernetes:apps/v1:StatefulSet')[0]!;
      const kamailio = container(sts, 'kamailio');
      expect(kamailio.ports).toContainEqual({
        name: 'sip-wss',
        containerPort: 5073,
        protocol: 'TCP',
      });
      expect(kamailio.volumeMounts).toContainEqual({
        name: 'wss-tls',
        mountPath: WSS_TLS_DIR,
        readOnly: true,
      });
      expect((sts.inputs.spec as any).template.spec.volumes).toContainEqual({
        name: 'wss-tls',
        secret: {
          secretName: 'beijing-wss-tls',
          defaultMode: 0o440,
          items: [
            { key: 'tls.crt', path: 'tls.crt' },
            { key: 'tls.key', path: 'tls.key' },
          ],
        },
      });
      // The wss listener presents the operator's certificate; peer sites still get the site's.
      const tls = (
        byMetadataName(
          ofType(declared, 'kubernetes:core/v1:ConfigMap'),
          'ccfed-site-beijing-kamailio',
        ).inputs.data as any
      )['tls.cfg'] as string;
      const wssProfile = tls.slice(tls.indexOf('[server:any]'), tls.indexOf('[server:default]'));
      expect(wssProfile).toContain('server_name = sip.beijing.example.com');
      expect(wssProfile).toContain(`certificate = ${WSS_TLS_DIR}/tls.crt`);
      expect(wssProfile).toContain('verify_client = off');
      expect(tls.slice(tls.indexOf('[server:default]'))).toContain(
        'certificate = /etc/ccfed/tls/tls.crt',
      );

      // Only the agents' networks reach wss.
      const policy = byMetadataName(
        ofType(declared, 'kubernetes:networking.k8s.io/v1:NetworkPolicy'),
        'ccfed-site-beijing',
      ).inputs.spec as any;
      const wssRules = policy.ingress.filter((r: any) =>
        r.ports?.some((p: any) => p.port === 5073),
      );
      expect(wssRules).toEqual([
        { from: [{ ipBlock: { cidr: '10.60.0.0/16' } }], ports: [{ protocol: 'TCP', port: 5073 }] },
      ]);
    });

    it('refuses wss without a certificate, or at an address no certificate names', async () => {
      await settled();
      expect(
        () =>
          new ContactCenterSite(
            'wss-no-cert',
            args('beijing', { topology: withWss('sip.beijing.example.com') }),
          ),
      ).toThrow(/sip.wssPort: give the TLS Secret .*siteWssTlsSecrets\.beijing/);
      expect(
        () =>
          new ContactCenterSite(
            'wss-ip',
            args('beijing', { topology: withWss('203.0.113.9'), wssTlsSecretName: 'x-tls' }),
          ),
      ).toThrow(/set sip.wssHost to the DNS name/);
    });
  });
});
