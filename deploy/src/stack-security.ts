// The stack's security settings (docs/deploy.md, "Security settings"): the per-process ClickHouse
// and Kafka passwords, the federation key, the cert-manager issuer of the federation CA, the API's
// Ingress, and where the federation's neighbours are for the NetworkPolicies. Passwords and keys
// are read with requireSecret*, so they stay encrypted in the state; a missing one fails the
// deployment naming it.
import * as pulumi from '@pulumi/pulumi';
import { CLICKHOUSE_ROLES, type ClickHouseRole } from '@ccfed/common';
import { checkApiIngress, type ApiIngressSettings } from './api-ingress.js';
import type { HubKafkaUser } from './hub-credentials.js';
import { parseIssuerRef, type IssuerRef } from './identity.js';
import { parsePeer, type NetworkPeer, type NetworkService } from './network-policy.js';
import { parseResourceOverrides, type ResourceOverrides } from './resources.js';

export interface FederationNetwork {
  readonly kafka: NetworkService;
  readonly clickhouse: NetworkService;
  readonly ingressController?: NetworkPeer;
  readonly grafana?: NetworkPeer;
  readonly telemetry?: NetworkService;
  /** The router's load balancer as sites in other clusters reach it (CIDRs and port). */
  readonly remoteRouter?: NetworkService;
  /** Kafka as sites in other clusters reach it (its external listener); default `kafka`. */
  readonly remoteKafka?: NetworkService;
  /** Who may use the site agents' control API (operators' CLI, agents' desktops). */
  readonly siteControl?: NetworkPeer;
  /** Each site's phones and SBCs, by site id. */
  readonly sitePhones: Readonly<Record<string, NetworkPeer>>;
  /** The agents' browsers, which reach the sites' Kamailio on wss (sip.wssPort). */
  readonly agentDesktops?: NetworkPeer;
}

export interface SecuritySettings {
  /** ClickHouse URL without credentials. */
  readonly clickhouseUrl: string;
  readonly clickhousePasswords: Readonly<Record<ClickHouseRole, pulumi.Output<string>>>;
  /** Kafka SASL/SCRAM password of `user` (router, ingester, api, site-<site>). */
  kafkaPassword(user: HubKafkaUser | `site-${string}`): pulumi.Output<string>;
  readonly federationKey: pulumi.Output<string>;
  /**
   * Site `siteId`'s recording key file (secret recordingKeys, a JSON object: site id → key file);
   * undefined when the stack gives no recording keys (no site records). Once given, every site
   * needs its own.
   */
  readonly recordingKeys?: (siteId: string) => pulumi.Output<string>;
  /**
   * Every site's secret for its browser agents' SIP credentials (secret sipSecrets, a JSON
   * object: site id → base64 secret): each site's Kamailio gets its own, the API all of them.
   * Undefined when the stack gives none.
   */
  readonly sipSecrets?: pulumi.Output<Record<string, string>>;
  /** Site id → the TLS Secret of its wss listener's browser-trusted certificate. */
  readonly siteWssTlsSecrets: Readonly<Record<string, string>>;
  readonly tlsIssuer: IssuerRef;
  readonly apiIngress?: ApiIngressSettings;
  readonly routerSourceRanges?: string[];
  readonly network: FederationNetwork;
  readonly resources: ResourceOverrides;
}

/** One value of a secret map, failing the deployment when it is missing or empty. */
function entry(
  map: pulumi.Output<Record<string, unknown>>,
  key: string,
  where: string,
): pulumi.Output<string> {
  return map.apply((m) => requiredPassword(m, key, where));
}

/** `map[key]`, or an error naming the stack key and how to set it. */
export function requiredPassword(
  map: Record<string, unknown> | undefined,
  key: string,
  where: string,
): string {
  const v = map?.[key];
  if (typeof v !== 'string' || v === '')
    throw new Error(
      `${where} has no password for ${key} (pulumi config set --secret --path '${where.split(':')[1]}.${key}' ...)`,
    );
  return v;
}

/** Reads and checks the security settings; a missing or malformed key throws naming the key. */
export function readSecuritySettings(config: pulumi.Config): SecuritySettings {
  const key = (k: string) => `config ${config.name}:${k}`;
  const clickhouseUrl = config.require('clickhouseUrl');
  let url: URL | undefined;
  try {
    url = new URL(clickhouseUrl);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol))
    throw new Error(`${key('clickhouseUrl')} must be an http(s) URL, got ${clickhouseUrl}`);
  if (url.username !== '' || url.password !== '')
    throw new Error(
      `${key('clickhouseUrl')} must not carry a user or password: each process gets its own ClickHouse user, with its password from clickhousePasswords`,
    );

  const chPasswords = config.requireSecretObject<Record<string, unknown>>('clickhousePasswords');
  const kafkaPasswords = config.requireSecretObject<Record<string, unknown>>('kafkaPasswords');
  const federationKey = config.requireSecret('federationKey');
  const recordingKeys = config.getSecretObject<Record<string, unknown>>('recordingKeys');

  const routerSourceRanges = config.getObject<unknown>('routerSourceRanges');
  if (
    routerSourceRanges !== undefined &&
    !(
      Array.isArray(routerSourceRanges) &&
      routerSourceRanges.every((c) => typeof c === 'string' && /\/\d{1,3}$/.test(c))
    )
  )
    throw new Error(`${key('routerSourceRanges')} must be a list of CIDRs`);

  const ingress = config.getObject<Record<string, unknown>>('apiIngress');
  const apiIngress =
    ingress === undefined
      ? undefined
      : checkApiIngress(
          {
            ...(ingress as unknown as ApiIngressSettings),
            ...(ingress.tlsIssuer !== undefined
              ? { tlsIssuer: parseIssuerRef(ingress.tlsIssuer, `${key('apiIngress')}.tlsIssuer`) }
              : {}),
          },
          key('apiIngress'),
        );

  const net = config.requireObject<Record<string, unknown>>('network');
  const optional = <T>(k: string, parse: (v: unknown, where: string) => T): T | undefined =>
    net[k] === undefined ? undefined : parse(net[k], `${key('network')}.${k}`);
  const phones = net.sitePhones ?? {};
  if (typeof phones !== 'object' || phones === null || Array.isArray(phones))
    throw new Error(`${key('network')}.sitePhones must map site ids to peers`);
  const known = [
    'kafka',
    'clickhouse',
    'ingressController',
    'grafana',
    'telemetry',
    'remoteRouter',
    'remoteKafka',
    'siteControl',
    'sitePhones',
    'agentDesktops',
  ];
  const unknown = Object.keys(net).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new Error(
      `${key('network')} has unknown keys ${unknown.join(', ')} (known: ${known.join(', ')})`,
    );
  const network: FederationNetwork = {
    kafka: parsePeer(net.kafka, `${key('network')}.kafka`, true),
    clickhouse: parsePeer(net.clickhouse, `${key('network')}.clickhouse`, true),
    ingressController: optional('ingressController', (v, w) => parsePeer(v, w)),
    grafana: optional('grafana', (v, w) => parsePeer(v, w)),
    telemetry: optional('telemetry', (v, w) => parsePeer(v, w, true)),
    remoteRouter: optional('remoteRouter', (v, w) => parsePeer(v, w, true)),
    remoteKafka: optional('remoteKafka', (v, w) => parsePeer(v, w, true)),
    siteControl: optional('siteControl', (v, w) => parsePeer(v, w)),
    agentDesktops: optional('agentDesktops', (v, w) => parsePeer(v, w)),
    sitePhones: Object.fromEntries(
      Object.entries(phones).map(([site, p]) => [
        site,
        parsePeer(p, `${key('network')}.sitePhones.${site}`),
      ]),
    ),
  };

  const sipSecrets = config.getSecretObject<Record<string, string>>('sipSecrets');
  const wss = config.getObject<unknown>('siteWssTlsSecrets') ?? {};
  if (
    typeof wss !== 'object' ||
    wss === null ||
    Array.isArray(wss) ||
    !Object.values(wss).every(
      (v) => typeof v === 'string' && /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(v),
    )
  )
    throw new Error(
      `${key('siteWssTlsSecrets')} must map site ids to TLS Secret names, e.g. {"beijing": "ccfed-beijing-wss-tls"}, got ${JSON.stringify(wss)}`,
    );

  return {
    clickhouseUrl,
    ...(sipSecrets && { sipSecrets }),
    siteWssTlsSecrets: wss as Record<string, string>,
    clickhousePasswords: Object.fromEntries(
      CLICKHOUSE_ROLES.map((r) => [r, entry(chPasswords, r, key('clickhousePasswords'))]),
    ) as Record<ClickHouseRole, pulumi.Output<string>>,
    kafkaPassword: (user) => entry(kafkaPasswords, user, key('kafkaPasswords')),
    federationKey: pulumi.secret(federationKey),
    ...(recordingKeys && {
      recordingKeys: (siteId: string) =>
        recordingKeys.apply((m) => {
          const file = m?.[siteId];
          if (file === undefined || file === null || file === '')
            throw new Error(
              `${key('recordingKeys')} has no key file for site ${siteId} (pulumi config set --secret --path 'recordingKeys.${siteId}' ...)`,
            );
          return typeof file === 'string' ? file : JSON.stringify(file);
        }),
    }),
    tlsIssuer: parseIssuerRef(config.requireObject('tlsIssuer'), key('tlsIssuer')),
    apiIngress,
    routerSourceRanges: routerSourceRanges as string[] | undefined,
    network,
    resources: parseResourceOverrides(config.getObject('resources'), key('resources')),
  };
}
