// The SiteAgent gRPC service: how this site is doing (GetStatus), and, later, whether it would
// take an overflowed call (OfferOverflow), and an operator's drain (SetDraining). Each call is
// authorised first (authorise.ts): status for operators, the site's supervisors, the router and
// sites; drain for operators only; overflow offers from other sites only.

import { peerPrincipal, principalLabel } from '@ccfed/common';
import type { SiteSnapshot, site } from '@ccfed/proto';
import { ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import type { SiteFacts } from './authorise.js';
import { internalError } from './internal-error.js';
import { permit } from './permit.js';

/** What GetStatus reports; the process wires it to the ACD, the evapi link and the publisher. */
export interface SiteStatusProvider {
  /** The site's snapshot as it would be published now. */
  snapshot(): SiteSnapshot;
  evapiConnected(): boolean;
  kafkaConnected(): boolean;
  /** Events waiting in the local disk buffer for Kafka. */
  bufferedEvents(): number;
  /** The operator's drain: read, and set (returns the state before). */
  drain(): { readonly drained: boolean; readonly reason: string };
  setDrained(drained: boolean, reason: string): { readonly drained: boolean };
}

const MAX_DRAIN_REASON = 200;

export interface SiteAgentServiceDeps {
  readonly status: SiteStatusProvider;
  /** This site's id and its agents' tenants, which authorisation reads. */
  readonly site: SiteFacts;
  readonly log: Logger;
}

/** The SiteAgent service: GetStatus from `status`; OfferOverflow refused as not implemented. */
export function createSiteAgentService({
  status,
  site,
  log,
}: SiteAgentServiceDeps): Omit<
  site.SiteAgentServiceImplementation,
  'fetchRecording' | 'handOverCallback' | 'settleCallbackHandover' | 'getCallbackHandoverOutcome'
> {
  return {
    // Refused openly rather than answered with a made-up "accepted": the answer is advisory and a
    // caller that gets UNIMPLEMENTED can fall back to relaying over SIP and letting the INVITE
    // be accepted or refused on its own, as the contract allows.
    offerOverflow: async (_req, context) => {
      permit(context, site, { rpc: 'OfferOverflow' }, log);
      throw new ServerError(
        Status.UNIMPLEMENTED,
        'overflow offers are not accepted by this version of the site agent; ' +
          'relay the call over SIP and let the INVITE be answered on its own',
      );
    },
    getStatus: async (_req, context) => {
      permit(context, site, { rpc: 'GetStatus' }, log);
      try {
        const drain = status.drain();
        return {
          snapshot: status.snapshot(),
          evapiConnected: status.evapiConnected(),
          kafkaConnected: status.kafkaConnected(),
          bufferedEvents: status.bufferedEvents(),
          drained: drain.drained,
          drainReason: drain.reason,
        };
      } catch (err) {
        throw internalError(log, 'GetStatus', err);
      }
    },
    setDraining: async (req, context) => {
      permit(context, site, { rpc: 'SetDraining' }, log);
      if (req.reason.length > MAX_DRAIN_REASON)
        throw new ServerError(
          Status.INVALID_ARGUMENT,
          `reason is ${req.reason.length} characters long; at most ${MAX_DRAIN_REASON} allowed`,
        );
      try {
        const before = status.setDrained(req.drained, req.reason);
        log.warn(
          {
            event: req.drained ? 'site_drained' : 'site_undrained',
            reason: req.reason,
            by: principalLabel(peerPrincipal(context)),
          },
          req.drained ? 'site drained: no overflow will be sent here' : 'site undrained',
        );
        return { drained: req.drained, wasDrained: before.drained };
      } catch (err) {
        throw internalError(log, 'SetDraining', err);
      }
    },
  };
}
