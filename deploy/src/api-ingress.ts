// The API and console from outside the cluster: only over TLS, through an Ingress whose
// certificate is a Secret the SREs provide or one cert-manager issues for the host. The API's own
// Service stays ClusterIP: there is no plain-HTTP way in.
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import type { IssuerRef } from './identity.js';
import { ccfedLabels } from './kube.js';

export interface ApiIngressSettings {
  /** The host name browsers and clients use, e.g. ccfed.example.com. */
  readonly host: string;
  /** IngressClass; default nginx. */
  readonly className?: string;
  /** A TLS Secret (tls.crt, tls.key) that already exists in the namespace. */
  readonly tlsSecretName?: string;
  /** Or: the cert-manager issuer (a public ACME one, typically) to get the host's certificate from. */
  readonly tlsIssuer?: IssuerRef;
  /**
   * Addresses (CIDRs) the ingress controller's connections to the API come from: the API believes
   * X-Forwarded-For from those only (CCFED_API_TRUSTED_PROXIES), to throttle log-ins per client.
   */
  readonly trustedProxyCidrs: readonly string[];
}

/**
 * An ingress-nginx reading of the API's needs: HTTPS only (HSTS is the controller's default with
 * TLS), the live stream unbuffered and open for an hour, bodies no larger than the API reads.
 */
export const INGRESS_ANNOTATIONS: Readonly<Record<string, string>> = {
  'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true',
  'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
  'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
  'nginx.ingress.kubernetes.io/proxy-body-size': '16k',
};

/** The Ingress (and, with tlsIssuer, its Certificate) in front of the API's Service. */
export function apiIngress(
  name: string,
  args: {
    readonly settings: ApiIngressSettings;
    readonly namespace: pulumi.Input<string>;
    readonly serviceName: pulumi.Input<string>;
    readonly port: number;
  },
  opts: pulumi.CustomResourceOptions,
): { ingress: k8s.networking.v1.Ingress; tlsSecretName: string } {
  const s = args.settings;
  const labels = ccfedLabels('api');
  const tlsSecretName = s.tlsSecretName ?? 'ccfed-api-ingress-tls';
  const certificate = s.tlsIssuer
    ? new k8s.apiextensions.CustomResource(
        `${name}-certificate`,
        {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: { name: tlsSecretName, namespace: args.namespace, labels },
          spec: {
            secretName: tlsSecretName,
            dnsNames: [s.host],
            privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
            issuerRef: { group: 'cert-manager.io', kind: s.tlsIssuer.kind, name: s.tlsIssuer.name },
          },
        },
        opts,
      )
    : undefined;
  const ingress = new k8s.networking.v1.Ingress(
    name,
    {
      metadata: {
        name: 'ccfed-api',
        namespace: args.namespace,
        labels,
        annotations: { ...INGRESS_ANNOTATIONS },
      },
      spec: {
        ingressClassName: s.className ?? 'nginx',
        tls: [{ hosts: [s.host], secretName: tlsSecretName }],
        rules: [
          {
            host: s.host,
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: args.serviceName, port: { number: args.port } } },
                },
              ],
            },
          },
        ],
      },
    },
    { ...opts, ...(certificate ? { dependsOn: [certificate] } : {}) },
  );
  return { ingress, tlsSecretName };
}

const HOST = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Checks ApiIngressSettings from stack config, naming what is wrong. */
export function checkApiIngress(s: ApiIngressSettings, where: string): ApiIngressSettings {
  if (!HOST.test(s.host)) throw new Error(`${where}.host must be a DNS name, got ${s.host}`);
  if ((s.tlsSecretName === undefined) === (s.tlsIssuer === undefined))
    throw new Error(
      `${where} needs exactly one of tlsSecretName (an existing TLS Secret) or tlsIssuer (cert-manager issues the certificate)`,
    );
  if (!Array.isArray(s.trustedProxyCidrs) || s.trustedProxyCidrs.length === 0)
    throw new Error(
      `${where}.trustedProxyCidrs must list the CIDRs the ingress controller connects to the API from: without them every client looks like the controller, and one guesser would throttle everyone's log-ins`,
    );
  return s;
}
