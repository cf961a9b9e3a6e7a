// CPU and memory of every container ccfed runs: what the scheduler reserves (requests) and what
// the container may never exceed (limits), so that one process under attack or in a loop (a
// log-in flood on the API, a backlog in the ingester) cannot starve the rest of its node.
// Stack config `resources` overrides any of them per component.
import type * as k8s from '@pulumi/kubernetes';

export const COMPONENTS = [
  'router',
  'ingester',
  'api',
  'site-agent',
  'kamailio',
  'rtpengine',
  'migrate',
  'cross-sell-refresh',
  'churn-scoring',
] as const;
export type Component = (typeof COMPONENTS)[number];

export interface Resources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/**
 * Sized from the local federation and the benches: the ingester decodes on a second thread
 * (bench:ingest: about one core at 60,000 events/s); the API verifies at most two scrypt hashes
 * of 32 MiB at once (routes/session.ts); Kamailio's shared memory is 64 MB plus private memory
 * per child process; rtpengine forwards RTP in userspace on two threads and transcodes only what
 * it plays (prompts into G.711); the jobs only send SQL to ClickHouse.
 */
export const DEFAULT_RESOURCES: Readonly<Record<Component, Resources>> = {
  router: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  ingester: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } },
  api: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '768Mi' } },
  'site-agent': {
    requests: { cpu: '250m', memory: '256Mi' },
    limits: { cpu: '1', memory: '512Mi' },
  },
  kamailio: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  rtpengine: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '2', memory: '512Mi' } },
  migrate: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  'cross-sell-refresh': {
    requests: { cpu: '100m', memory: '128Mi' },
    limits: { cpu: '500m', memory: '256Mi' },
  },
  'churn-scoring': {
    requests: { cpu: '100m', memory: '128Mi' },
    limits: { cpu: '500m', memory: '256Mi' },
  },
};

export type ResourceOverrides = Readonly<Partial<Record<Component, Resources>>>;

/** The resources of `component`'s container: the override when given, else the default. */
export function resourcesFor(
  component: Component,
  overrides: ResourceOverrides = {},
): k8s.types.input.core.v1.ResourceRequirements {
  const r = overrides[component] ?? DEFAULT_RESOURCES[component];
  return { requests: { ...r.requests }, limits: { ...r.limits } };
}

const CPU = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY = /^\d+(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** Stack config `resources` checked: known components, every quantity well-formed. */
export function parseResourceOverrides(value: unknown, where: string): ResourceOverrides {
  const fail = (why: string): never => {
    throw new Error(
      `${where}: ${why}; expected {"<component>": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}} with components ${COMPONENTS.join(', ')}`,
    );
  };
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a map');
  for (const [component, r] of Object.entries(value)) {
    if (!(COMPONENTS as readonly string[]).includes(component))
      fail(`unknown component ${component}`);
    for (const part of ['requests', 'limits'] as const) {
      const q = (r as Record<string, { cpu?: unknown; memory?: unknown }> | undefined)?.[part];
      if (typeof q?.cpu !== 'string' || !CPU.test(q.cpu))
        fail(`${component}.${part}.cpu is not a CPU quantity`);
      if (typeof q?.memory !== 'string' || !MEMORY.test(q.memory))
        fail(`${component}.${part}.memory is not a memory quantity`);
    }
  }
  return value as ResourceOverrides;
}
