// The nationwide live picture the console's wall shows: the newest snapshot of every site, the
// current state of every agent, and today's overflow counts per scope. Pure: the Kafka feed and
// the ClickHouse poller write into it, and view() cuts out what one caller may see.
//
// Scoping happens here, on the server, for every push: HQ gets everything; a site supervisor
// only its site; a tenant client only its tenant's figures from the snapshots' per-tenant
// arrays (never the site totals, which count other tenants' calls) and only its own agents.
import type { Scope } from '@ccfed/analytics/scope';
import { AgentState, type AgentEvent, type SiteSnapshot } from '@ccfed/proto';

/** The agent states the wall counts, in the order it shows them. */
export const AGENT_STATES = [
  'ready',
  'reserved',
  'on_call',
  'wrap_up',
  'not_ready',
  'logged_out',
] as const;
export type AgentStateName = (typeof AGENT_STATES)[number];

const STATE_NAMES: Partial<Record<AgentState, AgentStateName>> = {
  [AgentState.AGENT_STATE_READY]: 'ready',
  [AgentState.AGENT_STATE_RESERVED]: 'reserved',
  [AgentState.AGENT_STATE_ON_CALL]: 'on_call',
  [AgentState.AGENT_STATE_WRAP_UP]: 'wrap_up',
  [AgentState.AGENT_STATE_NOT_READY]: 'not_ready',
  [AgentState.AGENT_STATE_LOGGED_OUT]: 'logged_out',
};

/** What the topology says about an agent: the tenant it serves and its skills. */
export interface AgentDirectoryEntry {
  readonly siteId: string;
  readonly tenantId: string;
  readonly skills: readonly string[];
}

/** Today's call counts of one site, skill and tenant, from call_rollup_15m. */
export interface TodayCounts {
  readonly siteId: string;
  readonly skill: string;
  readonly tenantId: string;
  readonly offered: number;
  readonly answered: number;
  readonly answeredInSl: number;
  readonly abandoned: number;
  readonly overflowIn: number;
  readonly overflowOut: number;
}

export type AgentsByState = Record<AgentStateName, number>;

export interface LiveSkill {
  readonly skill: string;
  readonly queued: number;
  /** Null for a tenant client: the snapshot has no per-tenant oldest wait. */
  readonly oldestWaitMs: number | null;
  readonly staffed: number;
  readonly idle: number;
  readonly expectedWaitMs: number;
  /** Agents of this skill on a call now (agents with this skill in the topology). */
  readonly callsInProgress: number;
  readonly answeredToday: number;
  readonly abandonedToday: number;
  /** Answered within the threshold / answered; null before the first answer of the day. */
  readonly serviceLevelToday: number | null;
  /** Abandoned / (answered + abandoned); null before the first of either. */
  readonly abandonRateToday: number | null;
  readonly overflowInToday: number;
  readonly overflowOutToday: number;
  readonly agentsByState: AgentsByState;
}

export interface LiveAgent {
  readonly agentId: string;
  readonly siteId: string;
  readonly tenantId: string | null;
  readonly skills: readonly string[];
  readonly state: AgentStateName;
  readonly since: string;
  readonly callId: string | null;
}

/**
 * A site whose newest snapshot is older than this is shown unreachable: snapshots go at least
 * every second, so two in a row have not arrived (a site cut off the WAN, docs/operations.md).
 */
export const UNREACHABLE_AFTER_MS = 2_000;

export interface LiveSite {
  readonly siteId: string;
  readonly acceptingOverflow: boolean;
  readonly snapshotAt: string;
  /** False once the newest snapshot is older than UNREACHABLE_AFTER_MS at the view's time. */
  readonly reachable: boolean;
  readonly skills: readonly LiveSkill[];
  readonly agentsByState: AgentsByState;
  readonly agents: readonly LiveAgent[];
}

/** One push of the live feed to one caller. */
export interface LiveView {
  readonly generatedAt: string;
  readonly sites: readonly LiveSite[];
}

interface HeldSnapshot {
  readonly siteId: string;
  readonly at: number;
  readonly sequence: number;
  readonly snapshot: SiteSnapshot;
}

interface HeldAgent {
  readonly agentId: string;
  readonly siteId: string;
  readonly tenantId: string | null;
  readonly state: AgentStateName;
  readonly since: number;
  readonly callId: string | null;
}

/** An agent's state as stored in ClickHouse, to start from before Kafka brings its next change. */
export type SeedAgent = HeldAgent;

/** The scope's key for the today-counts it was polled with. */
export function scopeKey(scope: Scope): string {
  switch (scope.role) {
    case 'hq':
      return 'hq';
    case 'site':
      return `site:${scope.siteId}`;
    case 'tenant':
      return `tenant:${scope.tenantId}`;
  }
}

function emptyByState(): AgentsByState {
  return { ready: 0, reserved: 0, on_call: 0, wrap_up: 0, not_ready: 0, logged_out: 0 };
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

export class LiveState {
  private readonly snapshots = new Map<string, HeldSnapshot>();
  private readonly agents = new Map<string, HeldAgent>();
  private readonly today = new Map<string, readonly TodayCounts[]>();

  constructor(private readonly directory: ReadonlyMap<string, AgentDirectoryEntry> = new Map()) {}

  /** Keeps the snapshot unless one newer (event time, then sequence) is held; true if kept. */
  applySnapshot(snapshot: SiteSnapshot): boolean {
    const siteId = snapshot.meta?.siteId;
    const at = snapshot.meta?.eventTime?.getTime();
    if (!siteId || at === undefined || Number.isNaN(at)) return false;
    const held = this.snapshots.get(siteId);
    if (held && (held.at > at || (held.at === at && held.sequence >= snapshot.sequence))) {
      return false;
    }
    this.snapshots.set(siteId, { siteId, at, sequence: snapshot.sequence, snapshot });
    return true;
  }

  /** Keeps the agent's new state unless a later one is held; true if kept. */
  applyAgentEvent(event: AgentEvent): boolean {
    const siteId = event.meta?.siteId;
    const at = event.meta?.eventTime?.getTime();
    const state = STATE_NAMES[event.toState];
    if (!event.agentId || !siteId || at === undefined || Number.isNaN(at) || !state) return false;
    const held = this.agents.get(event.agentId);
    if (held && held.since > at) return false;
    this.agents.set(event.agentId, {
      agentId: event.agentId,
      siteId,
      // The topology names the tenant an agent serves; the event's own tenant is the fallback.
      tenantId: this.directory.get(event.agentId)?.tenantId ?? (event.meta?.tenantId || null),
      state,
      since: at,
      callId: event.callId || null,
    });
    return true;
  }

  /** Takes a stored state unless a newer one (from Kafka, or a newer row) is held; true if kept. */
  seedAgent(agent: SeedAgent): boolean {
    const held = this.agents.get(agent.agentId);
    if (held && held.since >= agent.since) return false;
    this.agents.set(agent.agentId, {
      ...agent,
      tenantId: this.directory.get(agent.agentId)?.tenantId ?? agent.tenantId,
    });
    return true;
  }

  /** Every agent of `siteId` with a known state, by id (the caller filters by scope). */
  agentsAt(siteId: string): SeedAgent[] {
    return [...this.agents.values()]
      .filter((a) => a.siteId === siteId)
      .sort((a, b) => a.agentId.localeCompare(b.agentId));
  }

  /** Replaces today's counts polled for one scope. */
  setToday(scope: Scope, counts: readonly TodayCounts[]): void {
    this.today.set(scopeKey(scope), counts);
  }

  /** What `scope` may see, now. */
  view(scope: Scope, now: number): LiveView {
    const today = this.today.get(scopeKey(scope)) ?? [];
    const agents = [...this.agents.values()].filter((a) => agentVisible(scope, a));
    const sites: LiveSite[] = [];
    for (const held of [...this.snapshots.values()].sort((a, b) =>
      a.siteId.localeCompare(b.siteId),
    )) {
      if (scope.role === 'site' && held.siteId !== scope.siteId) continue;
      const siteAgents = agents
        .filter((a) => a.siteId === held.siteId)
        .map((a) => this.liveAgent(a))
        .sort((a, b) => a.agentId.localeCompare(b.agentId));
      const skills: LiveSkill[] = [];
      for (const s of held.snapshot.skills) {
        const skillAgents = siteAgents.filter((a) => a.skills.includes(s.skill));
        const counts = today.filter((c) => c.siteId === held.siteId && c.skill === s.skill);
        const sum = (k: keyof Omit<TodayCounts, 'siteId' | 'skill' | 'tenantId'>) =>
          counts.reduce((n, c) => n + c[k], 0);
        const byState = countStates(skillAgents);
        const common = {
          skill: s.skill,
          callsInProgress: byState.on_call,
          overflowInToday: sum('overflowIn'),
          overflowOutToday: sum('overflowOut'),
          agentsByState: byState,
        };
        if (scope.role === 'tenant') {
          const mine = s.tenants.find((t) => t.tenantId === scope.tenantId);
          if (!mine) continue;
          const answered = sum('answered');
          const abandoned = sum('abandoned');
          skills.push({
            ...common,
            queued: mine.queued,
            oldestWaitMs: null,
            staffed: mine.agentsStaffed,
            idle: mine.agentsIdle,
            expectedWaitMs: mine.expectedWaitMs,
            answeredToday: answered,
            abandonedToday: abandoned,
            serviceLevelToday: ratio(sum('answeredInSl'), answered),
            abandonRateToday: ratio(abandoned, answered + abandoned),
          });
        } else {
          skills.push({
            ...common,
            queued: s.queued,
            oldestWaitMs: s.oldestWaitMs,
            staffed: s.agentsStaffed,
            idle: s.agentsIdle,
            expectedWaitMs: s.expectedWaitMs,
            answeredToday: s.answeredToday,
            abandonedToday: s.abandonedToday,
            serviceLevelToday: ratio(s.answeredWithinThresholdToday, s.answeredToday),
            abandonRateToday: ratio(s.abandonedToday, s.answeredToday + s.abandonedToday),
          });
        }
      }
      if (scope.role === 'tenant' && skills.length === 0 && siteAgents.length === 0) continue;
      sites.push({
        siteId: held.siteId,
        acceptingOverflow: held.snapshot.acceptingOverflow,
        snapshotAt: new Date(held.at).toISOString(),
        reachable: now - held.at <= UNREACHABLE_AFTER_MS,
        skills,
        agentsByState: countStates(siteAgents),
        agents: siteAgents,
      });
    }
    return { generatedAt: new Date(now).toISOString(), sites };
  }

  private liveAgent(a: HeldAgent): LiveAgent {
    return {
      agentId: a.agentId,
      siteId: a.siteId,
      tenantId: a.tenantId,
      skills: this.directory.get(a.agentId)?.skills ?? [],
      state: a.state,
      since: new Date(a.since).toISOString(),
      callId: a.callId,
    };
  }
}

function agentVisible(scope: Scope, a: HeldAgent): boolean {
  switch (scope.role) {
    case 'hq':
      return true;
    case 'site':
      return a.siteId === scope.siteId;
    case 'tenant':
      // An agent whose tenant is unknown is nobody's to show.
      return a.tenantId === scope.tenantId;
  }
}

function countStates(agents: readonly { readonly state: AgentStateName }[]): AgentsByState {
  const byState = emptyByState();
  for (const a of agents) byState[a.state] += 1;
  return byState;
}
