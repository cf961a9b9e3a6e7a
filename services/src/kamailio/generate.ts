import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DIALER_SIP_USER } from '@ccfed/common';
import {
  parseTrustedSource,
  peerProgressIntervalMs,
  peerSilenceMs,
  peerTransport,
  MIN_KEEPALIVE_INTERVAL_SECONDS,
  MIN_TALKING_PEER_SILENCE_SECONDS,
  sipDomainOf,
  siteById,
  talkingKeepaliveIntervalSeconds,
  type Topology,
} from '@ccfed/topology';
import type { TlsFiles } from '../pki.js';

/** The routing logic every site runs; the generator only puts a site's values in front of it. */
export const KAMAILIO_TEMPLATE = new URL('../../kamailio/ccfed.cfg', import.meta.url).pathname;

export interface KamailioTuning {
  /** Longest time an INVITE may stay queued (suspended) before the fallback takes it. */
  readonly queueTimeoutMs: number;
  /** How long an agent's phone may ring before the call is queued again. */
  readonly ringTimeoutMs: number;
  /** SIP worker processes. */
  readonly children: number;
  /** Log notices and errors only, not a line per call (for load). */
  readonly quiet?: boolean;
  /**
   * How long suspended INVITEs wait for a site agent that went away to come back (a restart)
   * before the fallback takes them; 0: at once. Default 10 s (docs/operations.md, "Site agent
   * restart"). Whole seconds.
   */
  readonly restartGraceMs?: number;
}

export const DEFAULT_TUNING: KamailioTuning = {
  queueTimeoutMs: 300_000,
  ringTimeoutMs: 20_000,
  children: 4,
  restartGraceMs: 10_000,
};

/**
 * Where tls.cfg points Kamailio at the site's certificate when no paths are given: a Kubernetes
 * TLS secret (as cert-manager writes it) mounted at /etc/ccfed/tls.
 */
export const DEFAULT_KAMAILIO_TLS: TlsFiles = {
  ca: '/etc/ccfed/tls/ca.crt',
  cert: '/etc/ccfed/tls/tls.crt',
  key: '/etc/ccfed/tls/tls.key',
};

/** The files kamailio.cfg reads from its own directory. */
export const KAMAILIO_ADDRESS_FILE = 'address.list';
export const KAMAILIO_TLS_FILE = 'tls.cfg';
/** The site's secret for browser agents' ephemeral credentials (mode 0600). */
export const KAMAILIO_AGENT_SECRET_FILE = 'agent-secret.cfg';

/** Whether a site's Kamailio takes browser agents over WebSocket (and needs their secret). */
export function siteUsesWebSocket(topology: Topology, siteId: string): boolean {
  const sip = siteById(topology, siteId).sip;
  return sip.wsPort !== undefined || sip.wssPort !== undefined;
}

/** Whether a site's Kamailio needs tls.cfg and the site's certificate. */
export function siteUsesTls(topology: Topology, siteId: string): boolean {
  const sip = siteById(topology, siteId).sip;
  return sip.tlsPort !== undefined || sip.wssPort !== undefined;
}

/**
 * The complete kamailio.cfg of one site: the site's values from the topology as preprocessor
 * definitions, followed by services/kamailio/ccfed.cfg. It reads address.list (and tls.cfg for a
 * site with a TLS listener) from its own directory: see kamailioSideFiles.
 */
export function kamailioConfig(
  topology: Topology,
  siteId: string,
  tuning: KamailioTuning = DEFAULT_TUNING,
  template: string = readFileSync(KAMAILIO_TEMPLATE, 'utf8'),
): string {
  const site = siteById(topology, siteId);
  // An agent ringing for a call another site sent here silences this site's refreshes of it
  // (ccfed.cfg replies nothing while the INVITE is relayed): the ring and one refresh interval
  // must end before the origin's limit, or it takes back a call an agent is about to answer.
  const refreshMs = peerProgressIntervalMs(topology);
  if (tuning.ringTimeoutMs + refreshMs >= peerSilenceMs(topology))
    throw new Error(
      `ring timeout ${tuning.ringTimeoutMs} ms plus a refresh interval of ${refreshMs} ms reaches routing.peerSilenceSeconds (${topology.routing.peerSilenceSeconds} s): raise peerSilenceSeconds or shorten the ring`,
    );
  // Kamailio's dialog module refuses to start with keepalives more often than every 30 s.
  const keepaliveS = talkingKeepaliveIntervalSeconds(topology);
  if (keepaliveS < MIN_KEEPALIVE_INTERVAL_SECONDS)
    throw new Error(
      `routing.talkingPeerSilenceSeconds (${topology.routing.talkingPeerSilenceSeconds} s) leaves keepalives every ${keepaliveS} s: Kamailio needs at least ${MIN_KEEPALIVE_INTERVAL_SECONDS}, raise it to ${MIN_TALKING_PEER_SILENCE_SECONDS} or more`,
    );
  const fb = site.fallback;
  const tlsPeers = tlsPeersOf(topology, site.id);
  // A number may start with '+', which a regular expression must not read as "one or more".
  const ownNumbers = site.numbers.map((n) => n.number.replace('+', '[+]')).join('|');
  const defs: (readonly [string, string | number])[] = [
    ['SIP_TRANSPORT', site.sip.transport],
    ['SIP_HOST', site.sip.host],
    ['SIP_PORT', site.sip.port],
    ...(site.sip.tlsPort === undefined ? [] : [['SIP_TLS_PORT', site.sip.tlsPort] as const]),
    ['EVAPI_ADDR', `${site.evapi.host}:${site.evapi.port}`],
    // The site's rtpengine: ng over UDP for the rtpengine module, ng over HTTP for the early-media
    // answer made before an INVITE is suspended (docs/media.md). Both on loopback: ng has no
    // authentication.
    ['RTPENGINE_SOCK', `udp:127.0.0.1:${site.media.ngPort}`],
    ['RTPENGINE_HTTP', `http://127.0.0.1:${site.media.ngHttpPort}/ng`],
    ['QUEUE_TIMEOUT_MS', tuning.queueTimeoutMs],
    ['RING_TIMEOUT_MS', tuning.ringTimeoutMs],
    // In-dialog keepalives over the inter-site leg of a call talking between sites (docs/
    // operations.md, "Site cut off").
    ['KEEPALIVE_INTERVAL_S', keepaliveS],
    ['RESTART_GRACE_S', Math.ceil((tuning.restartGraceMs ?? 10_000) / 1000)],
    ['SIP_CHILDREN', tuning.children],
    ['REJECT_CODE', fb.action === 'reject' ? fb.code : 503],
    ['RETRY_AFTER', fb.action === 'reject' ? fb.retryAfterSeconds : 30],
    ['FALLBACK_URI', fb.action === 'relay' ? fb.uri : 'sip:unused@invalid'],
    ['SITE_NUMBERS', ownNumbers || 'none'],
    // pike counts over 2 s windows
    ['INVITE_DENSITY', site.sip.inviteLimit.perSourcePerSecond * 2],
    ['BAN_SECONDS', site.sip.inviteLimit.banSeconds],
    // Site ids start with a letter: '-' names no site, for a TLS listener without TLS peers.
    ...(site.sip.tlsPort === undefined ? [] : [['TLS_PEERS', tlsPeers.join('|') || '-'] as const]),
    // Browser agents (docs/media.md, "Browser agents"): their domain, and where they connect.
    ['SIP_DOMAIN', sipDomainOf(site)],
    // Without a plain ws listener of its own, a wss-only site still names a loopback port
    // (the xhttp route compares against it); nothing listens there.
    ...(siteUsesWebSocket(topology, site.id) ? [['WS_PORT', site.sip.wsPort ?? 0] as const] : []),
    ...(site.sip.wssPort === undefined ? [] : [['WSS_PORT', site.sip.wssPort] as const]),
    // The outbound trunk (docs/dialer.md): host:port, which only the site's dialer may call through.
    ...(site.sip.trunk === undefined
      ? []
      : [['TRUNK_HOSTPORT', site.sip.trunk.slice('sip:'.length)] as const]),
    ['DIALER_USER', DIALER_SIP_USER],
  ];
  for (const [name, value] of defs) {
    // The topology schema already restricts these; this guards the preprocessor's delimiter.
    if (/[!"\n\r]/.test(String(value)))
      throw new Error(`${name} value ${JSON.stringify(value)} cannot go into kamailio.cfg`);
  }
  const flags = [
    ...(fb.action === 'relay' && site.numbers.length > 0 ? ['WITH_FALLBACK'] : []),
    ...(site.sip.tlsPort !== undefined ? ['WITH_TLS', 'WITH_TCP'] : []),
    ...(site.sip.transport === 'tcp' ? ['WITH_TCP'] : []),
    ...(tuning.quiet ? ['QUIET_LOG'] : []),
    ...(siteUsesWebSocket(topology, site.id) ? ['WITH_WEBSOCKET', 'WITH_TCP'] : []),
    ...(site.sip.wssPort !== undefined ? ['WITH_WSS'] : []),
    ...(site.sip.trunk !== undefined ? ['WITH_TRUNK'] : []),
  ];
  const header = [
    '#!KAMAILIO',
    `# Site ${site.id} (${site.name}) of federation ${topology.federation.name}.`,
    '# Generated by services/src/kamailio/generate.ts from the topology file; do not edit.',
    '# Change the topology or services/kamailio/ccfed.cfg and regenerate.',
    ...defs.map(([name, value]) => `#!substdef "!${name}!${value}!g"`),
    ...[...new Set(flags)].map((flag) => `#!define ${flag}`),
    '',
  ];
  return `${header.join('\n')}\n${template}`;
}

/**
 * The files kamailio.cfg reads beside it: address.list (the permissions module's addresses: peer
 * sites on plain links and trusted sources), for a site with a TLS
 * listener tls.cfg naming the site's certificate, key and the federation CA (`tls`), and for a
 * site taking browser agents agent-secret.cfg. The wss listener presents `wssCertificate` (a
 * browser-trusted certificate for sip.wssHost) when given, else the site's own.
 */
export function kamailioSideFiles(
  topology: Topology,
  siteId: string,
  tls: TlsFiles = DEFAULT_KAMAILIO_TLS,
  agentSecret?: string,
  wssCertificate?: Pick<TlsFiles, 'cert' | 'key'>,
): Record<string, string> {
  const site = siteById(topology, siteId);
  const files: Record<string, string> = {
    [KAMAILIO_ADDRESS_FILE]: addressList(topology, site.id),
  };
  if (siteUsesTls(topology, site.id))
    files[KAMAILIO_TLS_FILE] = tlsConfig(tls, site.sip, wssCertificate);
  if (siteUsesWebSocket(topology, site.id)) {
    // `kamailio -c` of a config without its secret (the CLI's check) needs one to load the module
    const secret = agentSecret ?? randomBytes(32).toString('base64');
    if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(secret))
      throw new Error('the agent secret must be base64 of at least 16 characters');
    files[KAMAILIO_AGENT_SECRET_FILE] = [
      '# Generated by services/src/kamailio/generate.ts; do not edit, do not share.',
      `modparam("auth_ephemeral", "secret", "${secret}")`,
      '',
    ].join('\n');
  }
  return files;
}

/** Sites joined to `siteId` by a TLS peer link. */
function tlsPeersOf(topology: Topology, siteId: string): string[] {
  return topology.sites
    .filter((s) => s.id !== siteId && peerTransport(topology, siteId, s.id) === 'tls')
    .map((s) => s.id);
}

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

// Format of the permissions module's address file: group, address, mask bits, port (0: any), tag.
function addressList(topology: Topology, siteId: string): string {
  const site = siteById(topology, siteId);
  const lines = [
    `# Addresses site ${site.id} trusts, generated from the topology; do not edit.`,
    '# <group> <address> <mask bits> <port, 0 any> <tag>',
    '# group 1: peer sites on plain links (their SIP listener), tagged with the site id',
  ];
  for (const peer of topology.sites) {
    if (peer.id === site.id || peerTransport(topology, site.id, peer.id) !== 'plain') continue;
    // A peer that listens on a name or on every address has no one source address to trust:
    // its overflow reaches this site as an untrusted call. Such sites need a TLS link.
    if (!IPV4.test(peer.sip.host) || peer.sip.host === '0.0.0.0')
      lines.push(`# ${peer.id}: ${peer.sip.host} is not a source address; use a TLS link`);
    else lines.push(`1 ${peer.sip.host} 32 ${peer.sip.port} ${peer.id}`);
  }
  lines.push('# group 2: trusted sources (IVR, SBC)');
  for (const source of site.trustedSources) {
    const { ip, bits, port } = parseTrustedSource(source);
    lines.push(`2 ${ip} ${bits} ${port} trusted`);
  }
  return `${lines.join('\n')}\n`;
}

// Kamailio's tls.cfg: as a server it requires a client certificate from the federation CA (only
// peer sites connect to the TLS listener); as a client it verifies the server's chain. Whose
// certificate it is (the site named) is checked in ccfed.cfg.
function tlsConfig(
  tls: TlsFiles,
  sip: Topology['sites'][number]['sip'],
  wssCertificate: Pick<TlsFiles, 'cert' | 'key'> = tls,
): string {
  for (const path of [tls.ca, tls.cert, tls.key, wssCertificate.cert, wssCertificate.key]) {
    if (/[\s#[\]=]/.test(path))
      throw new Error(`TLS file path ${JSON.stringify(path)} cannot go into tls.cfg`);
  }
  const profile = [
    'method = TLSv1.2+',
    `certificate = ${tls.cert}`,
    `private_key = ${tls.key}`,
    `ca_list = ${tls.ca}`,
  ];
  // Browsers connect to the wss listener without a client certificate, and check its certificate
  // against their own roots.
  const wss =
    sip.wssPort === undefined
      ? []
      : [
          ...wssDomain(sip),
          'method = TLSv1.2+',
          `certificate = ${wssCertificate.cert}`,
          `private_key = ${wssCertificate.key}`,
          'verify_client = off',
          '',
        ];
  return [
    '# Generated by services/src/kamailio/generate.ts; do not edit.',
    ...wss,
    '[server:default]',
    ...profile,
    'verify_client = on',
    '',
    '[client:default]',
    ...profile,
    'verify_certificate = yes',
    'require_certificate = yes',
    '',
  ].join('\n');
}

/**
 * The TLS domain of the wss listener. Kamailio picks a server domain by the connection's local
 * address, which is never 0.0.0.0: a listener on every address (a pod's) is told apart by the
 * name the browser asks for (SNI) instead. That name's domain would also answer on the peers'
 * TLS port, where ccfed.cfg refuses anything but a verified peer site.
 */
function wssDomain(sip: Topology['sites'][number]['sip']): string[] {
  if (sip.host !== '0.0.0.0') return [`[server:${sip.host}:${sip.wssPort}]`];
  if (sip.wssHost === undefined)
    throw new Error(
      'sip.host 0.0.0.0 with sip.wssPort needs sip.wssHost: Kamailio tells the wss listener apart by the name browsers ask for',
    );
  return ['[server:any]', `server_name = ${sip.wssHost}`];
}
