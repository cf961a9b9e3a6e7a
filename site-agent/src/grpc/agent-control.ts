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

import { CustomerTier, type site } from '@ccfed/proto';
import { ID_PATTERN, type PhoneNetwork } from '@ccfed/topology';
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
import { inScope, type AgentRpc, type SiteFacts } from './authorise.js';
import { internalError } from './internal-error.js';
import { permit } from './permit.js';

export interface AgentControlDeps {
  readonly desk: AgentDesk;
  /** This site's id and its agents' tenants, which authorisation reads. */
  readonly site: SiteFacts;
  /** Where this site's agents' phones may be (the topology's sites[].phoneNetwork). */
  readonly phoneNetwork: PhoneNetwork;
  readonly log: Logger;
}

/** The AgentControl service over `desk`: every answer is the desk's view, or a gRPC status. */
export function createAgentControlService({
  desk,
  site,
  phoneNetwork,
  log,
}: AgentControlDeps): Omit<
  site.AgentControlServiceImplementation,
  // recording-rpcs.ts, transfer-rpc.ts
  'pauseRecording' | 'resumeRecording' | 'transferCall'
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
    rpc: AgentRpc,
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
        const reason = checkReasonCode(req.reasonCode);
        return { agent: toAgentStatus(desk.notReady(agentId, reason)) };
      }),
    logout: (req, context) =>
      onAgent('Logout', req.agentId, context, (agentId) => ({
        agent: toAgentStatus(desk.logout(agentId)),
      })),
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

function checkReasonCode(value: string): string {
  if (!value) invalid('reason_code is required');
  if (!REASON_CODE_PATTERN.test(value)) {
    invalid(`reason_code ${clip(value)} is malformed: expected ${REASON_CODE_RULE}`);
  }
  return value;
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
