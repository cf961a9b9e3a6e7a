// A known customer's history before a test's call, as ClickHouse holds it: two earlier contacts
// at other sites, each with a complaint (a major one an agent recorded at Shanghai, a minor one a
// survey reported at Guangzhou, with CSAT 2). The desktop's screen pop must show both.
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
// 18.16 leaves an omitted column at its type's default in JSONEachRow, not its DEFAULT expression.
export const dated = <T extends { event_time: string }>(row: T) => ({
  ...row,
  event_date: row.event_time.slice(0, 10),
});

/** The customer's history before the test's call: two complaints at other sites. */
export function seededHistory(now: number, customerId: string) {
  const call = (id: string, siteId: string, skill: string, arrival: number) => ({
    tenant_id: 'acme-bank',
    site_id: siteId,
    call_id: id,
    skill,
    customer_id: customerId,
    arrival_time: iso(arrival),
  });
  const h1 = call('hist-1', 'shanghai', 'support', now - 20 * DAY);
  const h2 = call('hist-2', 'guangzhou', 'sales', now - 40 * DAY);
  return {
    callEvents: [
      {
        ...h1,
        event_id: 'h1-a',
        kind: 'answered',
        event_time: iso(now - 20 * DAY + 30_000),
        agent_id: 'sh-002',
        wait_ms: 30_000,
      },
      // The agent at Shanghai recorded a major complaint, not resolved.
      {
        ...h1,
        event_id: 'h1-w',
        kind: 'wrap_up_done',
        event_time: iso(now - 20 * DAY + 400_000),
        agent_id: 'sh-002',
        disposition: 'escalated',
        wrap_up_recorded: 1,
        resolved_first_contact: 0,
        complaint_severity: 3,
      },
      {
        ...h2,
        event_id: 'h2-a',
        kind: 'answered',
        event_time: iso(now - 40 * DAY + 5_000),
        agent_id: 'gz-001',
        wait_ms: 5_000,
      },
    ],
    // Guangzhou's call: the survey says a minor complaint, CSAT 2.
    surveys: [
      {
        event_id: 'h2-s',
        tenant_id: 'acme-bank',
        site_id: 'guangzhou',
        call_id: 'hist-2',
        customer_id: customerId,
        agent_id: 'gz-001',
        skill: 'sales',
        event_time: iso(now - 40 * DAY + 3_600_000),
        csat: 2,
        complaint_severity: 2,
      },
    ],
  };
}
