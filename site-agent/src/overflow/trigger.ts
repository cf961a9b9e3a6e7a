// When a queued call asks the central router for a better site. Pure: time is passed in. The
// site agent and the routing simulator (bench/routing) both use it.
//
// A call asks once its expected total wait at this site (what it has waited so far plus what it is
// still expected to wait) passes its skill's threshold, and again every reRequestInterval while it
// still waits (a site may free up elsewhere). Counting the wait so far is what makes the threshold
// a service-level guard: a call whose forecast was too short still asks before it misses the
// target, not only calls forecast to wait long when they were queued. A skill may also set an
// askAfter wait: a call that has waited that long asks whatever its forecast. A call that was already
// overflowed here never asks (a call moves at most once); one whose skill has no overflow policy
// never asks.

export interface WaitingCall {
  readonly callId: string;
  readonly skill: string;
  /** How long it has waited so far (since it first arrived, at whichever site). */
  readonly waitedMs: number;
  /** How much longer it is expected to wait here. */
  readonly expectedWaitMs: number;
  /** Times it was moved between sites already (X-CC-Hops). */
  readonly hops: number;
}

export interface TriggerPolicy {
  /** skill → expected total wait threshold; skills absent do not overflow. */
  readonly thresholdMs: ReadonlyMap<string, number>;
  /** skill → wait so far after which a call asks whatever its forecast (the service-level guard). */
  readonly askAfterMs?: ReadonlyMap<string, number>;
  readonly reRequestIntervalMs: number;
}

export class OverflowTrigger {
  private readonly lastAsked = new Map<string, number>();

  constructor(private readonly policy: TriggerPolicy) {}

  /**
   * The calls among `waiting` (every call waiting now) that should ask the router at `nowMs`;
   * each is marked as asked. Calls no longer waiting are forgotten.
   */
  due<T extends WaitingCall>(waiting: Iterable<T>, nowMs: number): T[] {
    const ask: T[] = [];
    const present = new Set<string>();
    for (const call of waiting) {
      present.add(call.callId);
      if (call.hops > 0) continue;
      const threshold = this.policy.thresholdMs.get(call.skill);
      if (threshold === undefined) continue;
      const askAfter = this.policy.askAfterMs?.get(call.skill) ?? Infinity;
      if (call.waitedMs + call.expectedWaitMs < threshold && call.waitedMs < askAfter) continue;
      const last = this.lastAsked.get(call.callId);
      if (last !== undefined && nowMs - last < this.policy.reRequestIntervalMs) continue;
      this.lastAsked.set(call.callId, nowMs);
      ask.push(call);
    }
    for (const callId of this.lastAsked.keys())
      if (!present.has(callId)) this.lastAsked.delete(callId);
    return ask;
  }

  /** The call left the queue (answered, abandoned, moved): forget it. */
  forget(callId: string): void {
    this.lastAsked.delete(callId);
  }
}
