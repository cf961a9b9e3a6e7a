import type { EventMeta, SiteSnapshot } from '@ccfed/proto';
import type { SkillStatus } from './acd/acd.js';
import type { SkillDayFigures } from './acd/day-stats.js';

/** Builds the site snapshot the router and the live wall read, from the ACD's current figures. */
export function buildSnapshot(input: {
  readonly meta: EventMeta;
  readonly sequence: number;
  readonly skills: readonly SkillStatus[];
  readonly today: (skill: string) => Readonly<SkillDayFigures>;
  readonly acceptingOverflow: boolean;
}): SiteSnapshot {
  return {
    meta: input.meta,
    sequence: input.sequence,
    acceptingOverflow: input.acceptingOverflow,
    skills: input.skills.map((s) => {
      const d = input.today(s.skill);
      return {
        skill: s.skill,
        queued: s.queued,
        oldestWaitMs: s.oldestWaitMs,
        agentsStaffed: s.staffed,
        agentsIdle: s.idle,
        expectedWaitMs: s.expectedWaitMs,
        offeredToday: d.offered,
        answeredWithinThresholdToday: d.answeredWithinThreshold,
        answeredToday: d.answered,
        abandonedToday: d.abandoned,
        inboundOverflowPending: 0,
        averageHandleMs: s.averageHandleMs,
        tenants: s.tenants.map((t) => ({
          tenantId: t.tenantId,
          queued: t.queued,
          agentsStaffed: t.staffed,
          agentsIdle: t.idle,
          expectedWaitMs: t.expectedWaitMs,
        })),
      };
    }),
  };
}
