import {
  DEFAULT_LANGUAGE,
  KEEPALIVE_FAILURE_SECONDS,
  type Agent,
  type Language,
  type Site,
  type Skill,
  type Topology,
} from './schema.js';

/** Finds a site by id; throws naming the known sites when there is none. */
export function siteById(topology: Topology, siteId: string): Site {
  const site = topology.sites.find((s) => s.id === siteId);
  if (!site) {
    const known = topology.sites.map((s) => s.id).join(', ');
    throw new Error(`unknown site "${siteId}" (the topology has: ${known})`);
  }
  return site;
}

/** Finds a skill by id, or undefined. */
export function skillById(topology: Topology, skillId: string): Skill | undefined {
  return topology.skills.find((s) => s.id === skillId);
}

/** Every agent of the federation with the site it belongs to. */
export function allAgents(topology: Topology): { site: Site; agent: Agent }[] {
  return topology.sites.flatMap((site) => site.agents.map((agent) => ({ site, agent })));
}

/** How two sites' Kamailios reach each other: `tls`, or `plain` when no TLS link joins them. */
export function peerTransport(topology: Topology, a: string, b: string): 'tls' | 'plain' {
  const link = topology.peerLinks.find(
    (l) => (l.sites[0] === a && l.sites[1] === b) || (l.sites[0] === b && l.sites[1] === a),
  );
  return link?.transport ?? 'plain';
}

/** A site's SIP URI for another site's INVITEs: over TLS on a TLS link, else its own transport. */
export function peerSipUri(topology: Topology, fromSite: string, to: Site, user: string): string {
  return peerTransport(topology, fromSite, to.id) === 'tls'
    ? `sip:${user}@${to.sip.host}:${to.sip.tlsPort};transport=tls`
    : `sip:${user}@${to.sip.host}:${to.sip.port};transport=${to.sip.transport}`;
}

/** A trusted source (schema: TRUSTED_SOURCE_PATTERN) as address, network bits and port (0: any). */
export function parseTrustedSource(source: string): { ip: string; bits: number; port: number } {
  const [net, port] = source.split(':');
  const [ip, bits] = net!.split('/');
  return { ip: ip!, bits: bits === undefined ? 32 : Number(bits), port: Number(port ?? 0) };
}

/** The address a site's rtpengine exchanges RTP on and writes into SDP. */
export function mediaHostOf(site: Site): string {
  return site.media.host ?? site.sip.host;
}

/**
 * The language a dialed number's queued callers hear: the number's own (any site's, since an
 * overflowed call keeps the number it was dialed on), else DEFAULT_LANGUAGE.
 */
export function languageOfNumber(topology: Topology, dialedNumber: string): Language {
  for (const site of topology.sites) {
    const n = site.numbers.find((x) => x.number === dialedNumber);
    if (n) return n.language;
  }
  return DEFAULT_LANGUAGE;
}

/** The domain of `site`'s browser agents' addresses of record (sip.domain, or its default). */
export function sipDomainOf(site: Site): string {
  return site.sip.domain ?? `${site.id}.ccfed.invalid`;
}

/** A browser agent's address of record at its site: what it registers and logs in with. */
export function agentAorOf(site: Site, agentId: string): string {
  return `sip:${agentId}@${sipDomainOf(site)}`;
}

/**
 * Where a browser reaches `site`'s Kamailio for SIP over WebSocket: wss at sip.wssHost (default
 * sip.host) when the site has wssPort, else plain ws on loopback (wsPort); undefined when it has
 * neither.
 */
export function webSocketUriOf(site: Site): string | undefined {
  if (site.sip.wssPort !== undefined)
    return `wss://${site.sip.wssHost ?? site.sip.host}:${site.sip.wssPort}`;
  if (site.sip.wsPort !== undefined) return `ws://127.0.0.1:${site.sip.wsPort}`;
  return undefined;
}

/**
 * How long an overflowed INVITE may go without a provisional reply from its target before the
 * origin takes it back: Kamailio's fr_inv timer on the branch, which every provisional restarts.
 * A target keeps a call it queues alive with `100 Queued` every `peerProgressIntervalMs`; the
 * `182 Queued` and the agent's 180 that follow it are absorbed at the origin (ccfed.cfg's PEER_REPLY
 * drops them, and a dropped reply restarts no timer), so the 100s are what tell a live peer from a cut
 * one.
 */
export function peerSilenceMs(topology: Topology): number {
  return topology.routing.peerSilenceSeconds * 1000;
}

/**
 * How often a site's Kamailio sends an in-dialog keepalive over the inter-site leg of a call
 * talking between two sites (the dialog module's ka_interval): so that a call ends at most
 * routing.talkingPeerSilenceSeconds after the other site went silent (KEEPALIVE_FAILURE_SECONDS).
 */
export function talkingKeepaliveIntervalSeconds(topology: Topology): number {
  return topology.routing.talkingPeerSilenceSeconds - KEEPALIVE_FAILURE_SECONDS;
}

/** How often a site refreshes a call another site overflowed to it while it queues here. */
export function peerProgressIntervalMs(topology: Topology): number {
  return peerSilenceMs(topology) / 6;
}
