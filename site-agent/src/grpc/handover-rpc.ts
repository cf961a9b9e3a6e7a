// SiteAgent.HandOverCallback: another site of the federation hands this site a pending callback
// the router chose it for (docs/callbacks.md, "Served at another site"). Checked in this order, so
// that nothing unauthenticated reaches the desk: the caller is a peer site (authorise.ts) naming
// itself as the origin; every field is well formed (handover.ts, checkHandover); the federation's
// signature holds over every field and was not seen before; then the desk decides whether it can
// serve the callback in time. The customer's number is in the request: it is never logged.
//
// The confirm step's two RPCs are checked the same way: SettleCallbackHandover only from the origin
// it names, GetCallbackHandoverOutcome only from the target it names; ids well formed; the
// federation's signature fresh and not seen before.

import { peerPrincipal } from '@ccfed/common';
import type { site as siteApi } from '@ccfed/proto';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import type { Clock } from '@ccfed/common';
import {
  checkHandover,
  checkHandoverIds,
  verifyHandover,
  verifyQuery,
  verifySettlement,
  type Handover,
  type HandoverQuery,
  type HandoverSettlement,
} from '../callback/handover.js';
import type { SignatureVerdict } from '../sip-context-signature.js';
import { ReplayWindow } from '../sip-context-signature.js';
import type { Topology } from '@ccfed/topology';
import type { SiteFacts } from './authorise.js';
import { internalError } from './internal-error.js';
import { permit } from './permit.js';

/** What the handler asks of the site's callbacks (the desk, with the site's threshold and drain). */
export interface HandoverReceiver {
  receive(
    h: Handover,
  ):
    | { readonly accepted: true; readonly expectedWaitMs: number }
    | { readonly accepted: false; readonly reason: string };
  /** The origin's decision on a handover this site accepted. */
  settle(s: HandoverSettlement): { readonly known: boolean };
  /** What this site decided on a handover to the asking target. */
  outcome(q: HandoverQuery): { readonly committed: boolean };
}

export interface HandoverRpcDeps {
  /** Undefined: this site takes no callbacks from other sites (every request UNAVAILABLE). */
  readonly receiver: HandoverReceiver | undefined;
  readonly topology: Topology;
  /** The federation keys, the current one first (sip-context-signature.ts, federationKeys). */
  readonly federationKeys: readonly Buffer[];
  readonly clock: Clock;
  readonly site: SiteFacts;
  readonly log: Logger;
}

export function handOverCallbackRpc(
  deps: HandoverRpcDeps,
): Pick<
  siteApi.SiteAgentServiceImplementation,
  'handOverCallback' | 'settleCallbackHandover' | 'getCallbackHandoverOutcome'
> {
  const replays = new ReplayWindow();
  /** The signature holds and was not seen before, or PERMISSION_DENIED (logged). */
  const signed = (verdict: SignatureVerdict, now: number, what: object) => {
    if (verdict.ok && replays.firstUse(verdict, now)) return;
    const reason = verdict.ok ? 'replayed' : verdict.reason;
    deps.log.warn(
      { event: 'callback_handover_rejected', ...what, reason },
      'refused a callback handover message whose signature does not hold',
    );
    throw new ServerError(
      Status.PERMISSION_DENIED,
      `the handover's federation signature does not hold: ${reason}`,
    );
  };
  /** The calling peer site, which must be the one the request names as `role`. */
  const peerNamed = (context: CallContext, named: string, role: string) => {
    const peer = peerPrincipal(context);
    if (peer.kind !== 'site' || named !== peer.site)
      throw new ServerError(
        Status.PERMISSION_DENIED,
        `a site settles only its own handovers: ${role} must be ${peer.kind === 'site' ? peer.site : 'the caller'}`,
      );
    return peer.site;
  };
  const receiver = () => {
    if (!deps.receiver)
      throw new ServerError(Status.UNAVAILABLE, 'this site takes no callbacks from other sites');
    return deps.receiver;
  };
  return {
    settleCallbackHandover: async (req, context) => {
      permit(context, deps.site, { rpc: 'SettleCallbackHandover' }, deps.log);
      const peer = peerNamed(context, req.originSiteId, 'origin_site_id');
      const desk = receiver();
      const error = checkHandoverIds(
        req,
        { field: 'origin_site_id', id: req.originSiteId },
        deps.topology,
      );
      if (error) throw new ServerError(Status.INVALID_ARGUMENT, `bad settlement: ${error}`);
      const now = deps.clock.now();
      const s: HandoverSettlement = {
        callbackId: req.callbackId,
        originSiteId: req.originSiteId,
        decisionId: req.decisionId,
        committed: req.committed,
      };
      signed(verifySettlement(deps.federationKeys, s, req.signature, now), now, {
        callbackId: s.callbackId,
        peer,
      });
      try {
        return desk.settle(s);
      } catch (err) {
        throw internalError(deps.log, 'SettleCallbackHandover', err, { callbackId: s.callbackId });
      }
    },
    getCallbackHandoverOutcome: async (req, context) => {
      permit(context, deps.site, { rpc: 'GetCallbackHandoverOutcome' }, deps.log);
      const peer = peerNamed(context, req.targetSiteId, 'target_site_id');
      const desk = receiver();
      const error = checkHandoverIds(
        req,
        { field: 'target_site_id', id: req.targetSiteId },
        deps.topology,
      );
      if (error) throw new ServerError(Status.INVALID_ARGUMENT, `bad question: ${error}`);
      const now = deps.clock.now();
      const q: HandoverQuery = {
        callbackId: req.callbackId,
        targetSiteId: req.targetSiteId,
        decisionId: req.decisionId,
      };
      signed(verifyQuery(deps.federationKeys, q, req.signature, now), now, {
        callbackId: q.callbackId,
        peer,
      });
      try {
        return desk.outcome(q);
      } catch (err) {
        throw internalError(deps.log, 'GetCallbackHandoverOutcome', err, {
          callbackId: q.callbackId,
        });
      }
    },
    handOverCallback: async (req: siteApi.HandOverCallbackRequest, context: CallContext) => {
      const { log, site } = deps;
      permit(context, site, { rpc: 'HandOverCallback' }, log);
      const peer = peerPrincipal(context);
      if (peer.kind !== 'site' || req.originSiteId !== peer.site)
        throw new ServerError(
          Status.PERMISSION_DENIED,
          `a site hands over only its own callbacks: origin_site_id must be ${peer.kind === 'site' ? peer.site : 'the caller'}`,
        );
      if (!deps.receiver)
        throw new ServerError(Status.UNAVAILABLE, 'this site takes no callbacks from other sites');
      const now = deps.clock.now();
      const checked = checkHandover(req, deps.topology, now);
      if ('error' in checked)
        throw new ServerError(Status.INVALID_ARGUMENT, `bad handover: ${checked.error}`);
      const h = checked.ok;
      const verdict = verifyHandover(deps.federationKeys, h, req.signature, now);
      if (!verdict.ok || !replays.firstUse(verdict, now)) {
        const reason = verdict.ok ? 'replayed' : verdict.reason;
        log.warn(
          {
            event: 'callback_handover_rejected',
            callbackId: h.callbackId,
            peer: peer.site,
            reason,
          },
          'refused a callback handover whose signature does not hold',
        );
        throw new ServerError(
          Status.PERMISSION_DENIED,
          `the handover's federation signature does not hold: ${reason}`,
        );
      }
      try {
        const answer = deps.receiver.receive(h);
        return answer.accepted
          ? { accepted: true, reason: '', expectedWaitMs: answer.expectedWaitMs }
          : { accepted: false, reason: answer.reason, expectedWaitMs: 0 };
      } catch (err) {
        throw internalError(log, 'HandOverCallback', err, { callbackId: h.callbackId });
      }
    },
  };
}
