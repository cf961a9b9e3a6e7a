import { describe, expect, it } from 'vitest';
import { generatePopulation, seededRandom } from './population.js';

const asOf = new Date('2026-06-01T00:00:00Z');

describe('generatePopulation', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generatePopulation({ customers: 200, asOf, seed: 3 });
    expect(generatePopulation({ customers: 200, asOf, seed: 3 })).toEqual(a);
    expect(generatePopulation({ customers: 200, asOf, seed: 4 }).callEvents).not.toEqual(
      a.callEvents,
    );
    expect(seededRandom(1)()).toBe(seededRandom(1)());
  });

  it('makes churners behave worse than stayers, as the hidden model says', () => {
    const p = generatePopulation({ customers: 3000, asOf, seed: 5 });
    const calls = new Map<string, number>();
    for (const e of p.callEvents)
      if (e.kind === 'offered')
        calls.set(String(e.customer_id), (calls.get(String(e.customer_id)) ?? 0) + 1);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const churners = p.customers.filter((c) => c.churnsAfterAsOf);
    const stayers = p.customers.filter((c) => !c.churnsAfterAsOf && !c.churnedBeforeAsOf);
    expect(mean(churners.map((c) => c.latent))).toBeGreaterThan(
      mean(stayers.map((c) => c.latent)) + 0.5,
    );
    expect(mean(churners.map((c) => calls.get(c.customerId) ?? 0))).toBeGreaterThan(
      1.5 * mean(stayers.map((c) => calls.get(c.customerId) ?? 0)),
    );
    // Every call event falls in the 90 days before asOf; every customer has a holdings snapshot.
    for (const e of p.callEvents) expect(String(e.event_time) < '2026-06-01 00:00:00').toBe(true);
    expect(p.crmEvents.filter((e) => e.kind === 'holdings')).toHaveLength(3000);
  });
});
