// The handlers' one call into authorise.ts: the verified caller from the TLS layer, the decision,
// and on a refusal a warning in the log and PERMISSION_DENIED saying who may not do what and why.
import { peerPrincipal, principalLabel, type Principal } from '@ccfed/common';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import {
  actingPrincipal,
  authorise,
  ON_BEHALF_OF,
  type Scope,
  type SiteFacts,
  type SiteRequest,
} from './authorise.js';

/**
 * What of the site the caller may see, deciding for the person the API acts for when it names
 * one (authorise.ts, actingPrincipal); throws UNAUTHENTICATED or PERMISSION_DENIED otherwise.
 */
export function permit(
  context: CallContext,
  site: SiteFacts,
  req: SiteRequest,
  log: Logger,
): Scope {
  return permitWho(context, site, req, log).scope;
}

/** permit(), also answering whom the request was decided for (e.g. for "paused by"). */
export function permitWho(
  context: CallContext,
  site: SiteFacts,
  req: SiteRequest,
  log: Logger,
): { scope: Scope; caller: Principal } {
  const peer = peerPrincipal(context);
  const header = context.metadata.get(ON_BEHALF_OF);
  const acting = actingPrincipal(peer, typeof header === 'string' ? header : undefined);
  if (!acting.ok) {
    log.warn(
      { event: 'grpc_on_behalf_refused', peer: principalLabel(peer), rpc: req.rpc },
      acting.reason,
    );
    throw new ServerError(Status.PERMISSION_DENIED, acting.reason);
  }
  const caller = acting.principal;
  const decision = authorise(caller, site, req);
  if (decision.allowed) return { scope: decision.scope, caller };
  log.warn(
    {
      event: 'grpc_permission_denied',
      peer: principalLabel(peer),
      ...(acting.via ? { onBehalfOf: principalLabel(caller) } : {}),
      rpc: req.rpc,
      ...('agentId' in req && req.agentId !== undefined
        ? { agentId: req.agentId.slice(0, 40) }
        : {}),
    },
    decision.reason,
  );
  throw new ServerError(Status.PERMISSION_DENIED, decision.reason);
}
