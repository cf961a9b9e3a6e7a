import { describe, expect, it } from 'vitest';
import { erlangA, erlangC } from './erlang.js';

const tenAgents = (erlangs: number, patienceS = Infinity) => ({
  agents: 10,
  arrivalRate: erlangs / 180,
  averageHandleS: 180,
  averagePatienceS: patienceS,
  thresholdS: 20,
});

describe('erlangC', () => {
  it('gives the table value for 10 agents at 8 erlangs', () => {
    // Published Erlang C tables: P(wait) = 0.4092 for N = 10, A = 8.
    expect(erlangC(tenAgents(8)).p_wait).toBeCloseTo(0.4092, 4);
  });

  it('gives SL and ASA from P(wait) for 10 agents at 8.3 erlangs', () => {
    const c = erlangC(tenAgents(8.3));
    const drain = (10 - 8.3) / 180;
    expect(c.sl).toBeCloseTo(1 - c.p_wait * Math.exp(-drain * 20), 12);
    expect(c.asa_s).toBeCloseTo(c.p_wait / drain, 9);
    expect(c.p_wait).toBeGreaterThan(0.47);
    expect(c.p_wait).toBeLessThan(0.49);
  });
});

describe('erlangA', () => {
  it('reduces to Erlang C when callers never give up', () => {
    const a = erlangA(tenAgents(8.3));
    const c = erlangC(tenAgents(8.3));
    expect(a.p_wait).toBeCloseTo(c.p_wait, 9);
    expect(a.sl).toBeCloseTo(c.sl, 6);
    expect(a.asa_s).toBeCloseTo(c.asa_s, 6);
    expect(a.abandon_rate).toBeCloseTo(0, 9);
  });

  it('tends to Erlang C as patience grows', () => {
    const a = erlangA(tenAgents(8.3, 1e7));
    const c = erlangC(tenAgents(8.3));
    expect(a.sl).toBeCloseTo(c.sl, 3);
    expect(a.asa_s).toBeCloseTo(c.asa_s, 0);
  });

  it('with 300 s patience, about 5 % abandon and the rest are served sooner than Erlang C says', () => {
    const m = tenAgents(8.3, 300);
    const a = erlangA(m);
    expect(a.abandon_rate).toBeGreaterThan(0.04);
    expect(a.abandon_rate).toBeLessThan(0.06);
    expect(a.sl).toBeGreaterThan(erlangC(tenAgents(8.3)).sl);
  });

  it('stays defined above 100 % load, where abandons carry the excess', () => {
    const a = erlangA(tenAgents(12, 300));
    expect(a.abandon_rate).toBeGreaterThan(1 - 10 / 12 - 0.01);
    expect(a.sl).toBeGreaterThan(0);
  });
});
