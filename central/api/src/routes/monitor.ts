// Silent monitoring of a live call (listen only) for a supervisor's browser:
//   POST   /api/v1/supervisor/calls/{callId}/monitor   {siteId}             → {monitorId, sdpOffer, parties, agentId}
//   POST   /api/v1/supervisor/monitors/{monitorId}/answer {siteId, sdpAnswer} → {monitorId, listening}
//   DELETE /api/v1/supervisor/monitors/{monitorId}?siteId=                  → {monitorId, wasActive}
// The API decides as whom it asks (access.ts monitorPrincipal: a site supervisor at its site, a
// tenant client as its tenant's supervisor, HQ not at all) and the site agent decides whether that
// supervisor may hear the call (a tenant's only its own agents' calls). The SDP goes to the site
// as given, within a size limit; the site checks it is a listen-only answer.
import { ClientError, Status } from 'nice-grpc';
import { z } from 'zod';
import { monitorPrincipal } from '../access.js';
import { badRequest, HttpError } from '../http/errors.js';
import { topologyIdParam } from '../http/query-string.js';
import { route, type Route, type RouteContext } from '../http/route.js';
import type { SiteMonitorsClient } from '../monitor/site-monitors.js';
import { API } from './deps.js';

/** Call-IDs are opaque but printable and bounded, as the site agent takes them. */
const CALL_ID = /^[\x21-\x7e]{1,200}$/;
const MONITOR_ID = /^mon-[0-9a-f]{32}$/;
/** An SDP answer for two audio sections is about 1.5 KiB; anything near this is not one. */
const MAX_SDP_BYTES = 16 * 1024 - 512;

const sdpAnswer = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_SDP_BYTES, `at most ${MAX_SDP_BYTES} bytes`)
  .refine((s) => /^v=0\r?\n/.test(s), 'expected an SDP answer (beginning v=0)')
  .describe("the browser's RTCPeerConnection answer (recvonly)");

const startBody = z.strictObject({
  siteId: topologyIdParam('site').describe('the site where an agent talks on the call'),
});
const answerBody = z.strictObject({ siteId: topologyIdParam('site'), sdpAnswer });
const stopQuery = z.strictObject({ siteId: topologyIdParam('site') });

const ERRORS = {
  '404': 'no agent of that site talks on the call, or no such monitor is open',
  '409': 'the monitor was answered already',
  '429': 'too many supervisors listen to that call, or at that site',
  '502': 'the site could not be reached, or its rtpengine refused',
};

function param(ctx: RouteContext<unknown, unknown>, name: string, pattern: RegExp): string {
  const value = ctx.params[name] ?? '';
  if (!pattern.test(value)) throw badRequest(name, `not a ${name} (${pattern.source})`);
  return value;
}

/** The site's refusal as the HTTP status the caller acts on; its message is for people. */
function siteError(err: unknown): never {
  if (!(err instanceof ClientError)) throw err;
  const status: Partial<Record<Status, number>> = {
    [Status.INVALID_ARGUMENT]: 400,
    [Status.PERMISSION_DENIED]: 403,
    [Status.NOT_FOUND]: 404,
    [Status.FAILED_PRECONDITION]: 409,
    [Status.RESOURCE_EXHAUSTED]: 429,
  };
  throw new HttpError(status[err.code] ?? 502, err.details);
}

export function monitorRoutes(deps: { readonly sites: SiteMonitorsClient }): Route[] {
  return [
    route({
      method: 'POST',
      path: `${API}/supervisor/calls/{callId}/monitor`,
      summary:
        "Starts listening to a live call: an SDP offer (WebRTC, one sendonly audio section per party, in `parties` order) for the supervisor's RTCPeerConnection.",
      auth: true,
      roles: ['site', 'tenant'],
      body: startBody,
      otherErrors: ERRORS,
      response: z.object({
        monitorId: z.string(),
        sdpOffer: z.string(),
        parties: z.array(z.string()),
        agentId: z.string(),
      }),
      async handle(ctx) {
        const callId = param(ctx, 'callId', CALL_ID);
        const as = monitorPrincipal(ctx.claims!, ctx.body.siteId);
        const res = await deps.sites.start(ctx.body.siteId, as, callId).catch(siteError);
        return {
          monitorId: res.monitorId,
          sdpOffer: res.sdpOffer,
          parties: res.parties,
          agentId: res.agentId,
        };
      },
    }),
    route({
      method: 'POST',
      path: `${API}/supervisor/monitors/{monitorId}/answer`,
      summary:
        "Hands the browser's recvonly SDP answer to the site: from then on the supervisor hears both parties, and they do not hear the supervisor.",
      auth: true,
      roles: ['site', 'tenant'],
      body: answerBody,
      otherErrors: ERRORS,
      response: z.object({ monitorId: z.string(), listening: z.boolean() }),
      async handle(ctx) {
        const monitorId = param(ctx, 'monitorId', MONITOR_ID);
        const as = monitorPrincipal(ctx.claims!, ctx.body.siteId);
        await deps.sites
          .answer(ctx.body.siteId, as, monitorId, ctx.body.sdpAnswer)
          .catch(siteError);
        return { monitorId, listening: true };
      },
    }),
    route({
      method: 'DELETE',
      path: `${API}/supervisor/monitors/{monitorId}`,
      summary: 'Stops listening (the call going on); wasActive is false when it had ended already.',
      auth: true,
      roles: ['site', 'tenant'],
      query: stopQuery,
      otherErrors: ERRORS,
      response: z.object({ monitorId: z.string(), wasActive: z.boolean() }),
      async handle(ctx) {
        const monitorId = param(ctx, 'monitorId', MONITOR_ID);
        const as = monitorPrincipal(ctx.claims!, ctx.query.siteId);
        const wasActive = await deps.sites.stop(ctx.query.siteId, as, monitorId).catch(siteError);
        return { monitorId, wasActive };
      },
    }),
  ];
}
