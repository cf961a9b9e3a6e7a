// The AgentControl gRPC service: a thin adapter from requests to the site's AgentDesk.
//
// It checks the shape of each field before the desk sees it, so that a malformed request is
// INVALID_ARGUMENT (the caller's bug, not worth retrying) rather than a misleading NOT_FOUND, and
// so that no arbitrary string reaches a log line or the Kamailio relay target. Whether a state
// change is allowed is decided by the desk (the ACD's state machine) alone; its refusals come
// back as FAILED_PRECONDITION with the state machine's own message.
//
// Status mapping:
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
import { ID_PATTERN } from '@ccfed/topology';
import { ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import { UnknownAgentError } from '../acd/acd.js';
import {
  IllegalTransitionError,
  REASON_CODE_PATTERN,
  REASON_CODE_RULE,
} from '../acd/agent-state.js';
import { InvalidRequestError, type AgentDesk, type AgentView, type QueueView } from '../desk.js';
import { agentStateEnum } from '../events/agent-event.js';
import { internalError } from './internal-error.js';

export interface AgentControlDeps {
  readonly desk: AgentDesk;
  readonly log: Logger;
}

/** The AgentControl service over `desk`: every answer is the desk's view, or a gRPC status. */
export function createAgentControlService({
  desk,
  log,
}: AgentControlDeps): site.AgentControlServiceImplementation {
  const serve = async <T>(rpc: string, agentId: string, run: () => T): Promise<T> => {
    try {
      return run();
    } catch (err) {
      throw toServerError(err, () => internalError(log, rpc, err, agentId ? { agentId } : {}));
    }
  };

  return {
    login: (req) =>
      serve('Login', req.agentId, () => {
        const agentId = checkAgentId(req.agentId);
        const contactUri = checkContactUri(req.contactUri);
        return { agent: toAgentStatus(desk.login(agentId, contactUri)) };
      }),
    setReady: (req) =>
      serve('SetReady', req.agentId, () => ({
        agent: toAgentStatus(desk.ready(checkAgentId(req.agentId))),
      })),
    setNotReady: (req) =>
      serve('SetNotReady', req.agentId, () => {
        const agentId = checkAgentId(req.agentId);
        const reason = checkReasonCode(req.reasonCode);
        return { agent: toAgentStatus(desk.notReady(agentId, reason)) };
      }),
    logout: (req) =>
      serve('Logout', req.agentId, () => ({
        agent: toAgentStatus(desk.logout(checkAgentId(req.agentId))),
      })),
    listAgents: (req) =>
      serve('ListAgents', '', () => {
        // An empty skill is proto3's "not set": every agent of the site.
        const views = req.skill ? desk.agents(checkId('skill', req.skill)) : desk.agents();
        return { agents: views.map(toAgentStatus) };
      }),
    listQueues: () => serve('ListQueues', '', () => ({ queues: desk.queues().map(toQueueStatus) })),
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
  /^sip:(?:[A-Za-z0-9._~+-]+@)?(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(?:;[A-Za-z0-9=._-]+)*$/;

function checkContactUri(value: string): string {
  if (!value) invalid('contact_uri is required: the sip: URI of the agent’s phone');
  if (value.length > MAX_CONTACT_URI) {
    invalid(`contact_uri is ${value.length} characters long; at most ${MAX_CONTACT_URI} allowed`);
  }
  const match = CONTACT_URI.exec(value);
  const port = match?.[1] === undefined ? undefined : Number(match[1]);
  if (!match || (port !== undefined && (port < 1 || port > 65535))) {
    invalid(
      `contact_uri ${clip(value)} is not a sip: URI with a host, like sip:sh-001@127.0.0.1:5090`,
    );
  }
  return value;
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
