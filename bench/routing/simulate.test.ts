import { describe, expect, it } from 'vitest';
import { drawCallers, type SiteLoad } from './arrivals.js';
import { erlangA } from '@ccfed/analytics/erlang';
import { figures } from './metrics.js';
import { CCFED_MODEL, simulate, type Mode } from './simulate.js';

const HOUR = 3_600_000;
const AHT = 180_000;
const federation = CCFED_MODEL;

function run(mode: Mode, sites: SiteLoad[], hours: number, seed: number) {
  const endMs = hours * HOUR;
  const model = {
    averageHandleMs: AHT,
    handle: 'exponential' as const,
    averagePatienceMs: 300_000,
  };
  const callers = drawCallers(sites, model, endMs, seed);
  const tally = simulate({
    mode,
    sites,
    callers,
    averageHandleMs: AHT,
    wrapUpMs: 0,
    ringDelayMs: 0,
    slThresholdMs: 20_000,
    warmupMs: 0.5 * HOUR,
    endMs,
    federation,
  });
  const counted = callers.filter((c) => c.arrivalMs >= 0.5 * HOUR).length;
  return { f: figures(tally), tally, counted };
}

const sitesAt = (n: number, load: number): SiteLoad[] =>
  Array.from({ length: n }, (_, i) => ({
    siteId: `s${i}`,
    agents: 10,
    ratePerS: (load * 10) / (AHT / 1000),
  }));

describe('simulate', () => {
  it('matches Erlang A for isolated sites', () => {
    const { f, tally, counted } = run('isolated', sitesAt(4, 0.83), 20, 11);
    const ref = erlangA({
      agents: 10,
      arrivalRate: 8.3 / 180,
      averageHandleS: 180,
      averagePatienceS: 300,
      thresholdS: 20,
    });
    expect(tally.offered).toBe(counted);
    expect(tally.answered + tally.abandoned).toBe(counted);
    expect(Math.abs(f.sl - ref.sl)).toBeLessThan(0.04);
    expect(Math.abs(f.abandon_rate - ref.abandon_rate)).toBeLessThan(0.02);
  });

  it('is reproducible for a seed', () => {
    const a = run('federated', sitesAt(3, 0.83), 2, 5).tally;
    const b = run('federated', sitesAt(3, 0.83), 2, 5).tally;
    expect(a).toEqual(b);
  });

  it('overflows some calls and serves better than isolated sites, every call accounted for', () => {
    const sites = sitesAt(3, 0.83);
    const iso = run('isolated', sites, 6, 3);
    const fed = run('federated', sites, 6, 3);
    expect(fed.tally.offered).toBe(fed.counted);
    expect(fed.tally.answered + fed.tally.abandoned).toBe(fed.counted);
    expect(fed.f.overflow_rate).toBeGreaterThan(0.02);
    expect(fed.f.sl).toBeGreaterThan(iso.f.sl);
  });
});
