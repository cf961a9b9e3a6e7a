import { describe, expect, it } from 'vitest';
import { Reservations } from './reservations.js';

const r = (
  callId: string,
  expiresMs: number,
  over: { siteId?: string; skill?: string; origin?: string } = {},
) => ({
  siteId: over.siteId ?? 'beijing',
  callId,
  originSiteId: over.origin ?? 'shanghai',
  skill: over.skill ?? 'support',
  tenantId: 'acme',
  expiresMs,
});

describe('Reservations', () => {
  it('counts per site, skill and tenant, and frees on release, arrival + snapshot, or expiry', () => {
    const held = new Reservations();
    held.add(r('c1', 5_000));
    held.add(r('c2', 6_000));
    held.add(r('c3', 7_000, { skill: 'sales' }));
    held.add(r('c4', 8_000, { siteId: 'guangzhou' }));
    expect(held.count('beijing', 'support', 'acme')).toBe(2);
    expect(held.at('beijing')).toBe(3);

    held.release('beijing', 'c1');
    expect(held.count('beijing', 'support', 'acme')).toBe(1);
    // c2 arrived at 4,000 (site clock): a snapshot stamped before that still does not show it.
    held.arrived('beijing', 'c2', 4_000);
    held.seenBy('beijing', 3_999);
    expect(held.count('beijing', 'support', 'acme')).toBe(1);
    held.seenBy('beijing', 4_000);
    expect(held.count('beijing', 'support', 'acme')).toBe(0);

    held.expire(6_999);
    expect(held.at('beijing')).toBe(1);
    held.expire(7_000);
    expect(held.at('beijing')).toBe(0);
    expect(held.at('guangzhou')).toBe(1);
  });

  it('expires a reservation made with a shorter timeout before older ones that expire later', () => {
    const held = new Reservations();
    held.add(r('old', 10_000));
    held.add(r('new', 3_000)); // the reservation timeout was shortened by a policy change
    held.expire(3_000);
    expect(held.at('beijing')).toBe(1);
    expect(held.count('beijing', 'support', 'acme')).toBe(1);
  });

  it('a call reserved again replaces its reservation; the old one expiring frees nothing', () => {
    const held = new Reservations();
    held.add(r('c1', 1_000));
    held.add(r('c1', 9_000));
    expect(held.at('beijing')).toBe(1);
    held.expire(1_000);
    expect(held.count('beijing', 'support', 'acme')).toBe(1);
    held.expire(9_000);
    expect(held.count('beijing', 'support', 'acme')).toBe(0);
  });

  it('counts what each origin holds, at every target, until it is freed any way', () => {
    const held = new Reservations();
    held.add(r('s1', 5_000));
    held.add(r('s2', 5_000, { siteId: 'guangzhou' }));
    held.add(r('s3', 9_000));
    held.add(r('g1', 5_000, { siteId: 'shanghai', origin: 'guangzhou' }));
    expect([held.heldBy('shanghai'), held.heldBy('guangzhou'), held.heldBy('beijing')]).toEqual([
      3, 1, 0,
    ]);
    held.add(r('s3', 9_500)); // the same call again: still one reservation
    expect(held.heldBy('shanghai')).toBe(3);
    held.release('beijing', 's1');
    held.arrived('guangzhou', 's2', 4_000);
    held.seenBy('guangzhou', 4_000);
    expect(held.heldBy('shanghai')).toBe(1);
    held.expire(9_500);
    expect([held.heldBy('shanghai'), held.heldBy('guangzhou')]).toEqual([0, 0]);
  });

  it('stays bounded: thousands of reservations come and go', () => {
    const held = new Reservations();
    for (let i = 0; i < 5_000; i++) {
      held.add(r(`c${i}`, i + 100));
      held.expire(i);
    }
    expect(held.at('beijing')).toBe(100);
    held.expire(10_000);
    expect(held.at('beijing')).toBe(0);
  });
});
