// The silent-monitoring RPCs of AgentControl: StartMonitor, AnswerMonitor, StopMonitor
// (monitor/monitor-service.ts). Each is authorised twice (authorise.ts): first whether the caller
// is a supervisor of this site at all, before anything about the call is looked up; then, with
// the agent talking on the call, whether a tenant's supervisor may hear that agent.
//
// Who is asking: the certificate's principal, or the supervisor the API acts for
// (x-ccfed-on-behalf-of, honoured from service:api only: authorise.ts actingPrincipal, permit.ts).
//
// Status mapping:
//   malformed call id, monitor id, or an unacceptable SDP answer     → INVALID_ARGUMENT
//   no agent of this site talks on the call; no such monitor open     → NOT_FOUND
//   a monitor of another supervisor; answered already                 → PERMISSION_DENIED, FAILED_PRECONDITION
//   too many monitors on the call or at the site                      → RESOURCE_EXHAUSTED
//   no rtpengine, or rtpengine refused                                → UNAVAILABLE
import { principalLabel } from '@ccfed/common';
import type { site as siteApi } from '@ccfed/proto';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import { MonitorError } from '../monitor/monitor-book.js';
import { MonitorUnavailable, type MonitorService } from '../monitor/monitor-service.js';
import type { MonitorRpc, SiteFacts } from './authorise.js';
import { internalError } from './internal-error.js';
import { permitWho } from './permit.js';

type MonitorRpcs = Pick<
  siteApi.AgentControlServiceImplementation,
  'startMonitor' | 'answerMonitor' | 'stopMonitor'
>;

/** Call-IDs are opaque but printable and bounded (SIP allows more; ccfed's calls never need it). */
const CALL_ID = /^[\x21-\x7e]{1,200}$/;
const MONITOR_ID = /^mon-[0-9a-f]{32}$/;

export function monitorRpcs(deps: {
  readonly monitors: MonitorService;
  readonly site: SiteFacts;
  readonly log: Logger;
}): MonitorRpcs {
  const { monitors, site, log } = deps;
  /** Authorises `rpc` for the acting principal, on the call's agent once it is known. */
  const authorised = (rpc: MonitorRpc, context: CallContext, agentOf: () => string | undefined) => {
    const { caller } = permitWho(context, site, { rpc }, log);
    const agentId = agentOf();
    if (agentId !== undefined) permitWho(context, site, { rpc, agentId }, log);
    return principalLabel(caller);
  };
  const failed = (rpc: MonitorRpc, err: unknown, fields: Record<string, unknown>): never => {
    if (err instanceof ServerError) throw err;
    if (err instanceof MonitorError) throw new ServerError(STATUS[err.code], err.message);
    if (err instanceof MonitorUnavailable) throw new ServerError(Status.UNAVAILABLE, err.message);
    throw internalError(log, rpc, err, fields);
  };
  return {
    async startMonitor(req, context) {
      if (!CALL_ID.test(req.callId))
        throw new ServerError(
          Status.INVALID_ARGUMENT,
          'call_id must be 1-200 printable characters',
        );
      const owner = authorised('StartMonitor', context, () => monitors.agentOf(req.callId));
      try {
        const { monitor, sdpOffer, parties } = await monitors.start(req.callId, owner);
        return { monitorId: monitor.id, sdpOffer, parties: [...parties], agentId: monitor.agentId };
      } catch (err) {
        return failed('StartMonitor', err, { callId: req.callId });
      }
    },
    async answerMonitor(req, context) {
      if (!MONITOR_ID.test(req.monitorId))
        throw new ServerError(Status.INVALID_ARGUMENT, 'monitor_id is not a monitor id');
      const owner = authorised('AnswerMonitor', context, () =>
        monitors.monitorAgent(req.monitorId),
      );
      try {
        await monitors.answer(req.monitorId, owner, req.sdpAnswer);
        return {};
      } catch (err) {
        return failed('AnswerMonitor', err, { monitorId: req.monitorId });
      }
    },
    async stopMonitor(req, context) {
      if (!MONITOR_ID.test(req.monitorId))
        throw new ServerError(Status.INVALID_ARGUMENT, 'monitor_id is not a monitor id');
      const owner = authorised('StopMonitor', context, () => monitors.monitorAgent(req.monitorId));
      try {
        return { wasActive: await monitors.stop(req.monitorId, owner) };
      } catch (err) {
        return failed('StopMonitor', err, { monitorId: req.monitorId });
      }
    },
  };
}

const STATUS: Record<MonitorError['code'], Status> = {
  no_call: Status.NOT_FOUND,
  no_monitor: Status.NOT_FOUND,
  not_owner: Status.PERMISSION_DENIED,
  answered: Status.FAILED_PRECONDITION,
  too_many: Status.RESOURCE_EXHAUSTED,
  bad_sdp: Status.INVALID_ARGUMENT,
};
