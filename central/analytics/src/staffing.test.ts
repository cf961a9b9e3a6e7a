import { describe, expect, it } from 'vitest';
import { erlangA } from './erlang.js';
import { cachedRequiredAgents, patienceFromHistory, requiredAgents } from './staffing.js';

describe('requiredAgents', () => {
  it('gives the textbook Erlang C answer when callers never give up', () => {
    // 100 calls in 30 minutes, 3-minute AHT, 80 % in 20 s: 10 erlangs, 14 agents (13 answer
    // only 79.6 % in time), the worked example of the Erlang C tables. In a 15-minute interval:
    // 50 calls.
    const need = requiredAgents({
      offered: 50,
      ahtS: 180,
      patienceS: Infinity,
      thresholdS: 20,
      targetSl: 0.8,
    });
    expect(need.agents).toBe(14);
    expect(need.sl).toBeCloseTo(0.8884, 3);
  });

  it('is the fewest agents with which Erlang A meets the target, fewer when callers give up', () => {
    const demand = { offered: 50, ahtS: 180, patienceS: 120, thresholdS: 20, targetSl: 0.8 };
    const need = requiredAgents(demand);
    const sl = (agents: number) =>
      erlangA({
        agents,
        arrivalRate: 50 / 900,
        averageHandleS: 180,
        averagePatienceS: 120,
        thresholdS: 20,
      }).sl;
    expect(sl(need.agents)).toBeGreaterThanOrEqual(0.8);
    expect(sl(need.agents - 1)).toBeLessThan(0.8);
    expect(need.agents).toBeLessThanOrEqual(14);
    expect(need.sl).toBe(sl(need.agents));
  });

  it('needs nobody for no calls, and refuses a target outside (0, 1)', () => {
    expect(
      requiredAgents({ offered: 0, ahtS: 200, patienceS: 60, thresholdS: 20, targetSl: 0.8 }),
    ).toEqual({ agents: 0, sl: 1 });
    expect(() =>
      requiredAgents({ offered: 10, ahtS: 200, patienceS: 60, thresholdS: 20, targetSl: 80 }),
    ).toThrow(/not in \(0, 1\)/);
  });

  it('gives the same answers cached, for demand equal to a hundredth of a call', () => {
    const size = cachedRequiredAgents();
    for (const offered of [3.2, 17.5, 42.01, 88.7])
      expect(size({ offered, ahtS: 240, patienceS: 200, thresholdS: 20, targetSl: 0.8 })).toEqual(
        requiredAgents({ offered, ahtS: 240, patienceS: 200, thresholdS: 20, targetSl: 0.8 }),
      );
  });
});

describe('patienceFromHistory', () => {
  it('is the waiting seconds per abandon, infinite when nobody abandoned', () => {
    expect(patienceFromHistory({ abandoned: 4, abandonWaitS: 200, answerWaitS: 1000 })).toBe(300);
    expect(patienceFromHistory({ abandoned: 0, abandonWaitS: 0, answerWaitS: 1000 })).toBe(
      Infinity,
    );
  });
});
