import { describe, expect, it } from 'vitest';
import { parseRouteDecisionRows, routeDecisionsQuery } from './route-decisions.js';
import { LIVE_WINDOW_MS, parseSiteStatusRows, siteStatusQuery } from './site-status.js';

const now = Date.UTC(2026, 2, 2, 10, 0, 0);
const flat = (text: string) => text.replace(/\s+/g, ' ');

describe('site status query', () => {
  it('reads only the live window, and escapes every filter value', () => {
    const text = flat(
      siteStatusQuery({ role: 'hq' }, { sites: ["gz' OR 1=1"], skills: ['b\\'] }, now).text,
    );
    expect(text).toContain(`event_time >= toDateTime('2026-03-02 09:50:00', 'UTC')`);
    expect(text).toContain(`site_id IN ('gz\\' OR 1=1')`);
    expect(text).toContain(`skill IN ('b\\\\')`);
    expect(LIVE_WINDOW_MS).toBe(600_000);
  });

  it('gives a tenant client the per-tenant arrays bound to its tenant, never the totals', () => {
    const text = flat(siteStatusQuery({ role: 'tenant', tenantId: 'acme' }, {}, now).text);
    expect(text).toContain('ARRAY JOIN t_ids AS tenant_id');
    expect(text).toMatch(/WHERE `tenant_id` = 'acme' ORDER BY/);
    expect(text).not.toContain('site_queued AS queued');
  });

  it('turns rows into answers with their age; tenant rows have no oldest wait', () => {
    const row = {
      site_id: 'gz',
      skill: 'billing',
      sequence: '7',
      snapshot_ms: String(now - 1500),
      accepting_overflow: 1,
      queued: 3,
      agents_staffed: 4,
      agents_idle: 1,
      expected_wait_ms: '9000',
    };
    const [total, tenant] = parseSiteStatusRows(
      [
        { ...row, tenant_id: '', oldest_wait_ms: '4000' },
        { ...row, tenant_id: 'acme' },
      ],
      now,
    );
    expect(total).toEqual({
      siteId: 'gz',
      skill: 'billing',
      tenantId: null,
      sequence: 7,
      snapshotAt: new Date(now - 1500).toISOString(),
      ageMs: 1500,
      acceptingOverflow: true,
      queued: 3,
      oldestWaitMs: 4000,
      agentsStaffed: 4,
      agentsIdle: 1,
      expectedWaitMs: 9000,
    });
    expect(tenant).toMatchObject({ tenantId: 'acme', oldestWaitMs: null });
  });
});

describe('route decisions query', () => {
  it('binds a site supervisor to decisions from or to its site', () => {
    const text = flat(
      routeDecisionsQuery({ role: 'site', siteId: 'gz' }, { callId: 'c1', limit: 5 }).text,
    );
    expect(text).toContain("(`origin_site_id` = 'gz' OR `target_site_id` = 'gz')");
    expect(text).toContain("call_id = 'c1'");
    expect(text).toMatch(/LIMIT 5$/);
  });

  it('refuses rows whose alternative arrays differ in length', () => {
    const row = {
      decision_id: 'd1',
      call_id: 'c1',
      tenant_id: 't',
      origin_site_id: 'gz',
      skill: 's',
      tier: 1,
      waited_ms: '0',
      origin_expected_wait_ms: '0',
      hop_count: 0,
      decided_ms: String(now),
      verdict: 'stay',
      target_site_id: '',
      reason: 'r',
      alt_site_ids: ['gz', 'cd'],
      alt_eligible: [1, 0],
      alt_excluded_reasons: ['', 'x'],
      alt_expected_wait_ms: ['1', '2'],
      alt_handicap_ms: ['0', '0'],
      alt_state_age_ms: ['5'],
    };
    expect(() => parseRouteDecisionRows([row])).toThrow(/d1: alternative arrays differ in length/);
    expect(
      parseRouteDecisionRows([{ ...row, alt_state_age_ms: ['5', '6'] }])[0]!.alternatives[1],
    ).toEqual({
      siteId: 'cd',
      eligible: false,
      excludedReason: 'x',
      expectedWaitMs: 2,
      handicapMs: 0,
      stateAgeMs: 6,
    });
  });
});
