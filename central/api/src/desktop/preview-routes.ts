// Preview campaigns on the agent's desktop (docs/campaigns.md, "Preview"; docs/api.md):
//   GET  /api/v1/desktop/preview                       → {preview: {...} | null}
//   POST /api/v1/desktop/previews/{offerId}/dial       → {preview}
//   POST /api/v1/desktop/previews/{offerId}/skip       {reason} → {preview}
// The agent sees the contact a campaign reserved it for and dials or skips it. The API asks the
// agent's own site as that agent (site-desks.ts), always naming the token's own agent id: the site
// refuses another agent's offer (403), an unknown one (404) and one decided or lapsed (409). The
// customer is shown by id with the story the screen pop shows for calls (one read of
// customer_story per offer, kept while the offer is polled); never the number.
import type { CustomerStory } from '@ccfed/analytics/customer-story';
import type { Logger } from '@ccfed/common';
import type { site as siteApi } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { z } from 'zod';
import { badRequest, HttpError } from '../http/errors.js';
import { route, type Route } from '../http/route.js';
import { API } from '../routes/deps.js';
import { agentPrincipal, deskOf } from './desk-access.js';
import type { SiteDesks } from './site-desks.js';

/** The site's skip reasons (site-agent/src/campaign/preview-offers.ts). */
const SKIP_REASONS = ['not_now', 'needs_preparation', 'wrong_contact', 'other'] as const;
const OFFER_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Stories kept for offers being polled; an offer lives 5 minutes at most. */
const STORIES_KEPT = 500;

export interface PreviewRouteDeps {
  readonly topology: Topology;
  readonly sites: Pick<SiteDesks, 'call'> | undefined;
  /** The customer's story as the screen pop reads it; without ClickHouse none is shown. */
  readonly story?: (tenantId: string, customerId: string, atMs: number) => Promise<CustomerStory>;
  readonly log?: Logger;
}

const previewJson = z.object({
  offerId: z.string(),
  siteId: z.string(),
  campaignId: z.string(),
  skill: z.string(),
  contactId: z.string(),
  customerId: z.string().nullable(),
  callId: z.string().describe('the call id a dialed preview keeps'),
  offeredAt: z.string(),
  expiresAt: z
    .string()
    .describe('undecided by then, the offer lapses and the agent goes not ready'),
  story: z.unknown().nullable().describe("the customer's story, as the screen pop shows it"),
  unavailable: z.string().optional().describe('why the story is missing, if it could not be read'),
});
type PreviewJson = z.infer<typeof previewJson>;

const skipBody = z.strictObject({ reason: z.enum(SKIP_REASONS) });

const ERRORS = {
  '403': 'the offer is another agent’s',
  '404': 'no such offer at the agent’s site',
  '409': 'the offer was already decided or lapsed',
  '503': 'the API cannot reach the site, or the site has no dialer',
};

export function previewRoutes(deps: PreviewRouteDeps): Route[] {
  const { topology } = deps;
  const stories = new Map<string, Promise<CustomerStory>>();
  const sites = () => {
    if (!deps.sites)
      throw new HttpError(503, 'this API cannot reach the sites (CCFED_TLS_CERT, CCFED_TLS_KEY)');
    return deps.sites;
  };
  const offerIdOf = (params: Record<string, string | undefined>) => {
    const id = params.offerId ?? '';
    if (!OFFER_ID.test(id)) throw badRequest('offerId', 'not an offer id');
    return id;
  };

  /** The offer as the desktop shows it; the story once per offer, when the offer is the agent's tenant's. */
  const toJson = async (
    siteId: string,
    agentTenant: string,
    p: siteApi.PreviewOffer,
    withStory: boolean,
  ): Promise<PreviewJson> => {
    let story: CustomerStory | null = null;
    let unavailable: string | undefined;
    if (withStory && deps.story && p.customerId && p.tenantId === agentTenant) {
      let read = stories.get(p.offerId);
      if (!read) {
        read = deps.story(p.tenantId, p.customerId, p.offeredAt?.getTime() ?? Date.now());
        stories.set(p.offerId, read);
        if (stories.size > STORIES_KEPT) stories.delete(stories.keys().next().value!);
      }
      try {
        story = await read;
      } catch (err) {
        stories.delete(p.offerId);
        unavailable = 'the customer’s history could not be read; try again in a moment';
        deps.log?.error(
          { event: 'preview_story_failed', offerId: p.offerId, err: String(err) },
          'could not read the customer story for a preview',
        );
      }
    }
    return {
      offerId: p.offerId,
      siteId,
      campaignId: p.campaignId,
      skill: p.skill,
      contactId: p.contactId,
      customerId: p.customerId || null,
      callId: p.callId,
      offeredAt: (p.offeredAt ?? new Date(0)).toISOString(),
      expiresAt: (p.expiresAt ?? new Date(0)).toISOString(),
      story,
      ...(unavailable && { unavailable }),
    };
  };

  const decide = (verb: 'dial' | 'skip', summary: string) =>
    route({
      method: 'POST',
      path: `${API}/desktop/previews/{offerId}/${verb}`,
      summary,
      auth: true,
      roles: ['agent'],
      ...(verb === 'skip' && { body: skipBody }),
      otherErrors: ERRORS,
      response: z.object({ preview: previewJson }),
      async handle(ctx) {
        const desk = deskOf(ctx.claims!, topology);
        const offerId = offerIdOf(ctx.params);
        const reason = verb === 'skip' ? (ctx.body as z.infer<typeof skipBody>).reason : '';
        const res = await sites().call(desk.siteId, agentPrincipal(desk), (c, o) =>
          c.decidePreview(
            { agentId: desk.agentId, offerId, decision: verb, skipReason: reason },
            o,
          ),
        );
        if (!res.preview) throw new Error('the site answered without the preview');
        stories.delete(offerId);
        return { preview: await toJson(desk.siteId, desk.tenantId, res.preview, false) };
      },
    });

  return [
    route({
      method: 'GET',
      path: `${API}/desktop/preview`,
      summary:
        "The contact a preview campaign reserved the agent for, with the customer's story, until the agent dials or skips it or the offer lapses; null when there is none.",
      auth: true,
      roles: ['agent'],
      otherErrors: { '503': ERRORS['503'] },
      response: z.object({ preview: previewJson.nullable() }),
      async handle(ctx) {
        const desk = deskOf(ctx.claims!, topology);
        const res = await sites().call(desk.siteId, agentPrincipal(desk), (c, o) =>
          c.getPreview({ agentId: desk.agentId }, o),
        );
        return {
          preview: res.preview ? await toJson(desk.siteId, desk.tenantId, res.preview, true) : null,
        };
      },
    }),
    decide(
      'dial',
      'The agent dials its preview: the site calls the agent, then the customer (the campaign’s rules and attempts).',
    ),
    decide(
      'skip',
      'The agent skips its preview with a reason: no attempt is counted and the contact is not offered again for 4 h.',
    ),
  ];
}
