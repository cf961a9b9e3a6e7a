// The agents' desk: what agents and supervisors do through the control API (log in at a phone,
// ready, not ready, log out, look at agents and queues), over the site's ACD. The state rules are
// the ACD's; this adds the phones agents log in at and when each agent's state last changed.
import type { Topology } from '@ccfed/topology';
import type { Acd, Effects } from './acd/acd.js';
import { InvalidRequestError, type AgentDesk, type AgentView, type QueueView } from './desk.js';

/** The SIP URI an agent's phone may be reached at: sip:user@host[:port][;params]. */
const SIP_URI =
  /^sips?:(?:[A-Za-z0-9._~!$&'()*+,;=%-]+@)?[A-Za-z0-9.-]+(?::\d{1,5})?(?:;[\w=.-]*)*$/;
const MAX_URI_LENGTH = 256;

/** One agent's entry of the roster, as site-state.ts keeps it. */
export interface RosterEntry {
  readonly agentId: string;
  readonly sinceMs: number;
  readonly contactUri: string;
}

/** Per agent: the phone they logged in at, and when their state last changed. */
export class AgentRoster {
  private readonly records = new Map<string, { sinceMs: number; contactUri: string }>();

  constructor(agentIds: Iterable<string>) {
    for (const id of agentIds) this.records.set(id, { sinceMs: 0, contactUri: '' });
  }

  contactOf(agentId: string): string {
    return this.records.get(agentId)?.contactUri ?? '';
  }

  setContact(agentId: string, contactUri: string): void {
    this.records.get(agentId)!.contactUri = contactUri;
  }

  sinceOf(agentId: string): number {
    return this.records.get(agentId)?.sinceMs ?? 0;
  }

  /** Every agent's phone and state-change time, for site-state.ts. */
  snapshot(): RosterEntry[] {
    return [...this.records].map(([agentId, r]) => ({ agentId, ...r }));
  }

  /** Takes up a snapshot of a previous run; agents this site no longer has are left out. */
  restore(entries: readonly RosterEntry[]): void {
    for (const e of entries) {
      const r = this.records.get(e.agentId);
      if (r) Object.assign(r, { sinceMs: e.sinceMs, contactUri: e.contactUri });
    }
  }

  /** The agent's state changed at `nowMs`. */
  changed(agentId: string, nowMs: number): void {
    const r = this.records.get(agentId);
    if (r) r.sinceMs = nowMs;
  }
}

export interface SiteDeskDeps {
  readonly acd: Acd;
  readonly topology: Topology;
  readonly roster: AgentRoster;
  /** Carries out what a change caused (events, ringing an agent a waiting call now goes to). */
  readonly carryOut: (fx: Effects) => void;
}

export class SiteDesk implements AgentDesk {
  constructor(private readonly deps: SiteDeskDeps) {}

  login(agentId: string, contactUri: string): AgentView {
    if (contactUri.length > MAX_URI_LENGTH || !SIP_URI.test(contactUri))
      throw new InvalidRequestError(
        `contact URI ${JSON.stringify(contactUri.slice(0, 64))} is not a sip: URI of at most ${MAX_URI_LENGTH} characters`,
      );
    this.deps.acd.agentState(agentId); // unknown agent → UnknownAgentError, before any change
    const fx = this.deps.acd.login(agentId);
    this.deps.roster.setContact(agentId, contactUri);
    return this.after(agentId, fx);
  }

  ready(agentId: string): AgentView {
    return this.after(agentId, this.deps.acd.ready(agentId));
  }

  notReady(agentId: string, reason: string): AgentView {
    return this.after(agentId, this.deps.acd.notReady(agentId, reason));
  }

  logout(agentId: string): AgentView {
    const fx = this.deps.acd.logout(agentId);
    this.deps.roster.setContact(agentId, '');
    return this.after(agentId, fx);
  }

  agents(skill?: string): AgentView[] {
    if (skill && !this.deps.topology.skills.some((s) => s.id === skill))
      throw new InvalidRequestError(`unknown skill ${JSON.stringify(skill.slice(0, 32))}`);
    return this.deps.acd
      .agentList()
      .filter(({ agent }) => !skill || skill in agent.skills)
      .map(({ agent }) => this.view(agent.id));
  }

  queues(): QueueView[] {
    const { acd, topology } = this.deps;
    return topology.skills.map((s) => ({
      skill: s.id,
      calls: acd.queuedCalls(s.id).map((c) => ({
        callId: c.callId,
        tenantId: c.tenantId,
        tier: c.tier,
        arrivalMs: c.arrivalMs,
        expectedWaitMs: acd.expectedWaitOf(c.callId) ?? 0,
      })),
    }));
  }

  private after(agentId: string, fx: Effects): AgentView {
    this.deps.carryOut(fx);
    return this.view(agentId);
  }

  private view(agentId: string): AgentView {
    const { agent, state } = this.deps.acd.agentList().find((e) => e.agent.id === agentId)!;
    return {
      agentId,
      tenantId: agent.tenantId,
      state,
      sinceMs: this.deps.roster.sinceOf(agentId),
      skills: agent.skills,
      contactUri: this.deps.roster.contactOf(agentId),
    };
  }
}
