// Each process's identity on Kubernetes: a cert-manager Certificate whose URI SAN names its
// principal (spiffe://ccfed/site/<site>, spiffe://ccfed/service/<name>; common/src/principal.ts),
// issued by the federation CA (an Issuer or ClusterIssuer the SREs set up with that CA, named in
// stack config), written by cert-manager into a Secret the process mounts read-only. The private
// key is made in the cluster and never passes through Pulumi or its state; cert-manager renews it
// before it expires (docs/security.md, "Rotating").
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { principalUri, type Principal } from '@ccfed/common';

/** The cert-manager issuer that signs with the federation CA. */
export interface IssuerRef {
  readonly kind: 'Issuer' | 'ClusterIssuer';
  readonly name: string;
}

/** How long a process certificate lives, and when cert-manager renews it. */
export const CERTIFICATE_DURATION = '2160h'; // 90 days
export const CERTIFICATE_RENEW_BEFORE = '720h'; // 30 days

/**
 * A Certificate for `principal` in `namespace`, its Secret named `secretName`. `dnsNames` are the
 * names its server is dialled by (the principal, not the name, is what peers check; the names let
 * ordinary TLS tooling talk to it too).
 */
export function principalCertificate(
  name: string,
  args: {
    readonly principal: Principal;
    readonly secretName: string;
    readonly namespace: pulumi.Input<string>;
    readonly issuer: IssuerRef;
    readonly dnsNames?: pulumi.Input<string>[];
    readonly labels: Record<string, string>;
  },
  opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: args.secretName, namespace: args.namespace, labels: args.labels },
      spec: {
        secretName: args.secretName,
        secretTemplate: { labels: args.labels },
        duration: CERTIFICATE_DURATION,
        renewBefore: CERTIFICATE_RENEW_BEFORE,
        uris: [principalUri(args.principal)],
        ...(args.dnsNames && args.dnsNames.length > 0 ? { dnsNames: args.dnsNames } : {}),
        // P-256, as services/src/pki.ts issues locally; a new key at every renewal.
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        usages: ['digital signature', 'server auth', 'client auth'],
        issuerRef: { group: 'cert-manager.io', kind: args.issuer.kind, name: args.issuer.name },
      },
    },
    opts,
  );
}

const ISSUER_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Stack config `tlsIssuer` checked: {kind: Issuer|ClusterIssuer, name}. */
export function parseIssuerRef(value: unknown, where: string): IssuerRef {
  const v = value as Partial<IssuerRef> | undefined;
  if (
    typeof v !== 'object' ||
    v === null ||
    (v.kind !== 'Issuer' && v.kind !== 'ClusterIssuer') ||
    typeof v.name !== 'string' ||
    !ISSUER_NAME.test(v.name) ||
    Object.keys(v).some((k) => k !== 'kind' && k !== 'name')
  ) {
    throw new Error(
      `${where} must be {"kind": "ClusterIssuer" or "Issuer", "name": "<cert-manager issuer>"}, got ${JSON.stringify(value)}`,
    );
  }
  return { kind: v.kind, name: v.name };
}
