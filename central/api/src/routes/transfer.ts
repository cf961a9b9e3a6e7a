// POST /desktop/calls/:callId/transfer {skill, siteId?}: the agent blind-transfers the call it is
// talking on to a skill at any site (docs/transfer.md, docs/api.md). The API asks the agent's
// site (AgentControl.TransferCall) on the agent's behalf; the site decides whether the call is
// theirs and talking, and whether the target serves the skill. Its refusals map to HTTP:
//   INVALID_ARGUMENT (unknown skill or site, a site without the skill) → 400
//   PERMISSION_DENIED (not the agent's call to move)                    → 403
//   FAILED_PRECONDITION (not talking on that call)                      → 409
//   UNAVAILABLE / DEADLINE_EXCEEDED / CANCELLED (no answer in time)    → 503
import { Status, ClientError } from 'nice-grpc';
import { z } from 'zod';
import { HttpError, forbidden } from '../http/errors.js';
import { route, type Route } from '../http/route.js';
import { API } from './deps.js';
import type { SiteCalls } from '../desktop/site-calls.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A SIP Call-ID as the call events carry it: printable, no white space. */
const CALL_ID = /^[\x21-\x7e]{1,256}$/;

const body = z.strictObject({
  skill: z.string().regex(ID, 'a skill id'),
  /** The target site; absent: the agent's own. */
  siteId: z.string().regex(ID, 'a site id').optional(),
});

const response = z.object({
  callId: z.string(),
  targetSiteId: z.string(),
  skill: z.string(),
});

const HTTP_OF: Partial<Record<Status, number>> = {
  [Status.INVALID_ARGUMENT]: 400,
  [Status.PERMISSION_DENIED]: 403,
  [Status.FAILED_PRECONDITION]: 409,
  [Status.UNAVAILABLE]: 503,
  [Status.DEADLINE_EXCEEDED]: 503,
  [Status.CANCELLED]: 503,
};

export function transferRoute(deps: { readonly siteCalls: SiteCalls }): Route {
  return route<unknown, z.infer<typeof body>>({
    method: 'POST',
    path: `${API}/desktop/calls/:callId/transfer`,
    summary: 'Blind-transfer the call the agent is talking on to a skill at any site',
    auth: true,
    body,
    otherErrors: {
      '409': 'the agent is not talking on that call',
      '503': 'the agent’s site did not answer',
    },
    response,
    async handle({ body: req, claims, params }) {
      // The agent role (desktop-data) names the agent and its site; nobody else transfers here.
      const agent = claims as { siteId?: string; agentId?: string; role?: string } | undefined;
      if (agent?.role !== 'agent' || !agent.siteId || !agent.agentId)
        throw forbidden('only an agent transfers its own call from the desktop');
      const callId = params.callId ?? '';
      if (!CALL_ID.test(callId)) throw new HttpError(400, 'callId: not a call id');
      try {
        return await deps.siteCalls.transfer(
          agent.siteId,
          { kind: 'agent', site: agent.siteId, agent: agent.agentId },
          { agentId: agent.agentId, callId, skill: req.skill, siteId: req.siteId ?? '' },
        );
      } catch (err) {
        if (err instanceof ClientError && HTTP_OF[err.code] !== undefined)
          throw new HttpError(HTTP_OF[err.code]!, err.details);
        throw err;
      }
    },
  });
}
