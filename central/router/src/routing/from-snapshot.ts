import type { SiteSnapshot } from '@ccfed/proto';
import type { SiteFigures, TenantSkillFigures } from './router.js';

/** The router's view of a site snapshot from Kafka; undefined when it names no site. */
export function figuresFromSnapshot(snapshot: SiteSnapshot): SiteFigures | undefined {
  const siteId = snapshot.meta?.siteId;
  if (!siteId) return undefined;
  return {
    siteId,
    snapshotMs: snapshot.meta?.eventTime?.getTime() ?? 0,
    sequence: snapshot.sequence,
    acceptingOverflow: snapshot.acceptingOverflow,
    skills: new Map(
      snapshot.skills.map((s) => [
        s.skill,
        {
          averageHandleMs: s.averageHandleMs,
          tenants: new Map<string, TenantSkillFigures>(
            s.tenants.map((t) => [
              t.tenantId,
              { queued: t.queued, staffed: t.agentsStaffed, idle: t.agentsIdle },
            ]),
          ),
        },
      ]),
    ),
  };
}
