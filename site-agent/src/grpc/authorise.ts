// Who may ask what of a site agent: one decision for every RPC of AgentControl and SiteAgent,
// from the caller's verified principal (common/src/principal.ts) and the site's own facts. Pure:
// the gRPC handlers call it first and refuse with PERMISSION_DENIED when it says no; list calls
// show only what the scope it returns covers.
//
//                     agent's own   supervisor of   tenant        operator   another   router
//                     (this site)   this site       supervisor               site      service
//   Login, SetReady,  itself only   any agent       its tenant's  any        -         -
//   SetNotReady,                                    agents only
//   Logout
//   ListAgents        itself        all             its tenant's  all        -         -
//   ListQueues        its tenant's  all             its tenant's  all        -         -
//   GetStatus         -             yes             - (1)         yes        yes (2)   yes
//   SetDraining       -             -               -             yes        -         -
//   OfferOverflow     -             -               -             -          yes       -
//   HandOverCallback, -             -               -             -          peer (4)  -
//   SettleCallbackHandover,
//   GetCallbackHandoverOutcome
//   PauseRecording,   its own call  any agent's     its tenant's  -          -         -
//   ResumeRecording,                call            agents' calls
//   TransferCall
//   FetchRecording    -             -               -             -          -         - (3)
//   CompleteWrapUp    its own call  -               -             -          -         -
//   GetPreview,       its own       -               -             -          -         -
//   DecidePreview     preview
//   StartMonitor,     -             any agent's     its tenant's  -          -         -
//   AnswerMonitor,                  call            agents' calls
//   StopMonitor
//   RequestCallback,  -             all             its tenant's  -          -         -
//   ListCallbacks,                                  callbacks
//   CancelCallback
//   CreateCampaign,   -             all             its tenant's  -          -         -
//   StartCampaign,                                  campaigns
//   PauseCampaign,
//   ListCampaigns
//
// (1) the status is the whole site's figures, every tenant's; a tenant's supervisor sees only
//     their tenant's seats and calls. (2) including the site's own certificate. (3) only the API
//     service (spiffe://ccfed/service/api), which decides who may hear a recording (its tenant
//     and site scoping) before it asks; the site checks the recording is of the tenant named.
// (4) a site of the federation's topology other than this one (peerSites), for a callback it holds
//     (the handler checks the request names that site as its origin, and its signature), or for a
//     handover between the two (the handler checks it names that site as origin or target).
// Monitoring is listening to a live conversation: only a supervisor, never an agent (not even on
// its own call), an operator or a service. The handler asks first without the call's agent (is
// this a supervisor here at all?), then with it, so that nobody else learns which calls exist.
//
// On behalf of a person: the API (spiffe://ccfed/service/api) acts for the agents and supervisors
// who use it by sending the person's principal URI in the metadata ON_BEHALF_OF; the site then
// decides as if that person had called (actingPrincipal). From any other caller the header is
// refused outright, so a site, an agent or an operator cannot pass for somebody else.
import { parsePrincipalUri, principalLabel, type Principal } from '@ccfed/common';

/** The gRPC metadata key in which the API names the person it acts for. */
export const ON_BEHALF_OF = 'x-ccfed-on-behalf-of';

/** Who a call is decided for: the certificate's principal, or the person the API acts for. */
export type Acting =
  | { readonly ok: true; readonly principal: Principal; readonly via?: Principal }
  | { readonly ok: false; readonly reason: string };

/**
 * The principal a request is authorised as: the TLS peer's, unless the peer is the API service
 * and names a person (an agent or a supervisor) in ON_BEHALF_OF. The header from anyone else, or
 * naming a service, a site or an operator, or malformed, is refused.
 */
export function actingPrincipal(peer: Principal, onBehalfOf: string | undefined): Acting {
  if (onBehalfOf === undefined) return { ok: true, principal: peer };
  if (peer.kind !== 'service' || peer.service !== 'api')
    return {
      ok: false,
      reason: `${principalLabel(peer)} may not act on behalf of anyone: only the API service may send ${ON_BEHALF_OF}`,
    };
  const person = parsePrincipalUri(onBehalfOf);
  if (!person) return { ok: false, reason: `${ON_BEHALF_OF} is not a ccfed principal URI` };
  if (person.kind !== 'agent' && person.kind !== 'supervisor')
    return {
      ok: false,
      reason: `the API acts only for agents and supervisors, not for ${principalLabel(person)}`,
    };
  return { ok: true, principal: person, via: peer };
}

/** What a call asks to do. */
export type SiteRequest =
  | {
      readonly rpc: AgentRpc | RecordingRpc | WrapUpRpc | PreviewRpc | CallRpc;
      readonly agentId: string;
    }
  | { readonly rpc: MonitorRpc; readonly agentId?: string }
  | {
      readonly rpc:
        | 'ListAgents'
        | 'ListQueues'
        | 'GetStatus'
        | 'SetDraining'
        | 'OfferOverflow'
        | 'HandOverCallback'
        | 'SettleCallbackHandover'
        | 'GetCallbackHandoverOutcome'
        | 'FetchRecording';
    }
  | { readonly rpc: CallbackRpc | CampaignRpc };

/** The RPCs of callbacks (docs/callbacks.md): a customer's number is in them, so supervisors only. */
export type CallbackRpc = 'RequestCallback' | 'ListCallbacks' | 'CancelCallback';
const CALLBACK_RPCS: ReadonlySet<string> = new Set([
  'RequestCallback',
  'ListCallbacks',
  'CancelCallback',
]);

/** The RPCs of outbound campaigns (docs/campaigns.md): customers' numbers, so supervisors only. */
export type CampaignRpc = 'CreateCampaign' | 'StartCampaign' | 'PauseCampaign' | 'ListCampaigns';
const CAMPAIGN_RPCS: ReadonlySet<string> = new Set([
  'CreateCampaign',
  'StartCampaign',
  'PauseCampaign',
  'ListCampaigns',
]);

/** The RPCs that act on one agent. */
export type AgentRpc = 'Login' | 'SetReady' | 'SetNotReady' | 'Logout';
/** The RPCs that act on the recording of an agent's call. */
export type RecordingRpc = 'PauseRecording' | 'ResumeRecording';
/** The agent's own after-call work: only the agent records what happened on its call. */
export type WrapUpRpc = 'CompleteWrapUp';

/** A preview campaign's offer to an agent (docs/campaigns.md): only that agent sees and decides it. */
export type PreviewRpc = 'GetPreview' | 'DecidePreview';

/** The RPCs of silent monitoring; agentId is the agent talking on the monitored call. */
export type MonitorRpc = 'StartMonitor' | 'AnswerMonitor' | 'StopMonitor';

/** The RPCs that act on the call an agent is talking on. */
export type CallRpc = 'TransferCall';

const RECORDING_RPCS: ReadonlySet<string> = new Set(['PauseRecording', 'ResumeRecording']);
const MONITOR_RPCS: ReadonlySet<string> = new Set(['StartMonitor', 'AnswerMonitor', 'StopMonitor']);

/** The site being asked: its id and each of its agents' tenant (from the topology). */
export interface SiteFacts {
  readonly siteId: string;
  readonly agentTenants: ReadonlyMap<string, string>;
  /** The other sites of the federation, which may hand callbacks over; none when absent. */
  readonly peerSites?: ReadonlySet<string>;
}

/** What an allowed caller may see of a list: the whole site, one tenant's share, one agent. */
export type Scope =
  | { readonly kind: 'site' }
  | { readonly kind: 'tenant'; readonly tenant: string }
  | { readonly kind: 'agent'; readonly agentId: string };

export type Authorisation =
  | { readonly allowed: true; readonly scope: Scope }
  | { readonly allowed: false; readonly reason: string };

const SITE: Scope = { kind: 'site' };

/** Whether `caller` may make `req` of the site `site`, and what of the site it may then see. */
export function authorise(caller: Principal, site: SiteFacts, req: SiteRequest): Authorisation {
  const who = principalLabel(caller);
  const allow = (scope: Scope = SITE): Authorisation => ({ allowed: true, scope });
  const deny = (why: string): Authorisation => ({
    allowed: false,
    reason: `${who} may not call ${req.rpc} at site ${site.siteId}: ${why}`,
  });
  const onAgent = 'agentId' in req ? req.agentId : undefined;
  if (req.rpc === 'CompleteWrapUp') {
    if (caller.kind !== 'agent')
      return deny('only the agent who took the call records its wrap-up');
    if (caller.site !== site.siteId) return deny(`an agent acts only at ${caller.site}`);
    return onAgent === caller.agent
      ? allow({ kind: 'agent', agentId: caller.agent })
      : deny(`an agent wraps up only its own calls, not ${clip(onAgent ?? '')}'s`);
  }
  if (req.rpc === 'GetPreview' || req.rpc === 'DecidePreview') {
    if (caller.kind !== 'agent') return deny('a preview is seen and decided by its agent only');
    if (caller.site !== site.siteId) return deny(`an agent acts only at ${caller.site}`);
    return onAgent === caller.agent
      ? allow({ kind: 'agent', agentId: caller.agent })
      : deny(`an agent sees and decides only its own previews, not ${clip(onAgent ?? '')}'s`);
  }
  if (req.rpc === 'FetchRecording')
    return caller.kind === 'service' && caller.service === 'api'
      ? allow()
      : deny('only the API fetches recordings, for the people its scoping allows');
  if (MONITOR_RPCS.has(req.rpc)) {
    if (caller.kind !== 'supervisor')
      return deny("only a supervisor listens to a call (a tenant's supervisor: its agents' calls)");
    if (caller.site !== site.siteId) return deny(`a supervisor acts only at ${caller.site}`);
    if (onAgent === undefined || caller.tenant === undefined) return allow();
    return site.agentTenants.get(onAgent) === caller.tenant
      ? allow({ kind: 'tenant', tenant: caller.tenant })
      : deny(
          `a supervisor of ${caller.tenant} listens only to ${caller.tenant}'s agents' calls, and ${clip(onAgent)} is not one`,
        );
  }

  if (
    req.rpc === 'HandOverCallback' ||
    req.rpc === 'SettleCallbackHandover' ||
    req.rpc === 'GetCallbackHandoverOutcome'
  ) {
    if (caller.kind !== 'site')
      return deny('only another site of the federation hands over callbacks');
    if (caller.site === site.siteId) return deny('a site does not hand callbacks to itself');
    return site.peerSites?.has(caller.site)
      ? allow()
      : deny(`${caller.site} is not a site of this federation`);
  }

  if (CALLBACK_RPCS.has(req.rpc) || CAMPAIGN_RPCS.has(req.rpc)) {
    const what = CALLBACK_RPCS.has(req.rpc) ? 'callbacks are asked for' : 'campaigns are run';
    if (caller.kind !== 'supervisor')
      return deny(`${what} and seen by the site's supervisors (a tenant's: its own)`);
    if (caller.site !== site.siteId) return deny(`a supervisor acts only at ${caller.site}`);
    return allow(caller.tenant === undefined ? SITE : { kind: 'tenant', tenant: caller.tenant });
  }

  switch (caller.kind) {
    case 'operator':
      if (RECORDING_RPCS.has(req.rpc))
        return deny("a call's recording is paused by its agent or the site's supervisor");
      if (req.rpc === 'TransferCall')
        return deny("a call is transferred by its agent or the site's supervisor");
      return req.rpc === 'OfferOverflow' ? deny('only another site offers overflow') : allow();

    case 'site':
      if (req.rpc === 'GetStatus') return allow();
      if (req.rpc === 'OfferOverflow')
        return caller.site === site.siteId
          ? deny('a site does not offer calls to itself')
          : allow();
      return deny('sites may ask for status, offer overflow and hand over callbacks only');

    case 'service':
      return caller.service === 'router' && req.rpc === 'GetStatus'
        ? allow()
        : deny('of the services, only the router may ask for status (and the API for recordings)');

    case 'supervisor': {
      if (caller.site !== site.siteId) return deny(`a supervisor acts only at ${caller.site}`);
      const tenant = caller.tenant;
      if (onAgent !== undefined) {
        if (tenant === undefined || site.agentTenants.get(onAgent) === tenant) return allow();
        return deny(
          `a supervisor of ${tenant} acts only on ${tenant}'s agents, and ${clip(onAgent)} is not one`,
        );
      }
      if (req.rpc === 'ListAgents' || req.rpc === 'ListQueues')
        return allow(tenant === undefined ? SITE : { kind: 'tenant', tenant });
      if (req.rpc === 'GetStatus')
        return tenant === undefined
          ? allow()
          : deny(`the site's status shows every tenant's figures, not only ${tenant}'s`);
      return deny(
        req.rpc === 'SetDraining'
          ? 'only operators drain a site'
          : 'only another site offers overflow',
      );
    }

    case 'agent': {
      if (caller.site !== site.siteId) return deny(`an agent acts only at ${caller.site}`);
      if (onAgent !== undefined)
        return onAgent === caller.agent
          ? allow({ kind: 'agent', agentId: caller.agent })
          : deny(`an agent acts only on itself, not on ${clip(onAgent)}`);
      if (req.rpc === 'ListAgents') return allow({ kind: 'agent', agentId: caller.agent });
      if (req.rpc === 'ListQueues') {
        const tenant = site.agentTenants.get(caller.agent);
        return tenant === undefined
          ? deny(`${caller.agent} is not an agent of ${site.siteId}`)
          : allow({ kind: 'tenant', tenant });
      }
      return deny('agents manage only their own state');
    }
  }
}

/** Whether an agent or a queued call of `tenant` is inside `scope`. */
export function inScope(scope: Scope, item: { agentId?: string; tenantId: string }): boolean {
  switch (scope.kind) {
    case 'site':
      return true;
    case 'tenant':
      return item.tenantId === scope.tenant;
    case 'agent':
      return item.agentId === scope.agentId;
  }
}

/** A request's value quoted for a message, cut short so that a huge field cannot fill it. */
function clip(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
