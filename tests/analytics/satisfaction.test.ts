// CSAT (top-2-box) and NPS by site, skill, agent and wait band on a hand-worked fixture: the
// surveys and the calls they are about go into the raw tables, the wait comes through `calls`.
import {
  parseSatisfactionRows,
  satisfactionQuery,
  type SatisfactionRow,
} from '@ccfed/analytics/satisfaction';
import type { Scope } from '@ccfed/analytics/scope';
import { assertRunsOnCurrentClickHouse, migratedDatabaseSetup } from '@ccfed/services';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, rows } from '../support/engines.js';

const from = new Date('2026-01-01T00:00:00Z');
const to = new Date('2026-02-01T00:00:00Z');
let client: ClickHouseClient;

interface Fixture {
  call: string;
  tenant: string;
  site: string;
  skill: string;
  agent: string;
  waitMs: number | null; // null: no call events for this survey
  csat: number;
  nps: number | null;
  day?: string;
}

// prettier-ignore
const FIXTURE: Fixture[] = [
  { call: 'k1', tenant: 't1', site: 's-a', skill: 'billing', agent: 'a1', waitMs: 5_000, csat: 5, nps: 10 },
  { call: 'k2', tenant: 't1', site: 's-a', skill: 'billing', agent: 'a1', waitMs: 30_000, csat: 4, nps: 7 },
  { call: 'k3', tenant: 't1', site: 's-a', skill: 'support', agent: 'a2', waitMs: 90_000, csat: 2, nps: 3 },
  { call: 'k4', tenant: 't1', site: 's-b', skill: 'support', agent: 'a3', waitMs: 200_000, csat: 0, nps: null },
  { call: 'k5', tenant: 't1', site: 's-b', skill: 'billing', agent: 'a3', waitMs: 19_999, csat: 3, nps: 9 },
  { call: 'k6', tenant: 't1', site: 's-b', skill: 'billing', agent: 'a3', waitMs: 60_000, csat: 1, nps: 0 },
  { call: 'k7', tenant: 't1', site: 's-a', skill: 'support', agent: 'a2', waitMs: null, csat: 5, nps: null },
  { call: 'k9', tenant: 't2', site: 's-a', skill: 'billing', agent: 'a9', waitMs: 10_000, csat: 1, nps: 0 },
  // Outside [from, to): never counted.
  { call: 'k10', tenant: 't1', site: 's-a', skill: 'billing', agent: 'a1', waitMs: 5_000, csat: 5, nps: 10, day: '2026-02-03' },
];

beforeAll(async () => {
  ({ client } = await freshDatabase());
  const callEvents = FIXTURE.filter((f) => f.waitMs !== null).flatMap((f) => {
    const day = f.day ?? '2026-01-15';
    const base = {
      tenant_id: f.tenant,
      site_id: f.site,
      call_id: f.call,
      skill: f.skill,
      tier: 1,
      event_date: day,
    };
    return [
      {
        ...base,
        event_id: `${f.call}-o`,
        kind: 'offered',
        event_time: `${day} 10:00:00`,
        customer_id: `cust-${f.call}`,
        arrival_time: `${day} 10:00:00`,
      },
      {
        ...base,
        event_id: `${f.call}-a`,
        kind: 'answered',
        event_time: `${day} 10:05:00`,
        agent_id: f.agent,
        wait_ms: f.waitMs,
        service_level_ms: 20_000,
      },
    ];
  });
  const surveys = FIXTURE.map((f) => {
    const day = f.day ?? '2026-01-15';
    return {
      event_id: `${f.call}-s`,
      tenant_id: f.tenant,
      site_id: f.site,
      call_id: f.call,
      customer_id: `cust-${f.call}`,
      agent_id: f.agent,
      skill: f.skill,
      event_time: `${day} 11:00:00`,
      event_date: day,
      csat: f.csat,
      nps: f.nps ?? 0,
      has_nps: f.nps === null ? 0 : 1,
      complaint_severity: 1,
    };
  });
  await client.insert({ table: 'call_events', values: callEvents, format: 'JSONEachRow' });
  await client.insert({ table: 'surveys', values: surveys, format: 'JSONEachRow' });
});

afterAll(async () => {
  await client?.close();
});

async function satisfaction(scope: Scope, by: 'site' | 'skill' | 'agent' | 'wait_band') {
  const got = parseSatisfactionRows(
    await rows(client, satisfactionQuery(scope, { from, to, by }).text),
  );
  return got.map((r: SatisfactionRow) => [r.key, r.responses, r.csat, r.nps]);
}

const t1: Scope = { role: 'tenant', tenantId: 't1' };

describe('satisfaction', () => {
  it('by site, for HQ: top-2-box CSAT among answered, NPS among asked', async () => {
    // s-a: k1 k2 k3 k7 k9 → CSAT 3 of 5 (5,4,2,5,1); NPS asked k1 k2 k3 k9: 1 promoter, 2 detractors.
    // s-b: k4 k5 k6 → CSAT 0 of 2 (k4 skipped); NPS k5 promoter, k6 detractor.
    expect(await satisfaction({ role: 'hq' }, 'site')).toEqual([
      ['s-a', 5, 0.6, -25],
      ['s-b', 3, 0, 0],
    ]);
  });

  it("by site, for a tenant client: its own surveys only; a supervisor sees only its site's", async () => {
    expect(await satisfaction(t1, 'site')).toEqual([
      ['s-a', 4, 0.75, 0],
      ['s-b', 3, 0, 0],
    ]);
    expect(await satisfaction({ role: 'site', siteId: 's-b' }, 'site')).toEqual([['s-b', 3, 0, 0]]);
  });

  it('by skill and by agent', async () => {
    expect(await satisfaction(t1, 'skill')).toEqual([
      ['billing', 4, 0.5, 25],
      ['support', 3, 0.5, -100],
    ]);
    expect(await satisfaction(t1, 'agent')).toEqual([
      ['a1', 2, 1, 50],
      ['a2', 2, 0.5, -100],
      ['a3', 3, 0, 0],
    ]);
  });

  it('by wait band, from the call each survey is about (19.999 s is under 20 s, 60 s is over a minute)', async () => {
    expect(await satisfaction(t1, 'wait_band')).toEqual([
      ['<20s', 2, 0.5, 100],
      ['20-60s', 1, 1, 0],
      ['1-3min', 2, 0, -100],
      ['>3min', 1, null, null],
      ['unknown', 1, 1, null],
    ]);
    // The t2 survey's call waited 10 s: it shows for HQ only.
    const hq = await satisfaction({ role: 'hq' }, 'wait_band');
    expect(hq[0]).toEqual(['<20s', 3, 1 / 3, 100 / 3]);
  });

  it('runs on current ClickHouse too', async () => {
    await assertRunsOnCurrentClickHouse(
      migratedDatabaseSetup(),
      (['site', 'skill', 'agent', 'wait_band'] as const).flatMap((by) => [
        { name: `${by} hq`, sql: satisfactionQuery({ role: 'hq' }, { from, to, by }).text },
        { name: `${by} tenant`, sql: satisfactionQuery(t1, { from, to, by }).text },
        {
          name: `${by} site`,
          sql: satisfactionQuery({ role: 'site', siteId: 's-a' }, { from, to, by }).text,
        },
      ]),
    );
  });
});
