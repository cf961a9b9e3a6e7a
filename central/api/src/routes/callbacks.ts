// Callbacks (docs/callbacks.md, docs/api.md "Callbacks"):
//   POST   /api/v1/callbacks                 {siteId, callId}                                → the pending callback
//          /api/v1/callbacks                 {siteId, number, skill, scheduledFor, tenantId?} → the pending callback
//   GET    /api/v1/callbacks?site=&skill=    → {callbacks: [...], unreachable: [siteId]}
//   DELETE /api/v1/callbacks/{callbackId}?site=
// The API decides as whom it asks (access.ts supervisorPrincipal: HQ and a site's supervisor as the
// site's supervisor, a tenant client as its tenant's), the site decides again and keeps a tenant
// to its own callbacks. The customer's number goes to the site and never comes back.
import type { site as siteApi } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { z } from 'zod';
import { supervisorPrincipal } from '../access.js';
import type { SiteCallbacksClient } from '../callbacks/site-callbacks.js';
import { badRequest, forbidden } from '../http/errors.js';
import { topologyIdParam } from '../http/query-string.js';
import { route, type Route } from '../http/route.js';
import { askSites, knownSite, siteRefusal } from '../sites/site-answers.js';
import { API } from './deps.js';

/** Call-IDs and callback ids are opaque but printable and bounded, as the site takes them. */
const CALL_ID = /^[\x21-\x7e]{1,200}$/;
const E164 = /^\+[1-9]\d{6,14}$/;

const requestBody = z
  .strictObject({
    siteId: topologyIdParam('site').describe('the site where the call waits, or which calls back'),
    callId: z
      .string()
      .regex(CALL_ID, 'expected a call id')
      .optional()
      .describe('a queued call: the callback keeps its place and the call ends'),
    number: z
      .string()
      .regex(E164, 'expected an E.164 number, e.g. +8613800000001')
      .optional()
      .describe('for a scheduled callback: the number to call'),
    skill: topologyIdParam('skill').optional(),
    tenantId: topologyIdParam('tenant')
      .optional()
      .describe("for a scheduled callback; a tenant client's own by default"),
    scheduledFor: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('for a scheduled callback: when to call (ISO 8601, at most 7 days ahead)'),
  })
  .refine(
    (b) =>
      b.callId !== undefined
        ? b.number === undefined && b.skill === undefined && b.scheduledFor === undefined
        : b.number !== undefined && b.skill !== undefined && b.scheduledFor !== undefined,
    'either callId (a queued call), or number, skill and scheduledFor (a scheduled callback)',
  );

const listQuery = z.strictObject({
  site: topologyIdParam('site').optional(),
  skill: topologyIdParam('skill').optional(),
});
const cancelQuery = z.strictObject({ site: topologyIdParam('site') });

const pending = z.object({
  callbackId: z.string(),
  siteId: z.string(),
  tenantId: z.string(),
  skill: z.string(),
  tier: z.number(),
  arrivalTime: z.string().describe('its place: the queued call’s arrival, or the scheduled time'),
  scheduled: z.boolean(),
  attempts: z.number(),
  notBefore: z.string().nullable(),
  dialing: z.boolean(),
  position: z.number().describe('1-based among its tenant’s queued calls of the skill; 0 dialing'),
});
type Pending = z.infer<typeof pending>;

const ERRORS = {
  '404': 'no such pending callback at that site (or not yours)',
  '409':
    'the number already has a pending callback on the skill, the call is not queued, or an attempt is dialing',
  '429': 'the site holds its most pending callbacks',
  '502': 'the site could not be reached',
};

function toJson(siteId: string, c: siteApi.PendingCallback): Pending {
  return {
    callbackId: c.callbackId,
    siteId,
    tenantId: c.tenantId,
    skill: c.skill,
    tier: c.tier,
    arrivalTime: c.arrivalTime!.toISOString(),
    scheduled: c.scheduled,
    attempts: c.attempts,
    notBefore: c.notBefore ? c.notBefore.toISOString() : null,
    dialing: c.dialing,
    position: c.position,
  };
}

export function callbackRoutes(deps: {
  readonly topology: Topology;
  readonly sites: SiteCallbacksClient;
}): Route[] {
  const known = (siteId: string) => knownSite(deps.topology, siteId);
  return [
    route({
      method: 'POST',
      path: `${API}/callbacks`,
      summary:
        'Asks for a callback for a queued call (it keeps the caller’s place; the call ends), or schedules one for a number and skill at a time.',
      auth: true,
      roles: ['hq', 'site', 'tenant'],
      body: requestBody,
      otherErrors: ERRORS,
      response: pending,
      async handle(ctx) {
        const b = ctx.body;
        known(b.siteId);
        const claims = ctx.claims!;
        const as = supervisorPrincipal(claims, b.siteId, 'callbacks');
        let tenantId = b.tenantId ?? '';
        if (claims.role === 'tenant') {
          if (b.tenantId !== undefined && b.tenantId !== claims.tenantId)
            throw forbidden(
              `tenant ${claims.tenantId} may not schedule callbacks for ${b.tenantId}`,
            );
          tenantId = claims.tenantId;
        }
        if (b.callId === undefined && tenantId === '')
          throw badRequest('tenantId', 'a scheduled callback names its tenant');
        const res = await deps.sites
          .request(b.siteId, as, {
            callId: b.callId ?? '',
            number: b.number ?? '',
            skill: b.skill ?? '',
            tenantId: b.callId === undefined ? tenantId : '',
            scheduledFor: b.scheduledFor ? new Date(b.scheduledFor) : undefined,
          })
          .catch(siteRefusal);
        return toJson(b.siteId, res);
      },
    }),
    route({
      method: 'GET',
      path: `${API}/callbacks`,
      summary:
        'The pending callbacks per site and skill, in service order, that the caller may see (never the numbers).',
      auth: true,
      roles: ['hq', 'site', 'tenant'],
      query: listQuery,
      otherErrors: ERRORS,
      response: z.object({ callbacks: z.array(pending), unreachable: z.array(z.string()) }),
      async handle(ctx) {
        const { items, unreachable } = await askSites(
          deps.topology,
          ctx.claims!,
          ctx.query.site,
          async (id) =>
            (
              await deps.sites.list(
                id,
                supervisorPrincipal(ctx.claims!, id, 'callbacks'),
                ctx.query.skill ?? '',
              )
            ).map((c) => toJson(id, c)),
        );
        return { callbacks: items, unreachable };
      },
    }),
    route({
      method: 'DELETE',
      path: `${API}/callbacks/{callbackId}`,
      summary: 'Cancels a pending callback (not while an attempt is dialing).',
      auth: true,
      roles: ['hq', 'site', 'tenant'],
      query: cancelQuery,
      otherErrors: ERRORS,
      response: z.object({ callbackId: z.string(), cancelled: z.boolean() }),
      async handle(ctx) {
        const callbackId = ctx.params.callbackId ?? '';
        if (!CALL_ID.test(callbackId)) throw badRequest('callbackId', 'not a callback id');
        known(ctx.query.site);
        const as = supervisorPrincipal(ctx.claims!, ctx.query.site, 'callbacks');
        await deps.sites.cancel(ctx.query.site, as, callbackId).catch(siteRefusal);
        return { callbackId, cancelled: true };
      },
    }),
  ];
}
