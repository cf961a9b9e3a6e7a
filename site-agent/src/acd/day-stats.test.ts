import { ManualClock } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { DayStats } from './day-stats.js';

describe('DayStats', () => {
  it('counts answers within the service-level threshold separately', () => {
    const stats = new DayStats(
      new ManualClock(Date.parse('2026-11-22T02:00:00Z')),
      'Asia/Shanghai',
    );
    stats.offered('sales');
    stats.offered('sales');
    stats.answered('sales', 20_000, 20_000);
    stats.answered('sales', 20_001, 20_000);
    stats.abandoned('sales');
    expect(stats.forSkill('sales')).toEqual({
      offered: 2,
      answered: 2,
      answeredWithinThreshold: 1,
      abandoned: 1,
    });
  });

  it("starts a new day at the site's local midnight, not UTC midnight", () => {
    // 15:59:59 UTC is 23:59:59 in Shanghai.
    const clock = new ManualClock(Date.parse('2026-11-22T15:59:59Z'));
    const stats = new DayStats(clock, 'Asia/Shanghai');
    stats.offered('sales');
    clock.advance(1000);
    expect(stats.forSkill('sales').offered).toBe(0);
  });
});
