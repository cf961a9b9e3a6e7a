// The pods of the central hub, built one way: every container gets its resources, the container
// security settings and, when it has one, its certificate mounted read-only with CCFED_TLS_*; every
// pod the pod security settings. The hub (central-hub.ts) only says what each process runs.
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import {
  API_SIP_SECRETS_KEY,
  API_USERS_KEY,
  CONTAINER_PATHS,
  CONTAINER_SECURITY,
  POD_SECURITY,
  tlsEnv,
  tlsVolume,
} from './kube.js';
import { resourcesFor, type Component, type ResourceOverrides } from './resources.js';

/** One hub process: what it runs and what it is given. */
export interface HubProcess {
  readonly component: Component;
  readonly image: pulumi.Input<string>;
  readonly command: string[];
  readonly env: k8s.types.input.core.v1.EnvVar[];
  readonly port?: { name: string; containerPort: number };
  /** The Secret holding its certificate (identity.ts); none for processes without TLS peers. */
  readonly tlsSecret?: pulumi.Input<string>;
  readonly topologyMap?: pulumi.Input<string>;
  readonly usersSecret?: pulumi.Input<string>;
  /** The users Secret also holds the sites' SIP secrets, mounted beside the users file. */
  readonly withSipSecrets?: boolean;
  readonly resources?: ResourceOverrides;
}

/** The pod template of `p` with `labels`. */
export function podTemplate(
  p: HubProcess,
  labels: Record<string, string>,
  extra: {
    restartPolicy?: string;
    annotations?: Record<string, string>;
    affinity?: k8s.types.input.core.v1.Affinity;
  } = {},
): k8s.types.input.core.v1.PodTemplateSpec {
  const volumes: k8s.types.input.core.v1.Volume[] = [];
  const mounts: k8s.types.input.core.v1.VolumeMount[] = [];
  if (p.topologyMap) {
    volumes.push({ name: 'topology', configMap: { name: p.topologyMap } });
    mounts.push({ name: 'topology', mountPath: CONTAINER_PATHS.topologyDir, readOnly: true });
  }
  if (p.usersSecret) {
    volumes.push({
      name: 'users',
      secret: {
        secretName: p.usersSecret,
        defaultMode: 0o440,
        items: [
          { key: API_USERS_KEY, path: API_USERS_KEY },
          ...(p.withSipSecrets ? [{ key: API_SIP_SECRETS_KEY, path: API_SIP_SECRETS_KEY }] : []),
        ],
      },
    });
    mounts.push({ name: 'users', mountPath: CONTAINER_PATHS.apiUsersDir, readOnly: true });
  }
  if (p.tlsSecret) {
    const tls = tlsVolume(p.tlsSecret);
    volumes.push(tls.volume);
    mounts.push(tls.mount);
  }
  return {
    metadata: { labels, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      ...(extra.restartPolicy ? { restartPolicy: extra.restartPolicy } : {}),
      ...(extra.affinity ? { affinity: extra.affinity } : {}),
      securityContext: POD_SECURITY,
      // Nothing in a ccfed pod talks to the Kubernetes API.
      automountServiceAccountToken: false,
      containers: [
        {
          name: p.component,
          image: p.image,
          workingDir: '/app',
          command: p.command,
          env: [...p.env, ...(p.tlsSecret ? tlsEnv() : [])],
          resources: resourcesFor(p.component, p.resources),
          securityContext: CONTAINER_SECURITY,
          ...(p.port
            ? {
                ports: [{ ...p.port, protocol: 'TCP' }],
                // Ready once it accepts connections: the Service only sends it traffic then.
                readinessProbe: { tcpSocket: { port: p.port.containerPort }, periodSeconds: 5 },
              }
            : {}),
          volumeMounts: mounts,
        },
      ],
      volumes,
    },
  };
}

/** A Deployment of `replicas` pods running `p`. */
export function hubDeployment(
  name: string,
  p: HubProcess & {
    readonly labels: Record<string, string>;
    readonly replicas: number;
    readonly namespace: pulumi.Input<string>;
    readonly configHash?: string;
    /** Default ccfed-<component>; the routers of the pair are ccfed-router-a and -b. */
    readonly deploymentName?: string;
    readonly affinity?: k8s.types.input.core.v1.Affinity;
  },
  opts: pulumi.CustomResourceOptions,
): k8s.apps.v1.Deployment {
  return new k8s.apps.v1.Deployment(
    name,
    {
      metadata: {
        name: p.deploymentName ?? `ccfed-${p.component}`,
        namespace: p.namespace,
        labels: p.labels,
      },
      spec: {
        replicas: p.replicas,
        selector: { matchLabels: p.labels },
        template: podTemplate(p, p.labels, {
          ...(p.configHash ? { annotations: { 'ccfed.io/config-hash': p.configHash } } : {}),
          ...(p.affinity ? { affinity: p.affinity } : {}),
        }),
      },
    },
    opts,
  );
}
