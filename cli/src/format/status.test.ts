import { site } from '@ccfed/proto';
import { describe, expect, it } from 'vitest';
import { drainPhrase, skillsCell, statusJson, statusTable, type SiteReport } from './status.js';

const T = new Date('2026-11-22T08:00:00.000Z');

function status(overrides: Partial<site.GetStatusResponse> = {}): site.GetStatusResponse {
  return site.GetStatusResponse.fromPartial({
    evapiConnected: true,
    kafkaConnected: true,
    bufferedEvents: 0,
    drained: false,
    drainReason: '',
    snapshot: {
      meta: { siteId: 'shanghai', eventTime: T },
      acceptingOverflow: true,
      skills: [
        { skill: 'sales', queued: 2, agentsStaffed: 3, agentsIdle: 1, expectedWaitMs: 45_000 },
        { skill: 'support', queued: 0, agentsStaffed: 2, agentsIdle: 2, expectedWaitMs: 0 },
      ],
    },
    ...overrides,
  });
}

const reports: SiteReport[] = [
  { siteId: 'shanghai', address: '127.0.0.1:50061', reachable: true, status: status() },
  {
    siteId: 'beijing',
    address: '127.0.0.1:50062',
    reachable: true,
    status: status({
      kafkaConnected: false,
      bufferedEvents: 1234,
      drained: true,
      drainReason: 'switch maintenance',
    }),
  },
  {
    siteId: 'guangzhou',
    address: '127.0.0.1:50063',
    reachable: false,
    error: 'UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:50063',
  },
];

describe('statusTable', () => {
  it('shows one row per site: links, buffer, drain with reason, skills; unreachable rows say why', () => {
    expect(statusTable(reports).split('\n')).toEqual([
      'SITE       REACHABLE    EVAPI  KAFKA  BUFFERED  DRAINED                  SKILLS queued/staffed/idle EWT',
      'shanghai   yes          up     up            0  no                       sales 2/3/1 45s, support 0/2/2 0s',
      'beijing    yes          up     DOWN       1234  yes: switch maintenance  sales 2/3/1 45s, support 0/2/2 0s',
      'guangzhou  unreachable  -      -             -  -                        127.0.0.1:50063: UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:50063',
    ]);
  });
});

describe('skillsCell', () => {
  it('says so when the site reports no skills', () => {
    expect(skillsCell(status({ snapshot: undefined }))).toBe('(no skills)');
  });
});

describe('statusJson', () => {
  it('gives machines the same facts with stable names', () => {
    const json = statusJson(reports) as { sites: Record<string, unknown>[] };
    expect(json.sites[1]).toEqual({
      site: 'beijing',
      address: '127.0.0.1:50062',
      reachable: true,
      evapiConnected: true,
      kafkaConnected: false,
      bufferedEvents: 1234,
      drained: true,
      drainReason: 'switch maintenance',
      acceptingOverflow: true,
      snapshotTime: '2026-11-22T08:00:00.000Z',
      skills: [
        {
          skill: 'sales',
          queued: 2,
          agentsStaffed: 3,
          agentsIdle: 1,
          expectedWaitMs: 45_000,
          oldestWaitMs: 0,
        },
        {
          skill: 'support',
          queued: 0,
          agentsStaffed: 2,
          agentsIdle: 2,
          expectedWaitMs: 0,
          oldestWaitMs: 0,
        },
      ],
    });
    expect(json.sites[2]).toEqual({
      site: 'guangzhou',
      address: '127.0.0.1:50063',
      reachable: false,
      error: 'UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:50063',
    });
  });
});

describe('drainPhrase', () => {
  it('names the state and the reason when there is one', () => {
    expect(drainPhrase(false, 'ignored')).toBe('not drained');
    expect(drainPhrase(true, '')).toBe('drained');
    expect(drainPhrase(true, 'switch maintenance')).toBe('drained (switch maintenance)');
  });
});
