// One contact-center site on Kubernetes: its Kamailio, its rtpengine and its site agent in one pod
// (evapi and rtpengine's ng control stay on localhost), the agent's outbox on a persistent volume,
// the queue prompts rendered at pod start into a volume both the site agent and rtpengine read,
// SIP and gRPC Services, and the
// topology and generated kamailio.cfg as ConfigMaps. The site proves who it is with its own
// certificate (spiffe://ccfed/site/<site>, from cert-manager), logs in to Kafka as site-<site>,
// signs its overflow context with the federation key, and its pod's NetworkPolicy allows only
// the site's flows (site-network.ts).
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { DEFAULT_TOPIC_PREFIX } from '@ccfed/proto';
import {
  DEFAULT_KAMAILIO_TLS,
  DEFAULT_TUNING,
  KAMAILIO_AGENT_SECRET_FILE,
  kamailioConfig,
  kamailioSideFiles,
  siteRtpengineArgs,
  siteUsesWebSocket,
  type KamailioTuning,
} from '@ccfed/services';
import { mediaHostOf, siteById, type Site, type Topology } from '@ccfed/topology';
import { isIP } from 'node:net';
import { stringify } from 'yaml';
import { principalCertificate, type IssuerRef } from './identity.js';
import {
  CONTAINER_PATHS,
  CONTAINER_SECURITY,
  KAMAILIO_KEY,
  POD_SECURITY,
  TLS_FILES,
  TOPOLOGY_KEY,
  ccfedCommand,
  ccfedLabels,
  configHash,
  plainEnv,
  resolveNamespace,
  secretData,
  secretEnv,
  tlsEnv,
  tlsVolume,
  type Images,
} from './kube.js';
import { resourcesFor, type ResourceOverrides } from './resources.js';
import { siteNetworkPolicy, type SiteNetwork } from './site-network.js';
import {
  RECORDING_PATHS,
  RECORDINGS_VOLUME,
  siteRecordings,
  type SiteRecordingArgs,
} from './site-recordings.js';

/** The federation key signs the X-CC-* overflow context: HMAC-SHA256 wants at least 32 bytes. */
export const MIN_FEDERATION_KEY_BYTES = 32;

/** `key` when it is long enough to sign with; throws naming the site otherwise. */
export function checkFederationKey(key: string, siteId: string): string {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes < MIN_FEDERATION_KEY_BYTES)
    throw new Error(
      `site ${siteId}: the federation key has ${bytes} bytes; at least ${MIN_FEDERATION_KEY_BYTES} needed (openssl rand -base64 48)`,
    );
  return key;
}

/** How callers and other sites reach the site's Kamailio from outside the cluster. */
export type SipServiceType = 'LoadBalancer' | 'NodePort';
export type SiteUpdateStrategy = 'RollingUpdate' | 'OnDelete';

export interface ContactCenterSiteArgs extends SiteRecordingArgs {
  /** The validated federation topology (loadTopology); the site's ports and config come from it. */
  readonly topology: Topology;
  /** Id of this site in the topology. */
  readonly siteId: string;
  readonly images: Images;
  /** Namespace to deploy into; created when createNamespace is true. */
  readonly namespace: pulumi.Input<string>;
  readonly createNamespace?: boolean;
  /** host:port of the central router; without it the site routes every call locally. */
  readonly routerAddress?: pulumi.Input<string>;
  /** host:port list of the Kafka brokers the site agent publishes to. */
  readonly kafkaBrokers: pulumi.Input<string>[];
  /** Defaults to `ccfed`, the production prefix. */
  readonly topicPrefix?: string;
  /** Default LoadBalancer. */
  readonly sipServiceType?: SipServiceType;
  /**
   * Run the pod in the node's network namespace. Kamailio listens on the topology's sip.host,
   * which is also where other sites send overflow INVITEs, so the pod must be able to bind the
   * site's SIP address: with hostNetwork and a nodeSelector for the node that owns it, it can.
   * On a one-node development cluster it also lets a loopback topology work as in local runs.
   */
  readonly hostNetwork?: boolean;
  /** Pins the site to the node(s) whose address is the site's sip.host. */
  readonly nodeSelector?: Record<string, string>;
  /**
   * RollingUpdate (default): a new image or config restarts the pod at once, cutting the calls
   * in flight there. OnDelete: the pod keeps running until an operator deletes it, e.g. after
   * draining the site (SiteAgent.SetDraining) and waiting for its calls to end.
   */
  readonly updateStrategy?: SiteUpdateStrategy;
  /** Size of the volume holding the site agent's event outbox, in GiB. Default 10. */
  readonly dataVolumeGi?: number;
  readonly storageClassName?: pulumi.Input<string>;
  readonly kamailioTuning?: KamailioTuning;
  /** cert-manager issuer of the federation CA: the site's certificate comes from it. */
  readonly tlsIssuer: IssuerRef;
  /** The site's Kafka password (SASL/SCRAM user `site-<site>`). */
  readonly kafkaPassword: pulumi.Input<string>;
  /** CCFED_FEDERATION_KEY: signs and checks the overflow context between sites. */
  readonly federationKey: pulumi.Input<string>;
  /**
   * Where the site's neighbours are, for its NetworkPolicy. Ignored with hostNetwork: a pod on the
   * node's network is outside NetworkPolicy, and the node's firewall must hold the same flows.
   */
  readonly network: SiteNetwork;
  readonly resources?: ResourceOverrides;
  /**
   * Env vars of the site agent whose values are secret. They go into a Kubernetes Secret and
   * reach the container by secretKeyRef, never as a literal.
   */
  readonly secretEnv?: Record<string, pulumi.Input<string>>;
  /**
   * OTLP endpoint (e.g. http://otel-collector:4318) the processes export traces and metrics to,
   * as OTEL_EXPORTER_OTLP_ENDPOINT; without it they export nothing (docs/operations.md, Telemetry).
   */
  readonly otlpEndpoint?: pulumi.Input<string>;
  /**
   * The site's secret for its browser agents' ephemeral SIP credentials (base64, at least 16
   * characters; the central API holds every site's): required when the site takes browser agents
   * (sip.wsPort or sip.wssPort). It reaches Kamailio as agent-secret.cfg from a Secret.
   */
  readonly agentSecret?: pulumi.Input<string>;
  /**
   * A TLS Secret (tls.crt, tls.key) the operator supplies in the site's namespace: a
   * browser-trusted certificate for sip.wssHost, which the wss listener presents. Required with
   * sip.wssPort.
   */
  readonly wssTlsSecretName?: string;
}

/** Where Kamailio finds the wss listener's browser-trusted certificate. */
export const WSS_TLS_DIR = '/etc/ccfed/wss-tls';

/** The outbox may fill this share of its volume; the rest is headroom for compaction. */
const OUTBOX_SHARE_OF_VOLUME = 0.8;

/** Kamailio, the site agent and their Services for one site of the topology. */
export class ContactCenterSite extends pulumi.ComponentResource {
  readonly siteId: string;
  readonly namespace: pulumi.Output<string>;
  /** Name of the StatefulSet running Kamailio and the site agent. */
  readonly workloadName: pulumi.Output<string>;
  readonly sipUdpService: k8s.core.v1.Service;
  readonly sipTcpService: k8s.core.v1.Service;
  /** SIP over secure WebSocket for browser agents, when the site has sip.wssPort. */
  readonly wssService: k8s.core.v1.Service | undefined;
  readonly grpcService: k8s.core.v1.Service;
  /** The kamailio.cfg the site runs, exactly as services/src/kamailio/generate.ts wrote it. */
  readonly kamailioConfig: string;

  constructor(name: string, args: ContactCenterSiteArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ccfed:deploy:ContactCenterSite', name, {}, opts);
    // Everything here throws naming what is wrong (unknown site, a value Kamailio cannot take,
    // a bad argument) before any resource exists.
    const site = siteById(args.topology, args.siteId);
    checkPodLayout(site, args.hostNetwork ?? false);
    checkBrowserAgents(site, args);
    const cfg = kamailioConfig(args.topology, site.id, args.kamailioTuning ?? DEFAULT_TUNING);
    const wssPort = site.sip.wssPort;
    const wssCertificate =
      wssPort !== undefined
        ? { cert: `${WSS_TLS_DIR}/${TLS_FILES.cert}`, key: `${WSS_TLS_DIR}/${TLS_FILES.key}` }
        : undefined;
    // address.list and tls.cfg beside kamailio.cfg; the agent secret is not config: it goes into
    // a Secret of its own below.
    const sideFiles = Object.fromEntries(
      Object.entries(
        kamailioSideFiles(args.topology, site.id, DEFAULT_KAMAILIO_TLS, undefined, wssCertificate),
      ).filter(([file]) => file !== KAMAILIO_AGENT_SECRET_FILE),
    );
    const topologyYaml = stringify(args.topology);
    const dataGi = args.dataVolumeGi ?? 10;
    if (!(dataGi >= 1))
      throw new Error(`site ${site.id}: dataVolumeGi must be at least 1, got ${dataGi}`);
    if (args.kafkaBrokers.length === 0) throw new Error(`site ${site.id}: no Kafka brokers given`);
    const secrets: Record<string, pulumi.Input<string>> = {
      ...args.secretEnv,
      CCFED_KAFKA_PASSWORD: args.kafkaPassword,
      CCFED_FEDERATION_KEY: pulumi
        .output(args.federationKey)
        .apply((key) => checkFederationKey(key, site.id)),
      // The outbound dialer signs in to its own Kamailio as _dialer with credentials it makes from
      // the secret Kamailio checks agents' credentials with (docs/dialer.md).
      ...(args.agentSecret !== undefined ? { CCFED_SIP_SECRET: args.agentSecret } : {}),
    };
    const secretKeys = Object.keys(secrets);
    const plain = {
      CCFED_TOPOLOGY: CONTAINER_PATHS.topologyFile,
      CCFED_SITE: site.id,
      CCFED_DATA_DIR: CONTAINER_PATHS.siteDataDir,
      CCFED_KAFKA_BROKERS: pulumi.all(args.kafkaBrokers).apply((b) => b.join(',')),
      CCFED_KAFKA_USERNAME: `site-${site.id}`,
      CCFED_TOPIC_PREFIX: args.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
      CCFED_OUTBOX_MAX_BYTES: String(Math.floor(dataGi * 1024 ** 3 * OUTBOX_SHARE_OF_VOLUME)),
      CCFED_PROMPTS_DIR: CONTAINER_PATHS.promptsDir,
      ...(args.routerAddress !== undefined ? { CCFED_ROUTER: args.routerAddress } : {}),
      ...(args.otlpEndpoint !== undefined
        ? { OTEL_EXPORTER_OTLP_ENDPOINT: args.otlpEndpoint }
        : {}),
    };
    for (const key of Object.keys(args.secretEnv ?? {})) {
      if (
        !ENV_NAME.test(key) ||
        key in plain ||
        key === 'CCFED_KAFKA_PASSWORD' ||
        key === 'CCFED_FEDERATION_KEY' ||
        key === 'CCFED_SIP_SECRET'
      )
        throw new Error(
          `site ${site.id}: secret env ${JSON.stringify(key)} must be an env var name the deployment does not set itself`,
        );
    }

    this.siteId = site.id;
    this.kamailioConfig = cfg;
    const parent = { parent: this };
    const base = `ccfed-site-${site.id}`;
    const labels = ccfedLabels('site', { 'ccfed.io/site': site.id });
    const ns = resolveNamespace(`${name}-ns`, args.namespace, args.createNamespace, this);
    this.namespace = ns;

    const topologyMap = new k8s.core.v1.ConfigMap(
      `${name}-topology`,
      {
        metadata: { name: `${base}-topology`, namespace: ns, labels },
        data: { [TOPOLOGY_KEY]: topologyYaml },
      },
      parent,
    );
    const kamailioMap = new k8s.core.v1.ConfigMap(
      `${name}-kamailio`,
      {
        metadata: { name: `${base}-kamailio`, namespace: ns, labels },
        data: { [KAMAILIO_KEY]: cfg, ...sideFiles },
      },
      parent,
    );
    const agentSecret =
      args.agentSecret !== undefined
        ? new k8s.core.v1.Secret(
            `${name}-agent-secret`,
            {
              metadata: { name: `${base}-agent-secret`, namespace: ns, labels },
              type: 'Opaque',
              stringData: secretData({
                [KAMAILIO_AGENT_SECRET_FILE]: pulumi
                  .output(args.agentSecret)
                  .apply(
                    (secret) =>
                      kamailioSideFiles(args.topology, site.id, DEFAULT_KAMAILIO_TLS, secret)[
                        KAMAILIO_AGENT_SECRET_FILE
                      ]!,
                  ),
              }),
            },
            parent,
          )
        : undefined;

    const secret = new k8s.core.v1.Secret(
      `${name}-secrets`,
      {
        metadata: { name: `${base}-secrets`, namespace: ns, labels },
        type: 'Opaque',
        stringData: secretData(secrets),
      },
      parent,
    );
    const tlsSecret = `${base}-tls`;
    principalCertificate(
      `${name}-certificate`,
      {
        principal: { kind: 'site', site: site.id },
        secretName: tlsSecret,
        namespace: ns,
        issuer: args.tlsIssuer,
        ...(isIP(site.sip.host) === 0 && !LOOPBACK.has(site.sip.host)
          ? { dnsNames: [site.sip.host] }
          : {}),
        labels,
      },
      parent,
    );
    const tls = tlsVolume(tlsSecret);
    // Recordings stay at the site, sealed per tenant, on a volume of their own (site-recordings.ts).
    const recording = siteRecordings(
      name,
      site.id,
      {
        ...args,
        namespace: ns,
        labels,
        rtpengineNg: `127.0.0.1:${site.media.ngPort}`,
        ...(args.storageClassName !== undefined && { storageClassName: args.storageClassName }),
      },
      parent,
    );

    const env = [
      ...plainEnv({ ...plain, ...recording.env }),
      ...secretEnv(secret.metadata.name, Object.fromEntries(secretKeys.map((k) => [k, k]))),
      ...tlsEnv(),
    ];

    const grpcServiceName = `${base}-grpc`;
    const workload = new k8s.apps.v1.StatefulSet(
      `${name}-workload`,
      {
        metadata: { name: base, namespace: ns, labels },
        spec: {
          // One site agent per site: it owns the site's ACD state and its outbox.
          replicas: 1,
          updateStrategy: { type: args.updateStrategy ?? 'RollingUpdate' },
          serviceName: grpcServiceName,
          selector: { matchLabels: labels },
          template: {
            metadata: {
              labels,
              annotations: {
                'ccfed.io/config-hash': configHash(
                  topologyYaml,
                  cfg,
                  ...Object.values(sideFiles),
                  args.wssTlsSecretName ?? '',
                ),
              },
            },
            spec: {
              ...(args.hostNetwork
                ? // Service names (router, Kafka) must still resolve from the node's network.
                  { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }
                : {}),
              ...(args.nodeSelector ? { nodeSelector: args.nodeSelector } : {}),
              securityContext: POD_SECURITY,
              // Nothing in a site pod talks to the Kubernetes API.
              automountServiceAccountToken: false,
              initContainers: [
                {
                  // The prompts every queued caller may hear, rendered from text (espeak-ng, sox)
                  // and the image's music on hold: nothing is downloaded.
                  name: 'prompts',
                  image: args.images.ccfed,
                  workingDir: '/app',
                  command: [
                    ...ccfedCommand('services/src/media/prompts-cli.ts'),
                    CONTAINER_PATHS.promptsDir,
                  ],
                  resources: resourcesFor('site-agent', args.resources),
                  securityContext: CONTAINER_SECURITY,
                  volumeMounts: [{ name: 'prompts', mountPath: CONTAINER_PATHS.promptsDir }],
                },
                rtpengineSidecar(args, site),
              ],
              containers: [
                {
                  name: 'kamailio',
                  image: args.images.kamailio,
                  // -DD: foreground, so Kubernetes owns the process; -E: log to stderr.
                  command: [
                    'kamailio',
                    '-f',
                    CONTAINER_PATHS.kamailioFile,
                    '-DD',
                    '-E',
                    '-Y',
                    CONTAINER_PATHS.kamailioRunDir,
                    '-P',
                    `${CONTAINER_PATHS.kamailioRunDir}/kamailio.pid`,
                  ],
                  ports: [
                    { name: 'sip-udp', containerPort: site.sip.port, protocol: 'UDP' },
                    { name: 'sip-tcp', containerPort: site.sip.port, protocol: 'TCP' },
                    ...(wssPort !== undefined
                      ? [{ name: 'sip-wss', containerPort: wssPort, protocol: 'TCP' }]
                      : []),
                  ],
                  resources: resourcesFor('kamailio', args.resources),
                  securityContext: CONTAINER_SECURITY,
                  volumeMounts: [
                    { name: 'kamailio', mountPath: CONTAINER_PATHS.kamailioDir, readOnly: true },
                    { name: 'kamailio-run', mountPath: CONTAINER_PATHS.kamailioRunDir },
                    // The site's certificate, for SIP over TLS on its peer links.
                    tls.mount,
                    ...(wssPort !== undefined
                      ? [{ name: 'wss-tls', mountPath: WSS_TLS_DIR, readOnly: true }]
                      : []),
                  ],
                },
                {
                  name: 'site-agent',
                  image: args.images.ccfed,
                  workingDir: '/app',
                  command: ccfedCommand('site-agent/src/index.ts'),
                  env,
                  ports: [{ name: 'grpc', containerPort: site.grpc.port, protocol: 'TCP' }],
                  resources: resourcesFor('site-agent', args.resources),
                  securityContext: CONTAINER_SECURITY,
                  // The gRPC server starts last, after the outbox and the evapi link are set up.
                  ...(LOOPBACK.has(site.grpc.host)
                    ? {}
                    : {
                        readinessProbe: {
                          tcpSocket: { port: site.grpc.port },
                          periodSeconds: 5,
                        },
                      }),
                  volumeMounts: [
                    { name: 'topology', mountPath: CONTAINER_PATHS.topologyDir, readOnly: true },
                    { name: 'data', mountPath: CONTAINER_PATHS.siteDataDir },
                    ...recording.agentMounts,
                    // announcements are assembled beside the prompts, where rtpengine reads them
                    { name: 'prompts', mountPath: CONTAINER_PATHS.promptsDir },
                    tls.mount,
                  ],
                },
              ],
              volumes: [
                { name: 'topology', configMap: { name: topologyMap.metadata.name } },
                // kamailio.cfg and its side files, and the browser agents' secret readable by the
                // pod's group only (the kamailio user is in it through fsGroup).
                {
                  name: 'kamailio',
                  projected: {
                    sources: [
                      { configMap: { name: kamailioMap.metadata.name } },
                      ...(agentSecret
                        ? [
                            {
                              secret: {
                                name: agentSecret.metadata.name,
                                items: [
                                  {
                                    key: KAMAILIO_AGENT_SECRET_FILE,
                                    path: KAMAILIO_AGENT_SECRET_FILE,
                                    mode: 0o440,
                                  },
                                ],
                              },
                            },
                          ]
                        : []),
                    ],
                  },
                },
                // The browser-trusted certificate of the wss listener, from the operator.
                ...(wssPort !== undefined
                  ? [
                      {
                        name: 'wss-tls',
                        secret: {
                          secretName: args.wssTlsSecretName!,
                          defaultMode: 0o440,
                          items: [TLS_FILES.cert, TLS_FILES.key].map((f) => ({
                            key: f,
                            path: f,
                          })),
                        },
                      },
                    ]
                  : []),
                // Kamailio's runtime directory (pid file, sockets); the image has none writable.
                { name: 'kamailio-run', emptyDir: {} },
                { name: 'prompts', emptyDir: {} },
                tls.volume,
                ...recording.volumes,
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: 'data', labels },
              spec: {
                accessModes: ['ReadWriteOnce'],
                storageClassName: args.storageClassName,
                resources: { requests: { storage: `${dataGi}Gi` } },
              },
            },
            recording.volumeClaim,
          ],
        },
      },
      parent,
    );
    this.workloadName = workload.metadata.name;

    const sipType = args.sipServiceType ?? 'LoadBalancer';
    const sipService = (protocol: 'UDP' | 'TCP') =>
      new k8s.core.v1.Service(
        `${name}-sip-${protocol.toLowerCase()}`,
        {
          metadata: { name: `${base}-sip-${protocol.toLowerCase()}`, namespace: ns, labels },
          spec: {
            type: sipType,
            // SIP routing and the callers' addresses in the logs need the real source address.
            externalTrafficPolicy: 'Local',
            selector: labels,
            ports: [
              {
                name: `sip-${protocol.toLowerCase()}`,
                protocol,
                port: site.sip.port,
                targetPort: site.sip.port,
              },
            ],
          },
        },
        parent,
      );
    this.sipUdpService = sipService('UDP');
    this.sipTcpService = sipService('TCP');
    // Browser agents' SIP over secure WebSocket, from the agents' networks (site-network.ts).
    this.wssService =
      wssPort !== undefined
        ? new k8s.core.v1.Service(
            `${name}-wss`,
            {
              metadata: { name: `${base}-wss`, namespace: ns, labels },
              spec: {
                type: sipType,
                externalTrafficPolicy: 'Local',
                selector: labels,
                ports: [{ name: 'sip-wss', protocol: 'TCP', port: wssPort, targetPort: wssPort }],
              },
            },
            parent,
          )
        : undefined;
    this.grpcService = new k8s.core.v1.Service(
      `${name}-grpc`,
      {
        metadata: { name: grpcServiceName, namespace: ns, labels },
        spec: {
          type: 'ClusterIP',
          selector: labels,
          ports: [
            { name: 'grpc', protocol: 'TCP', port: site.grpc.port, targetPort: site.grpc.port },
          ],
        },
      },
      parent,
    );

    if (args.hostNetwork) {
      void pulumi.log.warn(
        `site ${site.id}: runs on its node's network, where NetworkPolicy does not reach; the node's firewall must allow only the flows docs/security.md lists for a site`,
        this,
      );
    } else {
      siteNetworkPolicy(
        `${name}-netpol`,
        { topology: args.topology, site, namespace: ns, podLabels: labels, network: args.network },
        parent,
      );
    }

    this.registerOutputs({
      siteId: this.siteId,
      namespace: this.namespace,
      workloadName: this.workloadName,
      grpcService: this.grpcService.metadata.name,
    });
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost']);

/**
 * The site's rtpengine as a sidecar (an init container that keeps running): Kubernetes starts
 * Kamailio and the site agent only once its startup probe, an ng ping over HTTP on loopback, has
 * answered pong, as the local launcher checks before Kamailio starts. It binds the pod's address
 * and writes the site's media address into SDP (rtpengine's `bind!advertised` interface); its ng
 * ports stay on loopback, reachable only from the pod.
 */
function rtpengineSidecar(
  args: ContactCenterSiteArgs,
  site: Site,
): k8s.types.input.core.v1.Container {
  const advertised = mediaHostOf(site);
  const bind = '$(POD_IP)';
  const iface = advertised === '0.0.0.0' ? bind : `${bind}!${advertised}`;
  const ping = `curl -sf --max-time 1 -H 'Content-Type: application/x-rtpengine-ng' --data 'startup {"command":"ping"}' http://127.0.0.1:${site.media.ngHttpPort}/ng | grep -q pong`;
  return {
    name: 'rtpengine',
    image: args.images.rtpengine,
    restartPolicy: 'Always',
    command: [
      'rtpengine',
      ...siteRtpengineArgs(args.topology, site.id, {
        recordingDir: RECORDING_PATHS.spool,
        interface: iface,
      }),
    ],
    env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
    startupProbe: {
      exec: { command: ['sh', '-c', ping] },
      periodSeconds: 1,
      failureThreshold: 30,
    },
    resources: resourcesFor('rtpengine', args.resources),
    securityContext: CONTAINER_SECURITY,
    volumeMounts: [
      { name: 'prompts', mountPath: CONTAINER_PATHS.promptsDir, readOnly: true },
      // its pcap spool on the recordings volume: a call recorded when the pod went away is
      // finished from it by the next site agent
      { name: RECORDINGS_VOLUME, mountPath: RECORDING_PATHS.dir },
    ],
  };
}
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * A site taking browser agents needs its SIP secret (Kamailio loads auth_ephemeral and checks
 * every agent's credentials with it); with wss, a certificate browsers trust, for a name.
 */
function checkBrowserAgents(site: Site, args: ContactCenterSiteArgs): void {
  const topology = args.topology;
  if (siteUsesWebSocket(topology, site.id) && args.agentSecret === undefined)
    throw new Error(
      `site ${site.id} takes browser agents (sip.wsPort or sip.wssPort): give its SIP secret (config sipSecrets.${site.id}, openssl rand -base64 32), the one the central API issues its agents' credentials with`,
    );
  if (args.agentSecret !== undefined && !siteUsesWebSocket(topology, site.id))
    throw new Error(
      `site ${site.id}: a SIP secret is given but the site takes no browser agents (no sip.wssPort)`,
    );
  if (site.sip.wssPort === undefined) {
    if (args.wssTlsSecretName !== undefined)
      throw new Error(
        `site ${site.id}: a wss certificate is given but the site has no sip.wssPort`,
      );
    if (site.sip.wsPort !== undefined)
      void pulumi.log.warn(
        `site ${site.id}: sip.wsPort is plain ws on 127.0.0.1 inside the pod, which no browser reaches; give the site sip.wssPort and sip.wssHost for browser agents`,
      );
    return;
  }
  if (args.wssTlsSecretName === undefined)
    throw new Error(
      `site ${site.id} has sip.wssPort: give the TLS Secret (tls.crt, tls.key) of a browser-trusted certificate for ${site.sip.wssHost ?? 'sip.wssHost'} (config siteWssTlsSecrets.${site.id})`,
    );
  const name = site.sip.wssHost ?? site.sip.host;
  if (isIP(name) !== 0 || LOOPBACK.has(name))
    throw new Error(
      `site ${site.id}: browsers connect to wss://${name}:${site.sip.wssPort} and trust a certificate for a name: set sip.wssHost to the DNS name the certificate in ${args.wssTlsSecretName} is for`,
    );
}

/**
 * Kamailio and the site agent share a pod: evapi must be on loopback (it is an unauthenticated
 * control channel). SIP and gRPC on loopback are legal in the topology (local runs) but only work
 * in a cluster in narrow cases, so that is worth a warning.
 */
function checkPodLayout(site: Site, hostNetwork: boolean): void {
  if (!LOOPBACK.has(site.evapi.host)) {
    throw new Error(
      `site ${site.id}: evapi.host is ${site.evapi.host}; in Kubernetes Kamailio and the site agent share a pod and evapi must stay on 127.0.0.1`,
    );
  }
  if (LOOPBACK.has(site.sip.host)) {
    void pulumi.log.warn(
      hostNetwork
        ? `site ${site.id}: sip.host is ${site.sip.host}; only sites on the same node can reach it (a one-node development cluster)`
        : `site ${site.id}: sip.host is ${site.sip.host}; Kamailio listens on it and other sites send overflow INVITEs to it, so it must be the site's SIP address (see hostNetwork)`,
    );
  }
  const media = mediaHostOf(site);
  if (LOOPBACK.has(media) || (media === '0.0.0.0' && !hostNetwork)) {
    void pulumi.log.warn(
      `site ${site.id}: media.host (or sip.host) is ${media}; rtpengine writes the address callers send RTP to into every SDP, so give the site's media address (media.host)`,
    );
  }
  if (!hostNetwork) {
    void pulumi.log.warn(
      `site ${site.id}: RTP arrives on ${media} ports ${site.media.rtpPorts.min}-${site.media.rtpPorts.max}; without hostNetwork the cluster must route that range to the pod (a Service cannot carry a port range)`,
    );
  }
  if (LOOPBACK.has(site.grpc.host)) {
    void pulumi.log.warn(
      `site ${site.id}: grpc.host is ${site.grpc.host}; the site agent binds it, so its gRPC Service cannot reach it (use 0.0.0.0)`,
    );
  }
}
