// The site's ACD as a campaign sees it (CampaignAgents): an outbound line takes an idle agent of
// the campaign's skill and tenant the way an inbound call does (Acd.offer), at the lowest tier and
// only when one is idle, so that it never waits in a queue ahead of, or among, inbound callers.
// The ACD's effects (agent state changes) go to the caller, who publishes them as the call flow
// does.
import type { Acd, Effects } from '../acd/acd.js';
import { RONA_REASON } from '../acd/agent-state.js';
import type { InboundLoad } from '../dialer/pacing.js';
import type { CampaignAgents } from './campaign-run.js';

/** Below every customer tier (standard is 1): outbound work never outranks a caller. */
const OUTBOUND_TIER = 0;

export interface AcdAgentsDeps {
  readonly acd: Acd;
  readonly now: () => number;
  /** What the ACD's answers changed, for the agent events. */
  readonly effects: (fx: Effects) => void;
  /**
   * The skill's inbound service level in its window: calls offered, answered within the
   * threshold, and the share to hold (0.8 for 80/20).
   */
  readonly serviceLevel: (
    skill: string,
    tenantId: string,
  ) => { offered: number; answeredWithinTarget: number; target: number };
  /** Fewer offered calls than this say nothing yet about the service level. */
  readonly minOffered: number;
}

export class AcdCampaignAgents implements CampaignAgents {
  constructor(private readonly deps: AcdAgentsDeps) {}

  staffing(skill: string, tenantId: string) {
    const status = this.status(skill);
    const own = status?.tenants.find((t) => t.tenantId === tenantId);
    const staffed = own?.staffed ?? 0;
    const free = own?.idle ?? 0;
    return {
      loggedIn: staffed,
      free,
      busy: staffed - free,
      averageHandleMs: Math.max(1, status?.averageHandleMs ?? 1),
    };
  }

  inboundLoad(skill: string, tenantId: string): InboundLoad {
    const own = this.status(skill)?.tenants.find((t) => t.tenantId === tenantId);
    const sl = this.deps.serviceLevel(skill, tenantId);
    return {
      queued: own?.queued ?? 0,
      offered: sl.offered,
      answeredWithinTarget: Math.min(sl.answeredWithinTarget, sl.offered),
      target: sl.target,
      minOffered: this.deps.minOffered,
    };
  }

  reserve(skill: string, tenantId: string, callId: string): string | undefined {
    if (this.staffing(skill, tenantId).free === 0) return undefined;
    const { acd } = this.deps;
    const result = acd.offer({
      callId,
      tenantId,
      skill,
      tier: OUTBOUND_TIER,
      arrivalMs: this.deps.now(),
    });
    if (result.kind === 'queued') {
      // Not expected with an idle agent; an outbound line never waits in the queue.
      acd.withdraw(callId);
      return undefined;
    }
    this.deps.effects(result.effects);
    return result.assignment.agentId;
  }

  release(callId: string): void {
    // The customer never reached the agent: the agent is ready again, without ring-no-answer blame.
    this.deps.effects(this.deps.acd.abandon(callId).effects);
  }

  releaseAbsent(callId: string): void {
    const agentId = this.deps.acd
      .agentList()
      .find((a) => a.state.name === 'reserved' && a.state.callId === callId)?.agent.id;
    this.release(callId);
    // Not ready as after a ring with no answer: the agent says when they are back.
    if (agentId !== undefined) this.deps.effects(this.deps.acd.notReady(agentId, RONA_REASON));
  }

  holds(callId: string, agentId: string): boolean {
    const { acd } = this.deps;
    if (acd.phaseOf(callId) !== 'ringing') return false;
    const state = acd.agentList().find((a) => a.agent.id === agentId)?.state;
    return state?.name === 'reserved' && state.callId === callId;
  }

  connected(callId: string): void {
    // From here the call ends as any answered call does (Acd.hangUp, then wrap-up).
    this.deps.effects(this.deps.acd.answered(callId));
  }

  private status(skill: string) {
    return this.deps.acd.skillStatus().find((s) => s.skill === skill);
  }
}
