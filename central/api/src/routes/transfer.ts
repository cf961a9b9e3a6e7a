// POST /desktop/calls/{callId}/transfer {skill, siteId?}: the agent blind-transfers the call it is
// talking on to a skill at any site (docs/transfer.md, docs/api.md). The API asks the agent's
// site (AgentControl.TransferCall) on the agent's behalf (desktop/site-desks.ts); the site decides
// whether the call is the agent's and talking, and whether the target serves the skill. Its
// refusals become HTTP as every desk action's do: INVALID_ARGUMENT (unknown skill or site, a site
// without the skill) 400, PERMISSION_DENIED (not the agent's call) 403, FAILED_PRECONDITION (not
// talking on that call, or a caller that cannot be referred) 409, no answer in time 503.
import type { Topology } from '@ccfed/topology';
import { z } from 'zod';
import { HttpError } from '../http/errors.js';
import { route, type Route } from '../http/route.js';
import { API } from './deps.js';
import { agentPrincipal, deskOf } from '../desktop/desk-access.js';
import type { SiteDesks } from '../desktop/site-desks.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

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

export function transferRoute(deps: {
  readonly topology: Topology;
  readonly sites: SiteDesks | undefined;
}): Route {
  return route<unknown, z.infer<typeof body>>({
    method: 'POST',
    path: `${API}/desktop/calls/{callId}/transfer`,
    summary: 'Blind-transfer the call the agent is talking on to a skill at any site',
    auth: true,
    roles: ['agent'],
    body,
    otherErrors: {
      '409': 'the agent is not talking on that call, or its caller cannot be referred',
      '503': 'the agent’s site did not answer',
    },
    response,
    async handle(ctx) {
      if (!deps.sites) throw new HttpError(503, 'the API has no certificate to reach the sites');
      const desk = deskOf(ctx.claims!, deps.topology);
      const callId = ctx.params.callId!;
      return deps.sites.call(desk.siteId, agentPrincipal(desk), (c, o) =>
        c.transferCall(
          { agentId: desk.agentId, callId, skill: ctx.body.skill, siteId: ctx.body.siteId ?? '' },
          o,
        ),
      );
    },
  });
}
