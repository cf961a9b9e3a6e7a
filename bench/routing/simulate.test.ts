import { describe, expect, it } from 'vitest';
import { drawCallers, type SiteLoad } from './arrivals.js';
import { erlangA } from '@ccfed/analytics/erlang';
import { figures } from './metrics.js';
import { CCFED_MODEL, simulate, type CallbackModel, type Mode } from './simulate.js';

const HOUR = 3_600_000;
const AHT = 180_000;
const federation = CCFED_MODEL;

function run(
  mode: Mode,
  sites: SiteLoad[],
  hours: number,
  seed: number,
  callbacks?: CallbackModel,
) {
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
    ...(callbacks ? { callbacks } : {}),
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

  // Simulations, not timings: a loaded machine may run them several times slower.
  describe('callbacks', { timeout: 30_000 }, () => {
    const callbacks = (servedAt: CallbackModel['servedAt']): CallbackModel => ({
      offerAboveMs: 30_000,
      acceptShare: 0.5,
      dialMs: 10_000,
      answerRate: 0.9,
      attempts: 2,
      retryAfterMs: 120_000,
      seed: 1,
      servedAt,
    });
    // One site loaded at `load` beside two quiet ones: long waits at s0 only.
    const sites = (load: number): SiteLoad[] => [
      { ...sitesAt(1, load)[0]!, siteId: 's0' },
      ...sitesAt(2, 0.6).map((s, i) => ({ ...s, siteId: `s${i + 1}` })),
    ];

    it('callers told a long wait take callbacks, keep their place and abandon less; every call accounted for', () => {
      // Heavy but not beyond capacity: in overload, places kept forever only lengthen the queue.
      const without = run('isolated', sites(1.1), 4, 9);
      const withCb = run('isolated', sites(1.1), 4, 9, callbacks('origin'));
      expect(withCb.tally.callbacks).toBeGreaterThan(0);
      // About half of those offered one (told more than a minute) took it.
      expect(withCb.f.callback_rate).toBeLessThan(0.5);
      // Callbacks unanswered twice (10 % × 10 %) are abandons too: far fewer than hang-ups.
      expect(withCb.tally.callbacksUnreached).toBeLessThan(0.05 * withCb.tally.callbacks);
      // With one attempt only, a tenth of them are lost.
      const once = run('isolated', sites(1.1), 4, 9, { ...callbacks('origin'), attempts: 1 });
      expect(once.tally.callbacksUnreached).toBeGreaterThan(0.05 * once.tally.callbacks);
      expect(once.tally.callbacksUnreached).toBeGreaterThan(withCb.tally.callbacksUnreached);
      expect(withCb.f.abandon_rate).toBeLessThan(without.f.abandon_rate);
      expect(withCb.tally.answered + withCb.tally.abandoned).toBe(withCb.counted);
    });

    it('served anywhere, the federation moves callbacks to quiet sites (without a SIP transfer); at the chosen site it never does', () => {
      const origin = run('federated', sites(1.4), 2, 9, callbacks('origin'));
      const anywhere = run('federated', sites(1.4), 2, 9, callbacks('anywhere'));
      expect(origin.tally.callbacks).toBeGreaterThan(0);
      expect(origin.tally.callbacksOverflowed).toBe(0);
      expect(anywhere.tally.callbacksOverflowed).toBeGreaterThan(0);
      expect(anywhere.f.sl).toBeGreaterThan(origin.f.sl);
      expect(anywhere.f.asa_s).toBeLessThan(origin.f.asa_s);
      expect(anywhere.tally.answered + anywhere.tally.abandoned).toBe(anywhere.counted);
    });
  });
});
