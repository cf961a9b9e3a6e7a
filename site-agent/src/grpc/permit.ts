// The handlers' one call into authorise.ts: the verified caller from the TLS layer, the decision,
// and on a refusal a warning in the log and PERMISSION_DENIED saying who may not do what and why.
import { peerPrincipal, principalLabel, type Principal } from '@ccfed/common';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import { authorise, type Scope, type SiteFacts, type SiteRequest } from './authorise.js';

/** What of the site the caller may see; throws UNAUTHENTICATED or PERMISSION_DENIED otherwise. */
export function permit(
  context: CallContext,
  site: SiteFacts,
  req: SiteRequest,
  log: Logger,
): Scope {
  return permitAs(peerPrincipal(context), site, req, log);
}

/** permit() for a caller already known (e.g. the person the API acts for). */
export function permitAs(caller: Principal, site: SiteFacts, req: SiteRequest, log: Logger): Scope {
  const decision = authorise(caller, site, req);
  if (decision.allowed) return decision.scope;
  log.warn(
    {
      event: 'grpc_permission_denied',
      peer: principalLabel(caller),
      rpc: req.rpc,
      ...('agentId' in req && req.agentId !== undefined
        ? { agentId: req.agentId.slice(0, 40) }
        : {}),
    },
    decision.reason,
  );
  throw new ServerError(Status.PERMISSION_DENIED, decision.reason);
}
