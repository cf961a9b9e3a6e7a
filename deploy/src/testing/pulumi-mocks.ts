// Test support: a mock Pulumi engine that records every resource the program declares, so tests
// can read what would be sent to Kubernetes and Kafka without a CLI, a cluster or a broker.
import * as pulumi from '@pulumi/pulumi';

/** One declared resource as the engine would receive it. */
export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  /** Inputs after Pulumi resolved them (outputs resolved; secrets keep their marker). */
  readonly inputs: Record<string, unknown>;
  /** Reference (`urn::id`) of the provider the resource was declared with, if explicit. */
  readonly provider?: string;
}

/** The address the mock cloud gives every LoadBalancer Service. */
export const MOCK_LOAD_BALANCER_IP = '203.0.113.10';

/**
 * Replaces the Pulumi engine with mocks that record each resource. Must run before the first
 * resource is created; returns the (live) list of declared resources.
 */
export async function recordResources(): Promise<DeclaredResource[]> {
  const declared: DeclaredResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        declared.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          ...(args.provider ? { provider: args.provider } : {}),
        });
        // Echo the inputs as the state, as Kubernetes would for metadata.name and friends, and
        // give a LoadBalancer Service its address as a cloud would.
        const loadBalancer =
          args.type === 'kubernetes:core/v1:Service' && args.inputs.spec?.type === 'LoadBalancer';
        const state = loadBalancer
          ? {
              ...args.inputs,
              status: { loadBalancer: { ingress: [{ ip: MOCK_LOAD_BALANCER_IP }] } },
            }
          : args.inputs;
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        return args.inputs;
      },
    },
    'ccfed',
    'test',
    false,
  );
  return declared;
}

/** The value of an output once Pulumi has resolved it. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/**
 * Waits until every resource registration in flight has reached the mock engine, so a test
 * that asserts on the whole list (e.g. "no secret anywhere") sees all of it. Uses the runtime's
 * own RPC queue, which `pulumi.runtime.disconnect` also waits on before it closes.
 */
export async function settled(): Promise<void> {
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (typeof runtime.waitForRPCs !== 'function') {
    throw new Error(
      'this @pulumi/pulumi has no runtime.waitForRPCs; update testing/pulumi-mocks.ts',
    );
  }
  await runtime.waitForRPCs();
}

/** Declared resources of one type, e.g. `kubernetes:core/v1:Service`. */
export function ofType(declared: readonly DeclaredResource[], type: string): DeclaredResource[] {
  return declared.filter((r) => r.type === type);
}

/** True when the engine received `value` marked secret. */
export function isSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] ===
      pulumi.runtime.specialSecretSig
  );
}

/** A declared value with every secret marker removed, to read what the secret holds. */
export function unwrapSecrets(value: unknown): unknown {
  if (isSecret(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}
