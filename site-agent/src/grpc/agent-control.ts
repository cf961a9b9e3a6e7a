// The AgentControl gRPC service: a thin adapter from requests to the site's AgentDesk.
//
// Every call is first authorised for the caller's certificate (authorise.ts: an agent acts on
// itself, a supervisor on their site's agents, a tenant's supervisor on that tenant's, an
// operator on all), and lists show only what the caller may see. A phone to log in at must lie in
// the site's phone network (the topology's sites[].phoneNetwork): the site relays calls to it.
//
// It checks the shape of each field before the desk sees it, so that a malformed request is
// INVALID_ARGUMENT (the caller's bug, not worth retrying) rather than a misleading NOT_FOUND, and
// so that no arbitrary string reaches a log line or the Kamailio relay target. Whether a state
// change is allowed is decided by the desk (the ACD's state machine) alone; its refusals come
// back as FAILED_PRECONDITION with the state machine's own message.
//
// Status mapping:
//   no principal in the client's certificate                           → UNAUTHENTICATED
//   not this caller's to do, a phone outside the phone network          → PERMISSION_DENIED, logged
//   missing or malformed field, InvalidRequestError (e.g. unknown skill) → INVALID_ARGUMENT
//   UnknownAgentError                                                  → NOT_FOUND
//   IllegalTransitionError                                             → FAILED_PRECONDITION
//   anything else (including other AcdErrors: the call flow and the ACD
//   disagree about a call, which is our bug)                           → INTERNAL, logged
//
// A malformed reason code is INVALID_ARGUMENT, never FAILED_PRECONDITION: it is wrong in every
// state, so waiting for the agent's state to change would not help, which is what
// FAILED_PRECONDITION tells a client.

import { wrapUpNoteProblem } from '@ccfed/common';
import { ComplaintSeverity, CustomerTier, type site } from '@ccfed/proto';
import {
  DEFAULT_DISPOSITIONS,
  DEFAULT_NOT_READY_REASONS,
  ID_PATTERN,
  type PhoneNetwork,
} from '@ccfed/topology';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import { UnknownAgentError } from '../acd/acd.js';
import {
  IllegalTransitionError,
  REASON_CODE_PATTERN,
  REASON_CODE_RULE,
} from '../acd/agent-state.js';
import { InvalidRequestError, type AgentDesk, type AgentView, type QueueView } from '../desk.js';
import { agentStateEnum } from '../events/agent-event.js';
import type { WrapUpRecord } from '../call/call-machine.js';
import { WrapUpError, type WrapUpDesk } from '../wrap-up-desk.js';
import { inScope, type AgentRpc, type SiteFacts, type WrapUpRpc } from './authorise.js';
import { internalError } from './internal-error.js';
import { permit } from './permit.js';

/** The codes agents choose from (the topology's notReadyReasons and dispositions). */
export interface DeskCodes {
  readonly notReadyReasons: ReadonlySet<string>;
  readonly dispositions: ReadonlySet<string>;
}

/** The codes of a topology that names none (topology/src/schema.ts defaults). */
export const DEFAULT_DESK_CODES: DeskCodes = {
  notReadyReasons: new Set(DEFAULT_NOT_READY_REASONS.map((r) => r.code)),
  dispositions: new Set(DEFAULT_DISPOSITIONS.map((d) => d.code)),
};

export interface AgentControlDeps {
  readonly desk: AgentDesk;
  /** Ends agents' wrap-ups with what they recorded (the call flow); none: always refused. */
  readonly wrapUps?: WrapUpDesk;
  /** Default DEFAULT_DESK_CODES. */
  readonly codes?: DeskCodes;
  /** This site's id and its agents' tenants, which authorisation reads. */
  readonly site: SiteFacts;
  /** Where this site's agents' phones may be (the topology's sites[].phoneNetwork). */
  readonly phoneNetwork: PhoneNetwork;
  /**
   * The domain of the site's browser agents' addresses of record (topology sipDomainOf): an agent
   * may log in at its own, sip:<agent id>@<domain>, where its browser registers.
   */
  readonly sipDomain?: string;
  readonly log: Logger;
}

/** The AgentControl service over `desk`: every answer is the desk's view, or a gRPC status. */
export function createAgentControlService({
  desk,
  wrapUps,
  codes = DEFAULT_DESK_CODES,
  site,
  phoneNetwork,
  sipDomain,
  log,
}: AgentControlDeps): Omit<
  site.AgentControlServiceImplementation,
  // recording-rpcs.ts, monitor-rpcs.ts, transfer-rpc.ts, callback-rpcs.ts, campaign-rpcs.ts
  | 'createCampaign'
  | 'startCampaign'
  | 'pauseCampaign'
  | 'listCampaigns'
  | 'getPreview'
  | 'decidePreview'
  | 'requestCallback'
  | 'listCallbacks'
  | 'cancelCallback'
  | 'pauseRecording'
  | 'resumeRecording'
  | 'startMonitor'
  | 'answerMonitor'
  | 'stopMonitor'
  | 'transferCall'
> {
  const serve = async <T>(rpc: string, agentId: string, run: () => T): Promise<T> => {
    try {
      return run();
    } catch (err) {
      throw toServerError(err, () => internalError(log, rpc, err, agentId ? { agentId } : {}));
    }
  };
  /** Authorises `rpc` on one agent, then runs it with the agent's checked id. */
  const onAgent = <T>(
    rpc: AgentRpc | WrapUpRpc,
    agentId: string,
    context: CallContext,
    run: (id: string) => T,
  ) =>
    serve(rpc, agentId, () => {
      permit(context, site, { rpc, agentId }, log);
      return run(checkAgentId(agentId));
    });

  /** The phone must be one of the site's: the site will relay the agent's calls to it. */
  const inPhoneNetwork = (agentId: string, contactUri: string, host: string): string => {
    // A browser agent's address of record: Kamailio delivers to the browser registered there, and
    // only the agent's own credentials may register it.
    if (sipDomain !== undefined && host.toLowerCase() === sipDomain.toLowerCase()) {
      if (contactUri === `sip:${agentId}@${sipDomain}`) return contactUri;
      const message = `contact_uri ${clip(contactUri)} is not agent ${agentId}'s own address of record at site ${site.siteId} (sip:${agentId}@${sipDomain})`;
      log.warn({ event: 'agent_contact_refused', agentId, host: host.slice(0, 64) }, message);
      throw new ServerError(Status.PERMISSION_DENIED, message);
    }
    if (phoneNetwork.contains(host)) return contactUri;
    const message =
      `contact_uri host ${clip(host)} is outside site ${site.siteId}'s phone network ` +
      `(${phoneNetwork.entries.join(', ')}; the topology's sites[].phoneNetwork)`;
    log.warn({ event: 'agent_contact_refused', agentId, host: host.slice(0, 64) }, message);
    throw new ServerError(Status.PERMISSION_DENIED, message);
  };

  return {
    login: (req, context) =>
      onAgent('Login', req.agentId, context, (agentId) => {
        const { uri, host } = checkContactUri(req.contactUri);
        const contactUri = inPhoneNetwork(agentId, uri, host);
        return { agent: toAgentStatus(desk.login(agentId, contactUri)) };
      }),
    setReady: (req, context) =>
      onAgent('SetReady', req.agentId, context, (agentId) => ({
        agent: toAgentStatus(desk.ready(agentId)),
      })),
    setNotReady: (req, context) =>
      onAgent('SetNotReady', req.agentId, context, (agentId) => {
        const reason = checkReasonCode(req.reasonCode, codes.notReadyReasons);
        return { agent: toAgentStatus(desk.notReady(agentId, reason)) };
      }),
    logout: (req, context) =>
      onAgent('Logout', req.agentId, context, (agentId) => ({
        agent: toAgentStatus(desk.logout(agentId)),
      })),
    completeWrapUp: (req, context) =>
      onAgent('CompleteWrapUp', req.agentId, context, (agentId) => {
        const record = checkWrapUp(req, codes.dispositions);
        if (!wrapUps)
          throw new ServerError(Status.FAILED_PRECONDITION, 'this site records no wrap-ups');
        try {
          wrapUps.completeWrapUp(agentId, record.callId, record);
        } catch (err) {
          if (err instanceof WrapUpError)
            throw new ServerError(Status.FAILED_PRECONDITION, err.message);
          throw err;
        }
        log.info(
          {
            event: 'wrap_up_recorded',
            agentId,
            callId: record.callId,
            disposition: record.disposition,
          },
          'agent recorded its wrap-up',
        );
        return { agent: toAgentStatus(desk.agents().find((v) => v.agentId === agentId)!) };
      }),
    listAgents: (req, context) =>
      serve('ListAgents', '', () => {
        const scope = permit(context, site, { rpc: 'ListAgents' }, log);
        // An empty skill is proto3's "not set": every agent of the site.
        const views = req.skill ? desk.agents(checkId('skill', req.skill)) : desk.agents();
        return { agents: views.filter((v) => inScope(scope, v)).map(toAgentStatus) };
      }),
    listQueues: (_req, context) =>
      serve('ListQueues', '', () => {
        const scope = permit(context, site, { rpc: 'ListQueues' }, log);
        const queues = desk
          .queues()
          .map((q) => ({ ...q, calls: q.calls.filter((c) => inScope(scope, c)) }));
        return { queues: queues.map(toQueueStatus) };
      }),
  };
}

function toServerError(err: unknown, otherwise: () => ServerError): ServerError {
  if (err instanceof ServerError) return err;
  if (err instanceof InvalidRequestError)
    return new ServerError(Status.INVALID_ARGUMENT, err.message);
  // Before any other AcdError: UnknownAgentError is the one AcdError that is the caller's.
  if (err instanceof UnknownAgentError) return new ServerError(Status.NOT_FOUND, err.message);
  if (err instanceof IllegalTransitionError) {
    return new ServerError(Status.FAILED_PRECONDITION, err.message);
  }
  return otherwise();
}

// ---- request checks ----------------------------------------------------------------------------

const invalid = (message: string): never => {
  throw new ServerError(Status.INVALID_ARGUMENT, message);
};

/** A value quoted for an error message, cut short so a huge field does not fill the message. */
function clip(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** Agent and skill ids come from the topology file, so its id rule says what is well-formed. */
function checkId(field: string, value: string): string {
  if (!value) invalid(`${field} is required`);
  if (!ID_PATTERN.test(value)) {
    invalid(
      `${field} ${clip(value)} is malformed: expected lowercase letters, digits and "-", ` +
        'starting with a letter, at most 32 characters',
    );
  }
  return value;
}

const checkAgentId = (value: string) => checkId('agent_id', value);

function checkReasonCode(value: string, known: ReadonlySet<string>): string {
  if (!value) invalid('reason_code is required');
  if (!REASON_CODE_PATTERN.test(value)) {
    invalid(`reason_code ${clip(value)} is malformed: expected ${REASON_CODE_RULE}`);
  }
  if (!known.has(value))
    invalid(
      `reason_code ${clip(value)} is not one of the topology's notReadyReasons (${[...known].join(', ')})`,
    );
  return value;
}

const SEVERITIES: ReadonlySet<ComplaintSeverity> = new Set([
  ComplaintSeverity.COMPLAINT_SEVERITY_NONE,
  ComplaintSeverity.COMPLAINT_SEVERITY_MINOR,
  ComplaintSeverity.COMPLAINT_SEVERITY_MAJOR,
  ComplaintSeverity.COMPLAINT_SEVERITY_CRITICAL,
]);

/** A wrap-up's fields, checked: a known disposition, a severity, a storable note. */
function checkWrapUp(
  req: site.CompleteWrapUpRequest,
  dispositions: ReadonlySet<string>,
): WrapUpRecord & { callId: string } {
  if (!req.callId) invalid('call_id is required');
  if (req.callId.length > 128 || !/^[\x21-\x7e]+$/.test(req.callId))
    invalid(`call_id ${clip(req.callId)} is malformed`);
  if (!dispositions.has(req.disposition))
    invalid(
      `disposition ${clip(req.disposition)} is not one of the topology's dispositions (${[...dispositions].join(', ')})`,
    );
  if (!SEVERITIES.has(req.complaintSeverity))
    invalid('complaint_severity is required: none, minor, major or critical');
  const problem = wrapUpNoteProblem(req.note);
  if (problem) invalid(problem);
  return {
    callId: req.callId,
    disposition: req.disposition,
    resolvedFirstContact: req.resolvedFirstContact,
    complaintSeverity: req.complaintSeverity,
    note: req.note,
  };
}

const MAX_CONTACT_URI = 256;

// Narrower than RFC 3261 on purpose: the contact becomes the target Kamailio relays calls to, and
// travels there inside evapi JSON, so only an optional user, a host name, IPv4 or bracketed IPv6
// address, a port and simple ;parameters are accepted. Only `sip:`: the site proxy has no TLS
// listener, so a `sips:` phone could never be reached.
const CONTACT_URI =
  /^sip:(?:[A-Za-z0-9._~+-]+@)?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(?:;[A-Za-z0-9=._-]+)*$/;

/** The contact URI and its host (an IPv6 address still in brackets), or INVALID_ARGUMENT. */
function checkContactUri(value: string): { uri: string; host: string } {
  if (!value) invalid('contact_uri is required: the sip: URI of the agent’s phone');
  if (value.length > MAX_CONTACT_URI) {
    invalid(`contact_uri is ${value.length} characters long; at most ${MAX_CONTACT_URI} allowed`);
  }
  const match = CONTACT_URI.exec(value);
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  if (!match || (port !== undefined && (port < 1 || port > 65535))) {
    return invalid(
      `contact_uri ${clip(value)} is not a sip: URI with a host, like sip:sh-001@127.0.0.1:5090`,
    );
  }
  return { uri: value, host: match[1]! };
}

// ---- views → messages -------------------------------------------------------------------------

function toAgentStatus(view: AgentView): site.AgentStatus {
  const state = view.state;
  return {
    agentId: view.agentId,
    tenantId: view.tenantId,
    state: agentStateEnum(state),
    reasonCode: state.name === 'not_ready' ? state.reason : '',
    callId: 'callId' in state ? state.callId : '',
    // 0 means "not since this process started": an unset timestamp, not 1970.
    stateSince: view.sinceMs > 0 ? new Date(view.sinceMs) : undefined,
    skills: Object.entries(view.skills).map(([skill, proficiency]) => ({ skill, proficiency })),
  };
}

function toQueueStatus(view: QueueView): site.QueueStatus {
  return {
    skill: view.skill,
    calls: view.calls.map((c) => ({
      callId: c.callId,
      tier: toTier(c.tier),
      arrivalTime: new Date(c.arrivalMs),
      expectedWaitMs: c.expectedWaitMs,
    })),
  };
}

/** The ACD ranks calls by the CustomerTier value itself; anything else is reported unspecified. */
function toTier(tier: number): CustomerTier {
  return tier > 0 && CustomerTier[tier] !== undefined
    ? tier
    : CustomerTier.CUSTOMER_TIER_UNSPECIFIED;
}
