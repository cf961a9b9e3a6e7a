// What agents and supervisors may ask of a site: the contract between the control API (gRPC
// adapter, site-agent/src/grpc/) and the site's call flow (site-agent/src/call-flow.ts), which
// owns the ACD. Every method either does what it says or throws one of the errors below, with
// nothing changed.
import type { AgentState } from './acd/agent-state.js';

export interface AgentView {
  readonly agentId: string;
  readonly tenantId: string;
  readonly state: AgentState;
  /** When the agent entered `state` (epoch ms); 0 when never logged in since start. */
  readonly sinceMs: number;
  /** Skill id → proficiency 1..10. */
  readonly skills: Readonly<Record<string, number>>;
  /** The phone the agent logged in at; empty when logged out. */
  readonly contactUri: string;
}

export interface QueuedCallView {
  readonly callId: string;
  /** Whose call it is: a tenant's supervisor sees only that tenant's calls. */
  readonly tenantId: string;
  readonly tier: number;
  readonly arrivalMs: number;
  readonly expectedWaitMs: number;
}

export interface QueueView {
  readonly skill: string;
  /** In service order. */
  readonly calls: readonly QueuedCallView[];
}

export interface AgentDesk {
  /** Logs the agent in at the phone `contactUri` (a sip: URI); the agent starts not-ready. */
  login(agentId: string, contactUri: string): AgentView;
  ready(agentId: string): AgentView;
  /** Not-ready now, or after the current call's wrap-up when the agent is busy. */
  notReady(agentId: string, reason: string): AgentView;
  logout(agentId: string): AgentView;
  /** Every agent of the site, or those with `skill` when given. Throws for an unknown skill. */
  agents(skill?: string): AgentView[];
  queues(): QueueView[];
}

/** A request that cannot be carried out as asked: a malformed field, an unknown skill. */
export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}
