import { describe, expect, it } from 'vitest';
import { simulateCampaign, WORLD, type CampaignConfig } from './simulate.js';

const base: CampaignConfig = {
  mode: 'progressive',
  agents: 20,
  answerRate: 0.2,
  averageHandleMs: 180_000,
  days: 2,
  shiftHours: 2,
  seed: 7,
};

// Simulations, not timings: a loaded machine may run them several times slower.
describe('the campaign simulator', { timeout: 30_000 }, () => {
  it('is deterministic for a seed', () => {
    expect(simulateCampaign(base)).toEqual(simulateCampaign(base));
    expect(simulateCampaign({ ...base, seed: 8 })).not.toEqual(simulateCampaign(base));
  });

  it('progressive never leaves a customer without an agent: its only abandons are AMD errors', () => {
    const r = simulateCampaign(base);
    expect(r.abandoned_no_agent).toBe(0);
    expect(r.abandoned_amd).toBeGreaterThan(0);
    // About 1 % of the people who answer are taken for machines.
    expect(r.abandoned_amd / r.live_answers).toBeGreaterThan(0.002);
    expect(r.abandoned_amd / r.live_answers).toBeLessThan(0.03);
    expect(r.guard_decisions).toBe(0);
  });

  it('predictive keeps agents busier than progressive, under the cap in every 24 h window', () => {
    // Shifts long enough for live calls to give predictive its abandon budget.
    const pro = simulateCampaign({ ...base, shiftHours: 6 });
    const pre = simulateCampaign({ ...base, shiftHours: 6, mode: 'predictive' });
    expect(pre.utilization).toBeGreaterThan(pro.utilization + 0.1);
    expect(pre.calls_per_agent_hour).toBeGreaterThan(pro.calls_per_agent_hour);
    expect(pre.abandoned_no_agent).toBeGreaterThan(0);
    expect(pre.abandon_rate_max_24h).toBeLessThanOrEqual(0.03);
  });

  it('a pacer whose prior is far off (5 % believed, 40 % real) still keeps every 24 h window under the cap', () => {
    const r = simulateCampaign({
      ...base,
      mode: 'predictive',
      answerRate: 0.4,
      shiftHours: 3,
      pacer: { priorAnswerRate: 0.05, priorWeight: 500 },
    });
    expect(r.abandoned_no_agent).toBeGreaterThan(0);
    expect(r.abandon_rate_max_24h).toBeLessThanOrEqual(0.03);
  });

  it('counts AMD false positives as abandons in the 24 h rate', () => {
    const sloppy = simulateCampaign({
      ...base,
      world: { ...WORLD, amdFalsePositiveRate: 0.1 },
    });
    expect(sloppy.abandon_rate_max_24h).toBeGreaterThan(0.05);
  });

  it('utilization is talk time over logged-in time: at most 1, and near the analytic value for progressive', () => {
    const r = simulateCampaign({ ...base, answerRate: 0.4, shiftHours: 4 });
    expect(r.utilization).toBeLessThanOrEqual(1);
    // Per customer put through: 180 s of talk, and the lines rung before one answers
    // (each ~ 0.4·10 s + 0.1·12.5 s + 0.05·3 s + 0.45·25 s ≈ 16.7 s, 1 / 0.4 of them).
    const cycle = 180 + 16.65 / 0.4;
    expect(r.utilization).toBeGreaterThan((180 / cycle) * 0.9);
    expect(r.utilization).toBeLessThan((180 / cycle) * 1.1);
  });
});
