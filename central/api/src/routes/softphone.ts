// The browser softphone's SIP credentials (docs/api.md, "Desktop"): an agent's token gets the
// ephemeral credentials its site's Kamailio accepts for that agent's address of record, made from
// the site's secret (common/src/sip-credentials.ts), and where to connect. Nothing is stored:
// Kamailio recomputes the password from the username, which carries the expiry and the agent id.
import { SIP_CREDENTIALS_TTL_SECONDS, sipCredentials, type Clock } from '@ccfed/common';
import { agentAorOf, siteById, webSocketUriOf, type Topology } from '@ccfed/topology';
import { z } from 'zod';
import { forbidden, HttpError } from '../http/errors.js';
import { route, type Route } from '../http/route.js';
import { API } from './deps.js';

export const sipCredentialsResponse = z.object({
  wsUri: z.string().describe("the site's Kamailio, SIP over WebSocket (ws:// or wss://)"),
  username: z.string().describe('<expiry>:<agent id>'),
  password: z.string(),
  expiresAt: z.string().describe('ISO 8601; ask again before then'),
  aor: z.string().describe('the address of record to register and to log in with'),
  iceServers: z.array(z.object({ urls: z.string() })).describe('none: rtpengine is reachable'),
});

export interface SoftphoneDeps {
  readonly topology: Topology;
  /** Each site's secret for its browser agents' credentials, by site id. */
  readonly sipSecrets: ReadonlyMap<string, string>;
  readonly clock: Clock;
  readonly ttlSeconds?: number;
}

/** GET /api/v1/desktop/sip-credentials, for an agent's token only. */
export function sipCredentialsRoute(deps: SoftphoneDeps): Route {
  return route({
    method: 'GET',
    path: `${API}/desktop/sip-credentials`,
    summary:
      "The agent's SIP credentials for the browser softphone at its site (valid 12 h), its address of record and the site's WebSocket URI.",
    auth: true,
    roles: ['agent'],
    otherErrors: {
      '503': 'the site takes no browser agents (no WebSocket listener) or its secret is missing',
    },
    response: sipCredentialsResponse,
    async handle(ctx) {
      const claims = ctx.claims!;
      if (claims.role !== 'agent') throw forbidden('only an agent has SIP credentials');
      const site = deps.topology.sites.find((s) => s.id === claims.siteId);
      if (!site || !site.agents.some((a) => a.id === claims.agentId)) {
        throw forbidden(`agent ${claims.agentId} is not an agent of site ${claims.siteId}`);
      }
      const wsUri = webSocketUriOf(siteById(deps.topology, site.id));
      if (!wsUri) throw new HttpError(503, `site ${site.id} takes no browser agents (sip.wsPort)`);
      const secret = deps.sipSecrets.get(site.id);
      if (!secret) throw new HttpError(503, `no SIP secret for site ${site.id} on this API`);
      const c = sipCredentials({
        secret,
        agentId: claims.agentId,
        nowMs: deps.clock.now(),
        ttlSeconds: deps.ttlSeconds ?? SIP_CREDENTIALS_TTL_SECONDS,
      });
      return { wsUri, ...c, aor: agentAorOf(site, claims.agentId), iceServers: [] };
    },
  });
}
