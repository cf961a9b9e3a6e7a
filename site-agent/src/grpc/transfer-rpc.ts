// AgentControl.TransferCall: blind transfer of the call an agent is talking on to a skill at any
// site (docs/transfer.md). The agent on its own call, the site's supervisor on its agents' calls
// (authorise.ts).
//
// Status mapping:
//   malformed agent id, call id, skill or site id                        → INVALID_ARGUMENT
//   unknown skill or site, a site without an agent of the skill          → INVALID_ARGUMENT
//   not this agent's call, or the call is not talking                    → FAILED_PRECONDITION
import { peerPrincipal, principalLabel } from '@ccfed/common';
import type { site as siteApi } from '@ccfed/proto';
import { ID_PATTERN } from '@ccfed/topology';
import { ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import { TransferError } from '../transfer/transfer.js';
import type { SiteFacts } from './authorise.js';
import { internalError } from './internal-error.js';
import { permit } from './permit.js';

/** What the RPC needs of the call flow (call-flow.ts CallFlow.transfer). */
export interface TransferDesk {
  transfer(req: {
    readonly agentId: string;
    readonly callId: string;
    readonly skill: string;
    readonly siteId: string;
    readonly by: string;
  }): { readonly callId: string; readonly targetSiteId: string; readonly skill: string };
}

export interface TransferRpcDeps {
  readonly desk: TransferDesk;
  readonly site: SiteFacts;
  readonly log: Logger;
}

/** A SIP Call-ID as the call events carry it: printable, no white space. */
const CALL_ID = /^[\x21-\x7e]{1,256}$/;

export function transferCallRpc({
  desk,
  site,
  log,
}: TransferRpcDeps): Pick<siteApi.AgentControlServiceImplementation, 'transferCall'> {
  return {
    async transferCall(req, context) {
      permit(context, site, { rpc: 'TransferCall', agentId: req.agentId }, log);
      if (!ID_PATTERN.test(req.agentId))
        throw new ServerError(
          Status.INVALID_ARGUMENT,
          `agent_id ${clip(req.agentId)} is malformed`,
        );
      if (!CALL_ID.test(req.callId))
        throw new ServerError(Status.INVALID_ARGUMENT, `call_id ${clip(req.callId)} is malformed`);
      if (!ID_PATTERN.test(req.skill))
        throw new ServerError(Status.INVALID_ARGUMENT, `skill ${clip(req.skill)} is malformed`);
      if (req.siteId !== '' && !ID_PATTERN.test(req.siteId))
        throw new ServerError(Status.INVALID_ARGUMENT, `site_id ${clip(req.siteId)} is malformed`);
      const by = principalLabel(peerPrincipal(context));
      try {
        return desk.transfer({ ...req, by });
      } catch (err) {
        if (err instanceof TransferError)
          throw new ServerError(
            err.kind === 'invalid_target' ? Status.INVALID_ARGUMENT : Status.FAILED_PRECONDITION,
            err.message,
          );
        throw internalError(log, 'TransferCall', err, { agentId: req.agentId });
      }
    },
  };
}

function clip(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
