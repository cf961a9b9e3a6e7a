import type { site } from '@ccfed/proto';
import { formatDuration } from './duration.js';
import { renderTable, type Column } from './table.js';

/** What one site's agent said to GetStatus, or why it said nothing. */
export type SiteReport =
  | {
      readonly siteId: string;
      readonly address: string;
      readonly reachable: true;
      readonly status: site.GetStatusResponse;
    }
  | {
      readonly siteId: string;
      readonly address: string;
      readonly reachable: false;
      readonly error: string;
    };

const COLUMNS: readonly Column[] = [
  { header: 'SITE' },
  { header: 'REACHABLE' },
  { header: 'EVAPI' },
  { header: 'KAFKA' },
  { header: 'BUFFERED', align: 'right' },
  { header: 'DRAINED' },
  { header: 'SKILLS queued/staffed/idle EWT' },
];

/** The status table: one row per site, in the order given; an unreachable row says why. */
export function statusTable(reports: readonly SiteReport[]): string {
  const rows = reports.map((r) => {
    if (!r.reachable)
      return [r.siteId, 'unreachable', '-', '-', '-', '-', `${r.address}: ${r.error}`];
    const s = r.status;
    return [
      r.siteId,
      'yes',
      s.evapiConnected ? 'up' : 'DOWN',
      s.kafkaConnected ? 'up' : 'DOWN',
      String(s.bufferedEvents),
      s.drained ? `yes${s.drainReason ? `: ${s.drainReason}` : ''}` : 'no',
      skillsCell(s),
    ];
  });
  return renderTable(COLUMNS, rows);
}

/** `sales 2/3/1 45s, support 0/2/2 0s`: per skill queued/staffed/idle and expected wait. */
export function skillsCell(status: site.GetStatusResponse): string {
  const skills = status.snapshot?.skills ?? [];
  if (skills.length === 0) return '(no skills)';
  return skills
    .map(
      (k) =>
        `${k.skill} ${k.queued}/${k.agentsStaffed}/${k.agentsIdle} ${formatDuration(k.expectedWaitMs)}`,
    )
    .join(', ');
}

/** The same reports for machines: stable field names, times in ms, one object per site. */
export function statusJson(reports: readonly SiteReport[]): unknown {
  return {
    sites: reports.map((r) => {
      if (!r.reachable) {
        return { site: r.siteId, address: r.address, reachable: false, error: r.error };
      }
      const s = r.status;
      return {
        site: r.siteId,
        address: r.address,
        reachable: true,
        evapiConnected: s.evapiConnected,
        kafkaConnected: s.kafkaConnected,
        bufferedEvents: s.bufferedEvents,
        drained: s.drained,
        drainReason: s.drainReason,
        acceptingOverflow: s.snapshot?.acceptingOverflow ?? null,
        snapshotTime: s.snapshot?.meta?.eventTime?.toISOString() ?? null,
        skills: (s.snapshot?.skills ?? []).map((k) => ({
          skill: k.skill,
          queued: k.queued,
          agentsStaffed: k.agentsStaffed,
          agentsIdle: k.agentsIdle,
          expectedWaitMs: k.expectedWaitMs,
          oldestWaitMs: k.oldestWaitMs,
        })),
      };
    }),
  };
}

/** A drain state as one phrase: `drained (switch maintenance)` or `not drained`. */
export function drainPhrase(drained: boolean, reason: string): string {
  if (!drained) return 'not drained';
  return reason ? `drained (${reason})` : 'drained';
}
