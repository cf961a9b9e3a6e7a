// A skill's queue: ordered by customer tier (VIP first), then by arrival time (oldest first).

export interface QueuedCall {
  readonly callId: string;
  readonly tenantId: string;
  readonly skill: string;
  /** Higher is served first: the CustomerTier enum value (VIP = 4 ... standard = 1). */
  readonly tier: number;
  /** When the caller reached the federation (epoch ms); kept when a call is overflowed. */
  readonly arrivalMs: number;
  /**
   * Not to be served before this (epoch ms): a callback waiting out its retry delay, or one
   * scheduled for later. It keeps its place meanwhile and blocks no one behind it.
   */
  readonly notBeforeMs?: number;
}

/** True when the call may be given to an agent at `nowMs`. */
export function eligibleAt(call: QueuedCall, nowMs: number): boolean {
  return call.notBeforeMs === undefined || call.notBeforeMs <= nowMs;
}

/** True when `a` must be served before `b`. */
export function servedBefore(a: QueuedCall, b: QueuedCall): boolean {
  if (a.tier !== b.tier) return a.tier > b.tier;
  if (a.arrivalMs !== b.arrivalMs) return a.arrivalMs < b.arrivalMs;
  return a.callId < b.callId;
}

/** One skill's waiting calls in service order. Insertion is O(n), which queue sizes allow. */
export class SkillQueue {
  private readonly calls: QueuedCall[] = [];

  get length(): number {
    return this.calls.length;
  }

  /** Inserts in service order; returns the 1-based position. */
  add(call: QueuedCall): number {
    let i = this.calls.length;
    while (i > 0 && servedBefore(call, this.calls[i - 1]!)) i--;
    this.calls.splice(i, 0, call);
    return i + 1;
  }

  remove(callId: string): QueuedCall | undefined {
    const i = this.calls.findIndex((c) => c.callId === callId);
    return i < 0 ? undefined : this.calls.splice(i, 1)[0];
  }

  /** 1-based position of a call, or 0 when it is not queued here. */
  positionOf(callId: string): number {
    return this.calls.findIndex((c) => c.callId === callId) + 1;
  }

  /** Position a new call of this tier arriving at `arrivalMs` would take. */
  positionFor(tier: number, arrivalMs: number): number {
    const probe: QueuedCall = { callId: '\uffff', tenantId: '', skill: '', tier, arrivalMs };
    return this.calls.filter((c) => servedBefore(c, probe)).length + 1;
  }

  /** The first call in service order that `eligible` accepts. */
  first(eligible: (c: QueuedCall) => boolean = () => true): QueuedCall | undefined {
    return this.calls.find(eligible);
  }

  all(): readonly QueuedCall[] {
    return this.calls;
  }
}
