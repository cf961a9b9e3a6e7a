// How many agents an interval needs: the fewest with which Erlang A (erlang.ts: Poisson arrivals,
// exponential handle times and patience) answers the skill's target share of the offered calls
// within its threshold. Pure; the staffing plan (staffing-plan.ts) calls it for every interval.
import { erlangA, type QueueModel } from './erlang.js';

export const INTERVAL_S = 900;

export interface IntervalDemand {
  /** Calls expected in the 15-minute interval. */
  readonly offered: number;
  readonly ahtS: number;
  /** Mean patience of a waiting caller; Infinity when callers never give up. */
  readonly patienceS: number;
  readonly thresholdS: number;
  /** Target share of offered calls answered within the threshold, e.g. 0.8. */
  readonly targetSl: number;
}

export interface Staffing {
  readonly agents: number;
  /** Erlang A's service level with that many agents (1 when no call is expected). */
  readonly sl: number;
}

const model = (d: IntervalDemand, agents: number): QueueModel => ({
  agents,
  arrivalRate: d.offered / INTERVAL_S,
  averageHandleS: d.ahtS,
  averagePatienceS: d.patienceS,
  thresholdS: d.thresholdS,
});

/**
 * The fewest agents that meet the target service level for the demand (0 for an interval with
 * almost no calls), and the service level they give. Without abandons (infinite patience) at
 * least enough agents to carry the load, which Erlang C needs. The search starts at the
 * square-root staffing rule's guess, load + 0.7·√load, and walks to the answer from there: two or
 * three Erlang A evaluations for most intervals instead of a bisection's eight.
 */
export function requiredAgents(d: IntervalDemand): Staffing {
  if (!(d.offered > 0.01) || !(d.ahtS > 0)) return { agents: 0, sl: 1 };
  if (!(d.targetSl > 0 && d.targetSl < 1))
    throw new Error(`target service level ${d.targetSl} is not in (0, 1)`);
  const load = (d.offered * d.ahtS) / INTERVAL_S;
  // Fewer agents than this never meet the target: none at all, or (without abandons) no more
  // than the load, where the queue grows without bound.
  const floor = Number.isFinite(d.patienceS) ? 1 : Math.floor(load) + 1;
  const sl = (n: number) => erlangA(model(d, n)).sl;
  let n = Math.max(floor, Math.round(load + 0.7 * Math.sqrt(load)));
  let slN = sl(n);
  if (slN >= d.targetSl) {
    // Walk down while one fewer still meets the target.
    while (n > floor) {
      const below = sl(n - 1);
      if (below < d.targetSl) break;
      n -= 1;
      slN = below;
    }
    return { agents: n, sl: slN };
  }
  // Walk up until the target is met.
  while (slN < d.targetSl) {
    n += 1;
    slN = sl(n);
  }
  return { agents: n, sl: slN };
}

/**
 * requiredAgents with its answers kept: the plan sizes tens of thousands of intervals whose
 * demand repeats to the precision that matters (a hundredth of a call, a tenth of a second).
 */
export function cachedRequiredAgents(): (d: IntervalDemand) => Staffing {
  const seen = new Map<string, Staffing>();
  return (d) => {
    const rounded = {
      ...d,
      offered: Math.round(d.offered * 100) / 100,
      ahtS: Math.round(d.ahtS * 10) / 10,
    };
    const key = `${rounded.offered}|${rounded.ahtS}|${d.patienceS}|${d.thresholdS}|${d.targetSl}`;
    let s = seen.get(key);
    if (s === undefined) seen.set(key, (s = requiredAgents(rounded)));
    return s;
  };
}

/**
 * Mean patience from history: with exponential patience, abandons / total waiting time is the
 * maximum-likelihood abandonment rate (every waiting second, answered or not, is a second the
 * caller did not give up). Infinity when nobody abandoned.
 */
export function patienceFromHistory(h: {
  abandoned: number;
  abandonWaitS: number;
  answerWaitS: number;
}): number {
  if (h.abandoned <= 0) return Infinity;
  return (h.abandonWaitS + h.answerWaitS) / h.abandoned;
}
