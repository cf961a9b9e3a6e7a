// AgentControl.CreateCampaign, StartCampaign, PauseCampaign, ListCampaigns (docs/campaigns.md):
// the site's supervisors run every campaign of the site, a tenant's supervisor only its tenant's
// (authorise.ts). The contact list comes in as CSV, or, from the churn call-back list or the
// survey sample, as customer ids the site resolves from its CRM contacts (customer-book.ts); its
// numbers never go out: progress is counts only.
//
// Status mapping:
//   malformed field, bad contact list (every bad line named), bad rules,
//   a bad source, malformed or repeated customer ids,
//   a tenant without seats with the skill here                         → INVALID_ARGUMENT
//   no customer of the list has a number here, the tenant's CRM
//   contacts here are damaged                                           → FAILED_PRECONDITION
//   creating for another tenant than the supervisor's                   → PERMISSION_DENIED
//   a campaign id in use                                                → ALREADY_EXISTS
//   no such campaign (or another tenant's)                              → NOT_FOUND
//   a site without a dialer                                             → UNAVAILABLE
//
// GetPreview and DecidePreview are the agent's own (authorise.ts): the preview a campaign offered
// it, and its dial or skip. The offer names the customer by id, never by number.
//   a decision other than dial or skip, a skip without a known reason  → INVALID_ARGUMENT
//   no such offer here                                                  → NOT_FOUND
//   another agent's offer                                               → PERMISSION_DENIED
//   an offer already decided or lapsed                                  → FAILED_PRECONDITION
import type { site as siteApi } from '@ccfed/proto';
import { ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import {
  CampaignRequestError,
  type CampaignDesk,
  type CampaignScope,
} from '../campaign/campaign-desk.js';
import type {
  CampaignContact,
  CampaignProgress,
  CampaignSource,
} from '../campaign/campaign-run.js';
import {
  isSkipReason,
  PreviewDecisionError,
  SKIP_REASONS,
  type PreviewDecision,
} from '../campaign/preview-offers.js';
import type { PreviewView } from '../campaign/campaign-desk.js';
import { ContactListError, parseContactCsv } from '../campaign/contact-list.js';
import {
  CustomerBookError,
  CustomerIdsError,
  resolveContacts,
  type CustomerBook,
} from '../campaign/customer-book.js';
import type { Scope, SiteFacts } from './authorise.js';
import { internalError } from './internal-error.js';
import { permitWho } from './permit.js';

/** The most contacts one campaign's list may hold. */
export const MAX_CAMPAIGN_CONTACTS = 100_000;

export interface CampaignRpcDeps {
  readonly campaigns: CampaignDesk | undefined;
  /** The tenants' customers' numbers at this site; without it only CSV lists are taken. */
  readonly customers?: CustomerBook | undefined;
  readonly site: SiteFacts;
  readonly log: Logger;
}

export function campaignRpcs({
  campaigns,
  customers,
  site,
  log,
}: CampaignRpcDeps): Pick<
  siteApi.AgentControlServiceImplementation,
  | 'createCampaign'
  | 'startCampaign'
  | 'pauseCampaign'
  | 'listCampaigns'
  | 'getPreview'
  | 'decidePreview'
> {
  const desk = (): CampaignDesk => {
    if (!campaigns)
      throw new ServerError(Status.UNAVAILABLE, `site ${site.siteId} has no outbound dialer`);
    return campaigns;
  };
  const failed = (rpc: string, err: unknown): never => {
    if (err instanceof ServerError) throw err;
    if (err instanceof ContactListError || err instanceof CustomerIdsError)
      throw new ServerError(Status.INVALID_ARGUMENT, err.message);
    if (err instanceof CustomerBookError) {
      log.error({ event: 'customer_book_damaged', rpc, err: err.message }, 'CRM contacts damaged');
      throw new ServerError(Status.FAILED_PRECONDITION, err.message);
    }
    if (err instanceof CampaignRequestError) throw new ServerError(STATUS[err.code], err.message);
    if (err instanceof PreviewDecisionError)
      throw new ServerError(PREVIEW_STATUS[err.code], err.message);
    throw internalError(log, rpc, err, {});
  };
  return {
    async createCampaign(req, context) {
      const { scope } = permitWho(context, site, { rpc: 'CreateCampaign' }, log);
      const campaignScope = scopeOf(scope);
      if ('tenantId' in campaignScope && req.tenantId !== campaignScope.tenantId)
        throw new ServerError(
          Status.PERMISSION_DENIED,
          `a supervisor of ${campaignScope.tenantId} creates campaigns of ${campaignScope.tenantId} only`,
        );
      if (req.mode !== 'progressive' && req.mode !== 'predictive' && req.mode !== 'preview')
        throw new ServerError(Status.INVALID_ARGUMENT, 'mode: progressive, predictive or preview');
      try {
        const { contacts, source } = await listOf(req, customers);
        const window =
          req.windowStartMinute !== undefined || req.windowEndMinute !== undefined
            ? {
                window: {
                  startMinute: req.windowStartMinute ?? 8 * 60,
                  endMinute: req.windowEndMinute ?? 21 * 60,
                },
              }
            : {};
        const progress = desk().create(campaignScope, {
          campaignId: req.campaignId,
          tenantId: req.tenantId,
          skill: req.skill,
          mode: req.mode,
          contacts,
          rules: {
            ...window,
            ...(req.maxAttempts !== undefined && { maxAttempts: req.maxAttempts }),
            dnc: req.dnc,
          },
          ...(req.ringTimeoutMs !== undefined && { ringTimeoutMs: req.ringTimeoutMs }),
          ...(req.previewTimeoutMs !== undefined && { previewTimeoutMs: req.previewTimeoutMs }),
          source,
        });
        log.info(
          {
            event: 'campaign_created',
            campaignId: req.campaignId,
            tenantId: req.tenantId,
            contacts: contacts.length,
            source: source.kind,
            sourceRef: source.ref,
            unresolvable: source.unresolvable,
          },
          'campaign created',
        );
        return { campaign: toProto(progress) };
      } catch (err) {
        return failed('CreateCampaign', err);
      }
    },
    async startCampaign(req, context) {
      const { scope } = permitWho(context, site, { rpc: 'StartCampaign' }, log);
      try {
        return { campaign: toProto(desk().start(scopeOf(scope), req.campaignId)) };
      } catch (err) {
        return failed('StartCampaign', err);
      }
    },
    async pauseCampaign(req, context) {
      const { scope } = permitWho(context, site, { rpc: 'PauseCampaign' }, log);
      try {
        return { campaign: toProto(desk().pause(scopeOf(scope), req.campaignId)) };
      } catch (err) {
        return failed('PauseCampaign', err);
      }
    },
    async listCampaigns(_req, context) {
      const { scope } = permitWho(context, site, { rpc: 'ListCampaigns' }, log);
      return { campaigns: desk().list(scopeOf(scope)).map(toProto) };
    },
    async getPreview(req, context) {
      permitWho(context, site, { rpc: 'GetPreview', agentId: req.agentId }, log);
      const view = desk().preview(req.agentId);
      return view ? { preview: previewToProto(view) } : {};
    },
    async decidePreview(req, context) {
      permitWho(context, site, { rpc: 'DecidePreview', agentId: req.agentId }, log);
      let decision: PreviewDecision;
      if (req.decision === 'dial') {
        if (req.skipReason !== '')
          throw new ServerError(Status.INVALID_ARGUMENT, 'skipReason: only a skip has a reason');
        decision = { kind: 'dial' };
      } else if (req.decision === 'skip') {
        if (!isSkipReason(req.skipReason))
          throw new ServerError(
            Status.INVALID_ARGUMENT,
            `skipReason: one of ${SKIP_REASONS.join(', ')}`,
          );
        decision = { kind: 'skip', reason: req.skipReason };
      } else throw new ServerError(Status.INVALID_ARGUMENT, 'decision: dial or skip');
      try {
        const view = desk().decidePreview(req.agentId, req.offerId, decision);
        log.info(
          {
            event: 'campaign_preview_decided',
            campaignId: view.campaignId,
            contactId: view.offer.contactId,
            agentId: req.agentId,
            offerId: view.offer.offerId,
            decision: req.decision,
            ...(decision.kind === 'skip' && { skipReason: decision.reason }),
          },
          'preview decided',
        );
        return { preview: previewToProto(view) };
      } catch (err) {
        return failed('DecidePreview', err);
      }
    },
  };
}

const PREVIEW_STATUS: Record<PreviewDecisionError['code'], Status> = {
  not_found: Status.NOT_FOUND,
  not_yours: Status.PERMISSION_DENIED,
  stale: Status.FAILED_PRECONDITION,
};

function previewToProto(v: PreviewView): siteApi.PreviewOffer {
  return {
    offerId: v.offer.offerId,
    campaignId: v.campaignId,
    tenantId: v.tenantId,
    skill: v.skill,
    contactId: v.offer.contactId,
    customerId: v.offer.customerId ?? '',
    callId: v.offer.callId,
    offeredAt: new Date(v.offer.offeredAtMs),
    expiresAt: new Date(v.offer.expiresAtMs),
  };
}

const SOURCE_REF = /^[\x20-\x7e]{0,200}$/;

/**
 * The campaign's contacts and where they came from: the CSV's rows, or the customer ids of the
 * churn list or survey sample resolved from the site's CRM contacts of the tenant (those it
 * holds no number for counted as unresolvable).
 */
async function listOf(
  req: siteApi.CreateCampaignRequest,
  customers: CustomerBook | undefined,
): Promise<{ contacts: CampaignContact[]; source: CampaignSource }> {
  const kind = req.source === '' ? 'csv' : req.source;
  if (kind !== 'csv' && kind !== 'churn' && kind !== 'survey')
    throw new ServerError(Status.INVALID_ARGUMENT, 'source: csv, churn or survey');
  if (!SOURCE_REF.test(req.sourceRef))
    throw new ServerError(Status.INVALID_ARGUMENT, 'sourceRef: at most 200 printable characters');
  if (kind === 'csv') {
    if (req.customerIds.length > 0)
      throw new ServerError(Status.INVALID_ARGUMENT, 'customerIds: a CSV list names none');
    const contacts = await parseContactCsv(req.contactsCsv, {
      maxContacts: MAX_CAMPAIGN_CONTACTS,
    });
    return { contacts, source: { kind, ref: req.sourceRef, unresolvable: 0 } };
  }
  if (req.contactsCsv !== '')
    throw new ServerError(Status.INVALID_ARGUMENT, `contactsCsv: a ${kind} list is customer ids`);
  if (req.customerIds.length === 0)
    throw new ServerError(Status.INVALID_ARGUMENT, `customerIds: the ${kind} list is empty`);
  if (req.customerIds.length > MAX_CAMPAIGN_CONTACTS)
    throw new ServerError(
      Status.INVALID_ARGUMENT,
      `customerIds: ${req.customerIds.length}; at most ${MAX_CAMPAIGN_CONTACTS} per list`,
    );
  if (!customers)
    throw new ServerError(Status.FAILED_PRECONDITION, 'this site holds no CRM contacts');
  const { contacts, unresolvable } = resolveContacts(
    req.customerIds,
    await customers.of(req.tenantId),
  );
  if (contacts.length === 0)
    throw new ServerError(
      Status.FAILED_PRECONDITION,
      `this site holds no number for any of the ${unresolvable.length} customers of the ${kind} list`,
    );
  return { contacts, source: { kind, ref: req.sourceRef, unresolvable: unresolvable.length } };
}

const STATUS: Record<CampaignRequestError['code'], Status> = {
  invalid: Status.INVALID_ARGUMENT,
  exists: Status.ALREADY_EXISTS,
  not_found: Status.NOT_FOUND,
};

/** The site's supervisors reach every campaign; a tenant's supervisor its tenant's. */
function scopeOf(scope: Scope): CampaignScope {
  if (scope.kind === 'tenant') return { tenantId: scope.tenant };
  if (scope.kind === 'site') return { hq: true };
  // authorise.ts gives campaign RPCs a site or a tenant scope only
  throw new ServerError(Status.PERMISSION_DENIED, 'campaigns are not run by an agent');
}

function toProto(p: CampaignProgress): siteApi.CampaignProgress {
  return {
    campaignId: p.campaignId,
    tenantId: p.tenantId,
    skill: p.skill,
    mode: p.mode,
    status: p.status,
    contacts: p.contacts,
    dialed: p.dialed,
    connected: p.connected,
    abandoned: p.abandoned,
    abandonRate24h: p.abandonRate24h,
    outcomes: { ...p.outcomes },
    standing: { ...p.standing },
    held: p.held ?? '',
    previewsOffered: p.previews.offered,
    previewsSkipped: p.previews.skipped,
    previewsReleased: p.previews.released,
    source: p.source.kind,
    sourceRef: p.source.ref,
    unresolvable: p.source.unresolvable,
  };
}
