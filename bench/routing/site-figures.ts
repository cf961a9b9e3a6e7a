// What the router learns of a site: the ACD's skill status turned into the figures a site
// snapshot carries (the live path goes through protobuf and from-snapshot.ts; the fields are
// the same).
import type { SiteFigures } from '@ccfed/router/routing/router';
import type { SkillStatus } from '@ccfed/site-agent/acd/acd';

/** The router's figures for `siteId` from its ACD's skill status at `snapshotMs`. */
export function siteFigures(
  siteId: string,
  sequence: number,
  snapshotMs: number,
  status: readonly SkillStatus[],
): SiteFigures {
  return {
    siteId,
    snapshotMs,
    sequence,
    acceptingOverflow: true,
    skills: new Map(
      status.map((s) => [
        s.skill,
        {
          averageHandleMs: s.averageHandleMs,
          tenants: new Map(
            s.tenants.map((t) => [
              t.tenantId,
              { queued: t.queued, staffed: t.staffed, idle: t.idle },
            ]),
          ),
        },
      ]),
    ),
  };
}
