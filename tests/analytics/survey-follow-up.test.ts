// The survey follow-up sample against real ClickHouse: the candidates are one tenant's wrap-ups
// in the period, with a customer and no survey answered about the call; the draw then takes the
// major and critical complaints always.
import {
  surveyFollowUpCandidatesQuery,
  surveyFollowUpSample,
} from '@ccfed/analytics/survey-follow-up';
import { assertRunsOnCurrentClickHouse, migratedDatabaseSetup } from '@ccfed/services';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/engines.js';

const TO = new Date('2026-12-07T12:00:00Z');
const DAY = 86_400_000;

const at = (ms: number) => {
  const iso = new Date(TO.getTime() + ms).toISOString();
  return { event_time: iso.slice(0, 19).replace('T', ' '), event_date: iso.slice(0, 10) };
};

const wrapUp = (
  id: string,
  tenant: string,
  customer: string,
  severity: number,
  ms: number,
  site = 'beijing',
) => ({
  event_id: `${id}-w`,
  tenant_id: tenant,
  site_id: site,
  call_id: id,
  kind: 'wrap_up_done',
  customer_id: customer,
  wrap_up_recorded: 1,
  complaint_severity: severity,
  ...at(ms),
});

describe('surveyFollowUpCandidatesQuery on ClickHouse', () => {
  let db: ClickHouseClient;
  beforeAll(async () => {
    ({ client: db } = await freshDatabase());
    await db.insert({
      table: 'call_events',
      format: 'JSONEachRow',
      values: [
        wrapUp('k1', 'acme-bank', 'c-1', 4, -DAY), // critical
        wrapUp('k2', 'acme-bank', 'c-2', 3, -2 * DAY), // major, but surveyed already
        wrapUp('k3', 'acme-bank', 'c-3', 1, -3 * DAY), // no complaint
        wrapUp('k4', 'acme-bank', 'c-4', 3, -9 * DAY), // major, before the period
        wrapUp('k5', 'acme-bank', '', 4, -DAY), // no customer
        wrapUp('k6', 'zenith-telecom', 'z-1', 4, -DAY), // another tenant
        wrapUp('k7', 'acme-bank', 'c-7', 3, -DAY, 'shanghai'), // major, at another site
      ],
    });
    await db.insert({
      table: 'surveys',
      format: 'JSONEachRow',
      values: [
        {
          event_id: 's2',
          tenant_id: 'acme-bank',
          site_id: 'beijing',
          call_id: 'k2',
          customer_id: 'c-2',
          ...at(-2 * DAY + 600_000),
          csat: 2,
          complaint_severity: 3,
        },
      ],
    });
  });
  afterAll(async () => {
    await db?.close();
  });

  const candidates = async (siteId?: string) => {
    const q = surveyFollowUpCandidatesQuery({
      tenantId: 'acme-bank',
      ...(siteId !== undefined && { siteId }),
      from: new Date(TO.getTime() - 7 * DAY),
      to: TO,
    });
    const rs = await db.query({ query: q.text, format: 'JSONEachRow' });
    return rs.json<Record<string, unknown>>();
  };

  it('reads one tenant’s wrap-ups of the period with a customer and no survey yet', async () => {
    const rows = await candidates();
    expect(rows.map((r) => r.call_id).sort()).toEqual(['k1', 'k3', 'k7']);
    expect(surveyFollowUpSample(rows, { baseRate: 0 }, 100)).toEqual(['c-1', 'c-7']);
    expect(surveyFollowUpSample(rows, { baseRate: 1 }, 100)).toEqual(['c-1', 'c-7', 'c-3']);
    expect((await candidates('beijing')).map((r) => r.call_id).sort()).toEqual(['k1', 'k3']);
  });

  it('runs on a current ClickHouse too (chdb), for a tenant and for one of its sites', async () => {
    const period = { tenantId: 'acme-bank', from: new Date(TO.getTime() - 7 * DAY), to: TO };
    await assertRunsOnCurrentClickHouse(migratedDatabaseSetup(), [
      { name: 'tenant', sql: surveyFollowUpCandidatesQuery(period).text },
      { name: 'site', sql: surveyFollowUpCandidatesQuery({ ...period, siteId: 'beijing' }).text },
    ]);
  });
});
