// A router's Service (one per router of the pair). Inside the cluster a ClusterIP; for sites in
// other clusters an internal load balancer, never a public one, that admits only the sites'
// address ranges.
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';

/**
 * The well-known annotations that keep a LoadBalancer inside the provider's private network (AWS,
 * GKE, AKS; each ignores the others'): the router is never on a public address.
 */
export const INTERNAL_LB_ANNOTATIONS: Readonly<Record<string, string>> = {
  'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
  'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal',
  'networking.gke.io/load-balancer-type': 'Internal',
  'service.beta.kubernetes.io/azure-load-balancer-internal': 'true',
};

/** The router's Service: ClusterIP, or an internal LoadBalancer limited to `sourceRanges`. */
export function routerServiceFor(
  name: string,
  args: {
    /** The Service's name, e.g. ccfed-router-a. */
    readonly serviceName: string;
    readonly namespace: pulumi.Input<string>;
    readonly labels: Record<string, string>;
    readonly port: number;
    readonly type: 'ClusterIP' | 'LoadBalancer';
    readonly sourceRanges: readonly string[];
    /** Default INTERNAL_LB_ANNOTATIONS. */
    readonly annotations?: Readonly<Record<string, string>>;
    readonly parent: pulumi.Resource;
  },
): k8s.core.v1.Service {
  const lb = args.type === 'LoadBalancer';
  return new k8s.core.v1.Service(
    name,
    {
      metadata: {
        name: args.serviceName,
        namespace: args.namespace,
        labels: args.labels,
        ...(lb ? { annotations: { ...(args.annotations ?? INTERNAL_LB_ANNOTATIONS) } } : {}),
      },
      spec: {
        type: args.type,
        selector: args.labels,
        ports: [{ name: 'router', protocol: 'TCP', port: args.port, targetPort: args.port }],
        ...(lb
          ? {
              // The provider's firewall admits these only; Local keeps the client's address so
              // the router's NetworkPolicy can check it too.
              loadBalancerSourceRanges: [...args.sourceRanges],
              externalTrafficPolicy: 'Local',
            }
          : {}),
      },
    },
    { parent: args.parent },
  );
}
