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
//   PauseRecording,   its own call  any agent's     its tenant's  -          -         -
//   ResumeRecording,                call            agents' calls
//   TransferCall
//   FetchRecording    -             -               -             -          -         - (3)
//
// (1) the status is the whole site's figures, every tenant's; a tenant's supervisor sees only
//     their tenant's seats and calls. (2) including the site's own certificate. (3) only the API
//     service (spiffe://ccfed/service/api), which decides who may hear a recording (its tenant
//     and site scoping) before it asks; the site checks the recording is of the tenant named.
import { principalLabel, type Principal } from '@ccfed/common';

/** What a call asks to do. */
export type SiteRequest =
  | { readonly rpc: AgentRpc | RecordingRpc | CallRpc; readonly agentId: string }
  | {
      readonly rpc:
        | 'ListAgents'
        | 'ListQueues'
        | 'GetStatus'
        | 'SetDraining'
        | 'OfferOverflow'
        | 'FetchRecording';
    };

/** The RPCs that act on one agent. */
export type AgentRpc = 'Login' | 'SetReady' | 'SetNotReady' | 'Logout';
/** The RPCs that act on the recording of an agent's call. */
export type RecordingRpc = 'PauseRecording' | 'ResumeRecording';

/** The RPCs that act on the call an agent is talking on. */
export type CallRpc = 'TransferCall';

const RECORDING_RPCS: ReadonlySet<string> = new Set(['PauseRecording', 'ResumeRecording']);

/** The site being asked: its id and each of its agents' tenant (from the topology). */
export interface SiteFacts {
  readonly siteId: string;
  readonly agentTenants: ReadonlyMap<string, string>;
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
  if (req.rpc === 'FetchRecording')
    return caller.kind === 'service' && caller.service === 'api'
      ? allow()
      : deny('only the API fetches recordings, for the people its scoping allows');

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
      return deny('sites may ask for status and offer overflow only');

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
