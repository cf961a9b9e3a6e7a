// What the site and hub components share: where things sit inside the containers, how the ccfed
// image starts a deployable, labels, and how a secret reaches a process (always by reference).
import { createHash } from 'node:crypto';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';

/** The container images a deployment runs. */
export interface Images {
  /**
   * The ccfed image (images/ccfed.Dockerfile): this repository at /app with its dependencies
   * installed; every deployable runs from it with its own entry point.
   */
  readonly ccfed: pulumi.Input<string>;
  /** Kamailio with evapi and jansson under /usr/lib/x86_64-linux-gnu/kamailio/modules (images/). */
  readonly kamailio: pulumi.Input<string>;
  /** rtpengine 10.5 in userspace, with curl for its startup probe (images/rtpengine.Dockerfile). */
  readonly rtpengine: pulumi.Input<string>;
}

/** Paths inside the containers; the env vars and volume mounts both read them from here. */
export const CONTAINER_PATHS = {
  topologyDir: '/etc/ccfed/topology',
  topologyFile: '/etc/ccfed/topology/topology.yaml',
  kamailioDir: '/etc/kamailio',
  kamailioFile: '/etc/kamailio/kamailio.cfg',
  kamailioRunDir: '/run/kamailio',
  siteDataDir: '/var/lib/ccfed',
  apiUsersDir: '/etc/ccfed/api',
  apiUsersFile: '/etc/ccfed/api/users.yaml',
  /** Every site's secret for browser agents' SIP credentials (CCFED_SIP_SECRETS_FILE). */
  apiSipSecretsFile: '/etc/ccfed/api/sip-secrets.json',
  /** The process's certificate, key and the federation CA (identity.ts), read-only. */
  tlsDir: '/etc/ccfed/tls',
  /**
   * A site's queue prompts, rendered at pod start and shared: the site agent names the files it
   * wants played (and assembles announcements here), rtpengine reads them at the same path.
   */
  promptsDir: '/var/lib/ccfed-prompts',
  /** rtpengine's recording spool (pcaps, metadata). */
} as const;

/** File names under CONTAINER_PATHS.tlsDir: the keys cert-manager writes into a TLS Secret. */
export const TLS_FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/** The CCFED_TLS_* variables every process reads its certificate from (common/src/grpc-tls.ts). */
export function tlsEnv(): k8s.types.input.core.v1.EnvVar[] {
  return plainEnv({
    CCFED_TLS_CA: `${CONTAINER_PATHS.tlsDir}/${TLS_FILES.ca}`,
    CCFED_TLS_CERT: `${CONTAINER_PATHS.tlsDir}/${TLS_FILES.cert}`,
    CCFED_TLS_KEY: `${CONTAINER_PATHS.tlsDir}/${TLS_FILES.key}`,
  });
}

/**
 * The volume of a process's TLS Secret: readable by the pod's fsGroup only (pod security below),
 * mounted read-only at CONTAINER_PATHS.tlsDir.
 */
export function tlsVolume(secretName: pulumi.Input<string>): {
  volume: k8s.types.input.core.v1.Volume;
  mount: k8s.types.input.core.v1.VolumeMount;
} {
  return {
    volume: {
      name: 'tls',
      secret: {
        secretName,
        defaultMode: 0o440,
        items: Object.values(TLS_FILES).map((f) => ({ key: f, path: f })),
      },
    },
    mount: { name: 'tls', mountPath: CONTAINER_PATHS.tlsDir, readOnly: true },
  };
}

/**
 * Pod security every ccfed pod runs with: the Secret files above belong to group 1000 (the
 * image's `node` user), and the default seccomp profile applies.
 */
export const POD_SECURITY: k8s.types.input.core.v1.PodSecurityContext = {
  fsGroup: 1000,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** Container security: no privilege escalation, no Linux capabilities (nothing binds below 1024). */
export const CONTAINER_SECURITY: k8s.types.input.core.v1.SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

/** The key the topology has in its ConfigMap (the file name under CONTAINER_PATHS.topologyDir). */
export const TOPOLOGY_KEY = 'topology.yaml';
export const KAMAILIO_KEY = 'kamailio.cfg';
export const API_USERS_KEY = 'users.yaml';
export const API_SIP_SECRETS_KEY = 'sip-secrets.json';

/** The command that starts one deployable of the ccfed image (as scripts/federation.ts does). */
export function ccfedCommand(entry: string): string[] {
  return ['node', '--import', 'tsx', entry];
}

/** Labels every ccfed object carries; `component` tells the workloads apart for selectors. */
export function ccfedLabels(component: string, extra: Record<string, string> = {}) {
  return {
    'app.kubernetes.io/name': 'ccfed',
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/managed-by': 'pulumi',
    ...extra,
  };
}

/**
 * A pod-template annotation that changes whenever the given config text does, so that a new
 * topology or Kamailio config rolls the pods instead of waiting for their next restart.
 */
export function configHash(...texts: string[]): string {
  const hash = createHash('sha256');
  for (const t of texts) hash.update(t).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** Plain (non-secret) env vars, in a stable order. */
export function plainEnv(
  vars: Record<string, pulumi.Input<string>>,
): k8s.types.input.core.v1.EnvVar[] {
  return Object.entries(vars).map(([name, value]) => ({ name, value }));
}

/** Env vars that read their value from a key of a Kubernetes Secret, never from a literal. */
export function secretEnv(
  secretName: pulumi.Input<string>,
  keysByEnv: Record<string, string>,
): k8s.types.input.core.v1.EnvVar[] {
  return Object.entries(keysByEnv).map(([name, key]) => ({
    name,
    valueFrom: { secretKeyRef: { name: secretName, key } },
  }));
}

/** Every value of a Secret's data marked secret, whatever the caller passed. */
export function secretData(
  values: Record<string, pulumi.Input<string>>,
): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, pulumi.secret(value)]),
  );
}

/** The namespace to put things in: the one given, or a Namespace created with that name. */
export function resolveNamespace(
  name: string,
  namespace: pulumi.Input<string>,
  create: boolean | undefined,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  if (!create) return pulumi.output(namespace);
  const ns = new k8s.core.v1.Namespace(
    name,
    { metadata: { name: namespace, labels: ccfedLabels('namespace') } },
    { parent },
  );
  return ns.metadata.name;
}
