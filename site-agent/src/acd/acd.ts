// The automatic call distributor of one site. Pure: the clock is injected, nothing here does
// I/O. Every method returns the effects the adapters must carry out (relay a call to an agent,
// publish an agent's state change); the same code runs live and in the routing simulator.

import type { Clock } from '@ccfed/common';
import {
  IllegalTransitionError,
  transition,
  type AgentAction,
  type AgentState,
} from './agent-state.js';
import { expectedWaitMs, HandleTimeAverage, WaitCalibration } from './ewt.js';
import { eligibleAt, servedBefore, SkillQueue, type QueuedCall } from './queue.js';

export interface AcdSkill {
  readonly id: string;
  readonly serviceLevelThresholdMs: number;
  readonly wrapUpMs: number;
  readonly averageHandleMs: number;
  /** A call of this skill waiting at least afterMs may also go to agents of `skill`. */
  readonly secondChoice?: { readonly skill: string; readonly afterMs: number };
}

export interface AcdAgent {
  readonly id: string;
  readonly tenantId: string;
  /** Skill id → proficiency 1..10. */
  readonly skills: Readonly<Record<string, number>>;
}

export interface AcdDeps {
  readonly clock: Clock;
  readonly skills: readonly AcdSkill[];
  readonly agents: readonly AcdAgent[];
}

/** The ACD chose `agentId` for `callId`: ring the agent. */
export interface Assignment {
  readonly callId: string;
  readonly agentId: string;
  readonly skill: string;
  readonly waitedMs: number;
}

export interface AgentChange {
  readonly agentId: string;
  readonly tenantId: string;
  readonly from: AgentState;
  readonly to: AgentState;
}

export interface Effects {
  readonly assignments: Assignment[];
  readonly agentChanges: AgentChange[];
}

export type OfferResult =
  | { readonly kind: 'assigned'; readonly assignment: Assignment; readonly effects: Effects }
  | {
      readonly kind: 'queued';
      readonly position: number;
      /** The capacity model's wait: what routing compares sites by. */
      readonly expectedWaitMs: number;
      /** The wait to tell the caller: the model calibrated on how long calls here really waited. */
      readonly announcedWaitMs: number;
      /** Calls of the caller's tenant ahead of it in service order. */
      readonly callsAhead: number;
      readonly effects: Effects;
    };

export interface TenantSkillStatus {
  readonly tenantId: string;
  readonly queued: number;
  readonly staffed: number;
  readonly idle: number;
  /** EWT of a new standard-tier call of this tenant arriving now. */
  readonly expectedWaitMs: number;
}

export interface SkillStatus {
  readonly skill: string;
  readonly queued: number;
  readonly oldestWaitMs: number;
  readonly staffed: number;
  readonly idle: number;
  /** EWT of a new standard-tier call arriving now. */
  readonly expectedWaitMs: number;
  /** Average handle time (talk + wrap-up) the EWT uses. */
  readonly averageHandleMs: number;
  /** The same per tenant with seats at this site (a tenant's call waits for its own seats). */
  readonly tenants: readonly TenantSkillStatus[];
}

interface AgentRecord {
  readonly agent: AcdAgent;
  state: AgentState;
  /** When the agent last became ready: longest idle goes first. */
  readySinceMs: number;
  /** Not-ready reason requested while busy, applied after wrap-up. */
  pendingNotReady?: string;
}

interface CallRecord {
  readonly call: QueuedCall;
  phase: 'queued' | 'ringing' | 'talking';
  agentId?: string;
  answeredMs?: number;
  /** When the call first queued here, and what the model said then: calibrates the forecast. */
  queued?: { readonly atMs: number; readonly modelMs: number; readonly ahead: number };
}

/**
 * What the ACD holds that a restart of the site agent must not lose (site-state.ts keeps it on
 * disk): each agent's state, and each call with its place (arrival time and tier) and agent.
 */
export interface AcdSnapshot {
  readonly agents: readonly {
    readonly agentId: string;
    readonly state: AgentState;
    readonly readySinceMs: number;
    readonly pendingNotReady?: string;
  }[];
  readonly calls: readonly {
    readonly call: QueuedCall;
    readonly phase: 'queued' | 'ringing' | 'talking';
    readonly agentId?: string;
    readonly answeredMs?: number;
  }[];
}

/** Thrown for requests about calls or agents the ACD does not know. */
export class AcdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AcdError';
  }
}

/** Thrown for an agent id the site does not have. */
export class UnknownAgentError extends AcdError {
  constructor(readonly agentId: string) {
    super(`unknown agent ${agentId} at this site`);
    this.name = 'UnknownAgentError';
  }
}

const noEffects = (): Effects => ({ assignments: [], agentChanges: [] });

export class Acd {
  private readonly skills = new Map<string, AcdSkill>();
  private readonly queues = new Map<string, SkillQueue>();
  private readonly handle = new Map<string, HandleTimeAverage>();
  private readonly calibration = new Map<string, WaitCalibration>();
  private readonly agents = new Map<string, AgentRecord>();
  private readonly calls = new Map<string, CallRecord>();

  constructor(private readonly deps: AcdDeps) {
    for (const s of deps.skills) {
      this.skills.set(s.id, s);
      this.queues.set(s.id, new SkillQueue());
      this.handle.set(s.id, new HandleTimeAverage(s.averageHandleMs));
      this.calibration.set(s.id, new WaitCalibration());
    }
    for (const a of deps.agents) {
      for (const skill of Object.keys(a.skills)) {
        if (!this.skills.has(skill)) throw new AcdError(`agent ${a.id} has unknown skill ${skill}`);
      }
      this.agents.set(a.id, { agent: a, state: { name: 'logged_out' }, readySinceMs: 0 });
    }
  }

  private now(): number {
    return this.deps.clock.now();
  }

  // ---- restart --------------------------------------------------------------------------------

  /** Everything restore() needs to take up where this ACD is now. */
  snapshot(): AcdSnapshot {
    return {
      agents: [...this.agents.values()].map((r) => ({
        agentId: r.agent.id,
        state: r.state,
        readySinceMs: r.readySinceMs,
        ...(r.pendingNotReady === undefined ? {} : { pendingNotReady: r.pendingNotReady }),
      })),
      calls: [...this.calls.values()].map((r) => ({
        call: r.call,
        phase: r.phase,
        ...(r.agentId === undefined ? {} : { agentId: r.agentId }),
        ...(r.answeredMs === undefined ? {} : { answeredMs: r.answeredMs }),
      })),
    };
  }

  /**
   * Takes up a snapshot of a previous run in a fresh ACD, without effects (nothing happened: the
   * agents and calls were in these states all along); queued calls take their places by tier and
   * arrival time. What this site no longer has (an agent or skill gone from the topology, an
   * agent in two calls) is left out and named in the result. Call dispatch() after, through
   * tick(), to give waiting calls to ready agents.
   */
  restore(snapshot: AcdSnapshot): string[] {
    if (this.calls.size > 0) throw new AcdError('restore() is for a fresh ACD');
    const problems: string[] = [];
    for (const a of snapshot.agents) {
      const rec = this.agents.get(a.agentId);
      if (!rec) {
        problems.push(`agent ${a.agentId} is no longer at this site`);
        continue;
      }
      rec.state = a.state;
      rec.readySinceMs = a.readySinceMs;
      if (a.pendingNotReady !== undefined) rec.pendingNotReady = a.pendingNotReady;
    }
    for (const c of snapshot.calls) {
      const queue = this.queues.get(c.call.skill);
      if (!queue) {
        problems.push(`call ${c.call.callId}: skill ${c.call.skill} is no longer at this site`);
        continue;
      }
      const agent = c.agentId === undefined ? undefined : this.agents.get(c.agentId);
      const busyWith = agent && 'callId' in agent.state ? agent.state.callId : undefined;
      if (c.phase !== 'queued' && busyWith !== c.call.callId) {
        problems.push(`call ${c.call.callId}: agent ${c.agentId} is not on it`);
        continue;
      }
      this.calls.set(c.call.callId, {
        call: c.call,
        phase: c.phase,
        ...(c.agentId === undefined ? {} : { agentId: c.agentId }),
        ...(c.answeredMs === undefined ? {} : { answeredMs: c.answeredMs }),
      });
      if (c.phase === 'queued') queue.add(c.call);
    }
    // An agent busy with a call left out (one of another desk's, say a dialed call, which ended
    // with the process) is free again.
    for (const rec of this.agents.values()) {
      const s = rec.state;
      if ((s.name === 'reserved' || s.name === 'on_call') && !this.calls.has(s.callId)) {
        problems.push(
          `agent ${rec.agent.id} was ${s.name} on call ${s.callId}, which is gone: ready`,
        );
        rec.state = { name: 'ready' };
        rec.readySinceMs = this.now();
      }
    }
    return problems;
  }

  /**
   * A queued call is found ringing `agentId` (Kamailio relayed it after the last snapshot a
   * restarted site agent took up): it leaves the queue and the agent is reserved for it, as if
   * assigned, without an assignment to carry out. The phone ringing is the truth: the agent's
   * state in the snapshot (not ready, in wrap-up: it became ready since) gives way, unless it is on
   * or reserved for another call, which throws, as does a call not queued.
   */
  adoptRinging(callId: string, agentId: string): Effects {
    const rec = this.callRecord(callId, 'queued');
    const agent = this.agentRecord(agentId);
    const from = agent.state;
    if ((from.name === 'on_call' || from.name === 'reserved') && from.callId !== callId)
      throw new AcdError(`agent ${agentId} is ${from.name} on call ${from.callId}`);
    this.queues.get(rec.call.skill)!.remove(callId);
    rec.phase = 'ringing';
    rec.agentId = agentId;
    const to: AgentState = { name: 'reserved', callId };
    agent.state = to;
    delete agent.pendingNotReady;
    return {
      assignments: [],
      agentChanges: [{ agentId, tenantId: agent.agent.tenantId, from, to }],
    };
  }

  /** The call's phase in the ACD, or undefined when the ACD does not hold it. */
  phaseOf(callId: string): CallRecord['phase'] | undefined {
    return this.calls.get(callId)?.phase;
  }

  // ---- agents -------------------------------------------------------------------------------

  /** The agent's current state; throws for an agent this site does not have. */
  agentState(agentId: string): AgentState {
    return this.agentRecord(agentId).state;
  }

  /** Logs an agent in (to not-ready, as ACDs do: the agent says when they are ready). */
  login(agentId: string): Effects {
    return this.apply(agentId, { type: 'login' });
  }

  /** Makes an agent ready; a waiting call may be assigned at once. */
  ready(agentId: string): Effects {
    const fx = this.apply(agentId, { type: 'ready' });
    return merge(fx, this.dispatch());
  }

  /** Not-ready now, or, when the agent is busy, as soon as the current call's wrap-up ends. */
  notReady(agentId: string, reason: string): Effects {
    const rec = this.agentRecord(agentId);
    if (['reserved', 'on_call', 'wrap_up'].includes(rec.state.name)) {
      // Validate the reason through the state machine's rule, then remember it.
      transition(agentId, { name: 'ready' }, { type: 'not_ready', reason });
      rec.pendingNotReady = reason;
      return noEffects();
    }
    return this.apply(agentId, { type: 'not_ready', reason });
  }

  logout(agentId: string): Effects {
    return this.apply(agentId, { type: 'logout' });
  }

  // ---- calls --------------------------------------------------------------------------------

  /**
   * A call enters the ACD: it goes to the best idle agent with the skill (highest proficiency,
   * then longest idle), or waits in the skill's queue by tier and arrival time.
   */
  offer(call: QueuedCall): OfferResult {
    if (this.calls.has(call.callId))
      throw new AcdError(`call ${call.callId} is already in the ACD`);
    const queue = this.queues.get(call.skill);
    if (!queue) throw new AcdError(`call ${call.callId}: unknown skill ${call.skill}`);
    const rec: CallRecord = { call, phase: 'queued' };
    this.calls.set(call.callId, rec);
    const agentId = eligibleAt(call, this.now()) ? this.bestIdleAgent(call) : undefined;
    if (agentId) {
      const fx = noEffects();
      const assignment = this.assign(call, agentId, fx);
      return { kind: 'assigned', assignment, effects: fx };
    }
    const position = queue.add(call);
    const { modelMs, ahead } = this.waitOf(call);
    rec.queued = { atMs: this.now(), modelMs, ahead };
    return {
      kind: 'queued',
      position,
      expectedWaitMs: modelMs,
      announcedWaitMs: this.calibration.get(call.skill)!.forecastMs(modelMs, ahead),
      callsAhead: ahead,
      effects: noEffects(),
    };
  }

  /** The agent answered: the call is talking. */
  answered(callId: string): Effects {
    const rec = this.callRecord(callId, 'ringing');
    const fx = this.apply(rec.agentId!, { type: 'answer', callId });
    rec.phase = 'talking';
    rec.answeredMs = this.now();
    if (rec.queued && rec.queued.atMs - rec.call.arrivalMs < 1000) {
      const { atMs, modelMs, ahead } = rec.queued;
      this.calibration.get(rec.call.skill)!.observe(modelMs, ahead, rec.answeredMs - atMs);
    }
    return fx;
  }

  /**
   * The agent's phone did not take the call (no answer, busy, error): the agent goes not-ready
   * (ring-no-answer) and the call goes back to its place in the queue, arrival time unchanged.
   */
  ringFailed(callId: string): Effects {
    const rec = this.callRecord(callId, 'ringing');
    const fx = this.apply(rec.agentId!, { type: 'ring_failed', callId });
    rec.phase = 'queued';
    delete rec.agentId;
    this.queues.get(rec.call.skill)!.add(rec.call);
    return merge(fx, this.dispatch());
  }

  /**
   * The reserved agent is let go without blame (the customer of a callback did not answer, or
   * no dialer could call them): the agent is ready again and the call goes back to its place,
   * arrival time unchanged, not to be served before `notBeforeMs`.
   */
  requeue(callId: string, notBeforeMs: number): Effects {
    const rec = this.callRecord(callId, 'ringing');
    const fx = this.apply(rec.agentId!, { type: 'caller_gone', callId });
    const call: QueuedCall = { ...rec.call, notBeforeMs };
    this.calls.set(callId, { call, phase: 'queued' });
    this.queues.get(call.skill)!.add(call);
    return merge(fx, this.dispatch());
  }

  /** The caller hung up before an agent answered. Returns how long they waited. */
  abandon(callId: string): { waitedMs: number; effects: Effects } {
    const rec = this.calls.get(callId);
    if (!rec || rec.phase === 'talking') throw new AcdError(`call ${callId} is not waiting`);
    this.calls.delete(callId);
    const waitedMs = this.now() - rec.call.arrivalMs;
    if (rec.phase === 'queued') {
      this.queues.get(rec.call.skill)!.remove(callId);
      return { waitedMs, effects: noEffects() };
    }
    const fx = this.apply(rec.agentId!, { type: 'caller_gone', callId });
    return { waitedMs, effects: merge(fx, this.dispatch()) };
  }

  /** Either side hung up an answered call: the agent goes to wrap-up for the skill's time. */
  hangUp(callId: string): { talkMs: number; effects: Effects } {
    const rec = this.callRecord(callId, 'talking');
    this.calls.delete(callId);
    const skill = this.skills.get(rec.call.skill)!;
    const now = this.now();
    const talkMs = now - rec.answeredMs!;
    this.handle.get(skill.id)!.add(talkMs + skill.wrapUpMs);
    const fx = this.apply(rec.agentId!, {
      type: 'hang_up',
      callId,
      wrapUpUntil: now + skill.wrapUpMs,
    });
    // A zero wrap-up ends at once.
    return { talkMs, effects: merge(fx, this.tick()) };
  }

  /** A queued call leaves this site (overflowed elsewhere). */
  withdraw(callId: string): QueuedCall {
    const rec = this.callRecord(callId, 'queued');
    this.calls.delete(callId);
    this.queues.get(rec.call.skill)!.remove(callId);
    return rec.call;
  }

  /**
   * Moves time-driven state on: wrap-ups that are over end (the agent becomes ready, or
   * not-ready if they asked), and calls waiting long enough become eligible for second-choice
   * agents. Call it when `nextDeadline()` passes, and whenever convenient.
   */
  tick(): Effects {
    const now = this.now();
    const fx = noEffects();
    for (const rec of this.agents.values()) {
      if (rec.state.name === 'wrap_up' && rec.state.until <= now) this.finishWrapUp(rec, fx);
    }
    return merge(fx, this.dispatch());
  }

  /**
   * The agent submitted the wrap-up of `callId` before its time ran out: it ends now, as at the
   * timer (ready, or the not-ready it asked for). Throws IllegalTransitionError when the agent is
   * not in wrap-up of that call.
   */
  endWrapUp(agentId: string, callId: string): Effects {
    const rec = this.agentRecord(agentId);
    if (rec.state.name !== 'wrap_up' || rec.state.callId !== callId)
      throw new IllegalTransitionError(
        agentId,
        rec.state.name,
        'wrap_up_done',
        `the agent is not in wrap-up of call ${callId}`,
      );
    const fx = noEffects();
    this.finishWrapUp(rec, fx);
    return merge(fx, this.dispatch());
  }

  private finishWrapUp(rec: AgentRecord, fx: Effects): void {
    if (rec.state.name !== 'wrap_up') return;
    merge(fx, this.apply(rec.agent.id, { type: 'wrap_up_done', callId: rec.state.callId }));
    if (rec.pendingNotReady) {
      merge(fx, this.apply(rec.agent.id, { type: 'not_ready', reason: rec.pendingNotReady }));
      delete rec.pendingNotReady;
    }
  }

  /** The earliest time at which tick() would change something, or undefined. */
  nextDeadline(): number | undefined {
    const now = this.now();
    let next: number | undefined;
    const consider = (t: number) => {
      if (next === undefined || t < next) next = t;
    };
    for (const rec of this.agents.values())
      if (rec.state.name === 'wrap_up') consider(rec.state.until);
    for (const [skillId, queue] of this.queues) {
      const sc = this.skills.get(skillId)!.secondChoice;
      const first = queue.first();
      if (sc && first) consider(first.arrivalMs + sc.afterMs);
      for (const c of queue.all())
        if (c.notBeforeMs !== undefined && c.notBeforeMs > now) consider(c.notBeforeMs);
    }
    return next;
  }

  // ---- views --------------------------------------------------------------------------------

  /**
   * The expected wait of a queued call now; undefined when it is not queued. Only the calls
   * ahead of it of its own tenant count, and only its tenant's seats serve it.
   */
  expectedWaitOf(callId: string): number | undefined {
    const rec = this.calls.get(callId);
    if (!rec || rec.phase !== 'queued') return undefined;
    return this.waitOf(rec.call).modelMs;
  }

  /**
   * What to tell a queued caller now: their place (calls of their tenant ahead, 1-based) and the
   * calibrated wait (ewt.ts WaitCalibration); undefined when the call is not queued.
   */
  announcementOf(callId: string): { position: number; waitMs: number } | undefined {
    const rec = this.calls.get(callId);
    if (!rec || rec.phase !== 'queued') return undefined;
    const { modelMs, ahead } = this.waitOf(rec.call);
    const waitMs = this.calibration.get(rec.call.skill)!.forecastMs(modelMs, ahead);
    return { position: ahead + 1, waitMs };
  }

  /** A queued call's model wait and how many calls of its tenant are ahead of it. */
  private waitOf(call: QueuedCall): { modelMs: number; ahead: number } {
    const queue = this.queues.get(call.skill)!.all();
    const ahead = queue
      .slice(
        0,
        queue.findIndex((c) => c.callId === call.callId),
      )
      .filter((c) => c.tenantId === call.tenantId).length;
    return { modelMs: this.expectedWaitAt(call.skill, ahead + 1, call.tenantId), ahead };
  }

  /**
   * The expected wait a call would have if offered now (0 when an agent could take it at once),
   * without offering it: what a site checks before accepting a call from another site.
   */
  expectedWaitIfOffered(call: Omit<QueuedCall, 'callId'>): number {
    const queue = this.queues.get(call.skill);
    if (!queue) throw new AcdError(`unknown skill ${call.skill}`);
    const probe: QueuedCall = { ...call, callId: '\uffff' };
    if (this.bestIdleAgent(probe)) return 0;
    const ahead = queue
      .all()
      .filter((c) => c.tenantId === call.tenantId && servedBefore(c, probe)).length;
    return this.expectedWaitAt(call.skill, ahead + 1, call.tenantId);
  }

  /** Per-skill figures, overall and per tenant, for snapshots and the control API. */
  skillStatus(): SkillStatus[] {
    const now = this.now();
    const tenants = [...new Set([...this.agents.values()].map((r) => r.agent.tenantId))].sort();
    return [...this.queues].map(([skill, queue]) => {
      const { staffed, idle } = this.staffing(skill);
      const oldest = queue.all().reduce((min, c) => Math.min(min, c.arrivalMs), now);
      const probe = { tier: 1, arrivalMs: now };
      return {
        skill,
        queued: queue.length,
        oldestWaitMs: now - oldest,
        staffed,
        idle,
        expectedWaitMs: this.expectedWaitAt(skill, queue.positionFor(probe.tier, probe.arrivalMs)),
        averageHandleMs: Math.round(this.handle.get(skill)!.valueMs),
        tenants: tenants.map((tenantId) => {
          const own = queue.all().filter((c) => c.tenantId === tenantId);
          const t = this.staffing(skill, tenantId);
          const ahead = own.filter((c) =>
            servedBefore(c, { ...probe, callId: '\uffff', tenantId, skill }),
          ).length;
          return {
            tenantId,
            queued: own.length,
            staffed: t.staffed,
            idle: t.idle,
            expectedWaitMs: this.expectedWaitAt(skill, ahead + 1, tenantId),
          };
        }),
      };
    });
  }

  queuedCalls(skill: string): readonly QueuedCall[] {
    return this.queues.get(skill)?.all() ?? [];
  }

  agentList(): { agent: AcdAgent; state: AgentState }[] {
    return [...this.agents.values()].map((r) => ({ agent: r.agent, state: r.state }));
  }

  // ---- internals ----------------------------------------------------------------------------

  private expectedWaitAt(skill: string, position: number, tenantId?: string): number {
    const { staffed, idle } = this.staffing(skill, tenantId);
    return expectedWaitMs({
      position,
      staffed,
      idle,
      averageHandleMs: this.handle.get(skill)!.valueMs,
    });
  }

  /** Agents staffed and idle on a skill: all of the site's, or only `tenantId`'s seats. */
  private staffing(skill: string, tenantId?: string): { staffed: number; idle: number } {
    let staffed = 0;
    let idle = 0;
    for (const rec of this.agents.values()) {
      if (!(skill in rec.agent.skills)) continue;
      if (tenantId !== undefined && rec.agent.tenantId !== tenantId) continue;
      const s = rec.state.name;
      if (s === 'logged_out' || s === 'not_ready') continue;
      staffed++;
      if (s === 'ready') idle++;
    }
    return { staffed, idle };
  }

  /** Skills whose agents may take this call now: its own, and its second choice once due. */
  private skillsFor(call: QueuedCall): string[] {
    const sc = this.skills.get(call.skill)!.secondChoice;
    return sc && this.now() - call.arrivalMs >= sc.afterMs ? [call.skill, sc.skill] : [call.skill];
  }

  /**
   * Best idle agent of the call's tenant (an outsourced seat serves only its own client):
   * primary-skill agents first, then by proficiency, then longest idle.
   */
  private bestIdleAgent(call: QueuedCall): string | undefined {
    const skills = this.skillsFor(call);
    let best: { id: string; rank: number; prof: number; since: number } | undefined;
    for (const rec of this.agents.values()) {
      if (rec.state.name !== 'ready' || rec.agent.tenantId !== call.tenantId) continue;
      const rank = skills.findIndex((s) => s in rec.agent.skills);
      if (rank < 0) continue;
      const prof = rec.agent.skills[skills[rank]!]!;
      const better =
        !best ||
        rank < best.rank ||
        (rank === best.rank &&
          (prof > best.prof || (prof === best.prof && rec.readySinceMs < best.since)));
      if (better) best = { id: rec.agent.id, rank, prof, since: rec.readySinceMs };
    }
    return best?.id;
  }

  /**
   * Gives waiting calls to idle agents, most urgent first (tier, then arrival), until no idle
   * agent can take any waiting call. One pass is enough: a call no idle agent could take stays
   * untakeable as the pass only ever reduces the idle agents.
   */
  private dispatch(): Effects {
    const fx = noEffects();
    const now = this.now();
    const waiting = [...this.queues.values()]
      .flatMap((q) => [...q.all()])
      .filter((c) => eligibleAt(c, now));
    waiting.sort((a, b) => (a.tier !== b.tier ? b.tier - a.tier : a.arrivalMs - b.arrivalMs));
    for (const call of waiting) {
      const agentId = this.bestIdleAgent(call);
      if (!agentId) continue;
      this.queues.get(call.skill)!.remove(call.callId);
      this.assign(call, agentId, fx);
    }
    return fx;
  }

  private assign(call: QueuedCall, agentId: string, fx: Effects): Assignment {
    merge(fx, this.apply(agentId, { type: 'reserve', callId: call.callId }));
    const rec = this.calls.get(call.callId)!;
    rec.phase = 'ringing';
    rec.agentId = agentId;
    const assignment: Assignment = {
      callId: call.callId,
      agentId,
      skill: call.skill,
      waitedMs: this.now() - call.arrivalMs,
    };
    fx.assignments.push(assignment);
    return assignment;
  }

  private apply(agentId: string, action: AgentAction): Effects {
    const rec = this.agentRecord(agentId);
    const from = rec.state;
    const to = transition(agentId, from, action);
    rec.state = to;
    if (to.name === 'ready' && from.name !== 'ready') rec.readySinceMs = this.now();
    if (to.name === 'logged_out') delete rec.pendingNotReady;
    const same = to === from;
    return {
      assignments: [],
      agentChanges: same ? [] : [{ agentId, tenantId: rec.agent.tenantId, from, to }],
    };
  }

  private agentRecord(agentId: string): AgentRecord {
    const rec = this.agents.get(agentId);
    if (!rec) throw new UnknownAgentError(agentId);
    return rec;
  }

  private callRecord(callId: string, phase: CallRecord['phase']): CallRecord {
    const rec = this.calls.get(callId);
    if (!rec) throw new AcdError(`unknown call ${callId}`);
    if (rec.phase !== phase) throw new AcdError(`call ${callId} is ${rec.phase}, not ${phase}`);
    return rec;
  }
}

function merge(into: Effects, from: Effects): Effects {
  into.assignments.push(...from.assignments);
  into.agentChanges.push(...from.agentChanges);
  return into;
}
