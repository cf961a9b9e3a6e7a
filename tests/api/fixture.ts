// A small fixture for the API tests: two sites and two tenants, each with calls, surveys, CRM
// holdings, routing decisions and site snapshots, inserted into the raw tables with JSONEachRow
// so the materialized views fill the derived tables exactly as in production.
import type { ClickHouseClient } from '@clickhouse/client';
import { formatDateTime } from '@ccfed/common';

export const SITES = ['guangzhou', 'chengdu'] as const;
export const TENANTS = ['acme', 'globex'] as const;
export type SiteId = (typeof SITES)[number];
export type TenantId = (typeof TENANTS)[number];

/** The API's clock: 2026-03-02 10:00:00 UTC. Calls are at 09:xx, snapshots just before 10:00. */
export const NOW = Date.UTC(2026, 2, 2, 10, 0, 0);
const EPOCH = formatDateTime(new Date(0));

const at = (hhmmss: string) => new Date(`2026-03-02T${hhmmss}Z`);
/** event_time and event_date (18.16 does not apply DEFAULTs to fields JSONEachRow omits). */
const day = (d: Date) => ({
  event_time: formatDateTime(d),
  event_date: formatDateTime(d).slice(0, 10),
});
/** The same with event_ms, for the tables that keep milliseconds. */
const time = (d: Date) => ({ ...day(d), event_ms: d.getUTCMilliseconds() });

let seq = 0;
const eventId = () => `ev-${++seq}`;

/** The customer of each (tenant, site) call, and one holdings-only customer per tenant. */
export const customerOf = (tenant: TenantId, site: SiteId) => `${tenant}-cust-${site}`;
export const holdingsOnlyCustomer = (tenant: TenantId) => `${tenant}-cust-x`;

function callEvents(tenant: TenantId, site: SiteId): Record<string, unknown>[] {
  const callId = `${tenant}-${site}-1`;
  const base = {
    tenant_id: tenant,
    site_id: site,
    call_id: callId,
    skill: 'billing',
    tier: 1,
    agent_id: '',
    customer_id: '',
    caller_hash: '',
    arrival_time: EPOCH,
    wait_ms: 0,
    service_level_ms: 0,
    short_abandon_ms: 0,
    by_caller: 0,
    talk_ms: 0,
    hold_ms: 0,
    ended_by: 0,
    wrap_up_ms: 0,
    disposition: '',
    peer_site_id: '',
    sip_code: 0,
    decision_id: '',
    payload: '{}',
    kafka_partition: 0,
  };
  const agent = `${site}-agent-1`;
  return [
    {
      ...base,
      ...time(at('09:05:00')),
      event_id: eventId(),
      kind: 'offered',
      customer_id: customerOf(tenant, site),
      caller_hash: `h-${tenant}-${site}`,
      arrival_time: formatDateTime(at('09:05:00')),
    },
    {
      ...base,
      ...time(at('09:05:10')),
      event_id: eventId(),
      kind: 'answered',
      agent_id: agent,
      wait_ms: 10_000,
      service_level_ms: 20_000,
    },
    {
      ...base,
      ...time(at('09:08:00')),
      event_id: eventId(),
      kind: 'ended',
      agent_id: agent,
      talk_ms: 170_000,
      ended_by: 1,
    },
  ].map((row, i) => ({ ...row, kafka_offset: seq * 10 + i }));
}

function survey(tenant: TenantId, site: SiteId): Record<string, unknown> {
  return {
    event_id: eventId(),
    tenant_id: tenant,
    site_id: site,
    call_id: `${tenant}-${site}-1`,
    customer_id: customerOf(tenant, site),
    agent_id: `${site}-agent-1`,
    skill: 'billing',
    ...day(at('09:10:00')),
    csat: site === 'guangzhou' ? 2 : 5,
    nps: tenant === 'acme' ? 10 : 3,
    has_nps: 1,
    resolved: 1,
    has_resolved: 1,
    complaint_severity: tenant === 'acme' ? 3 : 1,
    kafka_partition: 0,
    kafka_offset: seq,
  };
}

// Each tenant has its own catalogue: everyone holds the card, two of three also the loan.
const productsOf = (tenant: TenantId) => [`${tenant}-card`, `${tenant}-loan`];

function holdings(tenant: TenantId): Record<string, unknown>[] {
  const [card, loan] = productsOf(tenant);
  const customers: [string, SiteId, string[]][] = [
    [customerOf(tenant, 'guangzhou'), 'guangzhou', [card!, loan!]],
    [customerOf(tenant, 'chengdu'), 'chengdu', [card!, loan!]],
    [holdingsOnlyCustomer(tenant), 'guangzhou', [card!]],
  ];
  return customers.map(([customer, site, products]) => ({
    event_id: eventId(),
    tenant_id: tenant,
    site_id: site,
    customer_id: customer,
    kind: 'holdings',
    ...day(at('08:00:00')),
    customer_value_minor: 100_000,
    product_id: '',
    product_ids: products,
    amount_minor: 0,
    cancel_reason: '',
    intent_only: 0,
    kafka_partition: 0,
    kafka_offset: seq,
  }));
}

/** Decisions: [tenant, origin, verdict, target]. */
export const DECISIONS: readonly [TenantId, SiteId, 'stay' | 'overflow', SiteId | ''][] = [
  ['acme', 'guangzhou', 'stay', ''],
  ['acme', 'chengdu', 'stay', ''],
  ['globex', 'chengdu', 'overflow', 'guangzhou'],
  ['globex', 'chengdu', 'stay', ''],
];

function decisions(): Record<string, unknown>[] {
  return DECISIONS.map(([tenant, origin, verdict, target], i) => ({
    event_id: eventId(),
    tenant_id: tenant,
    decision_id: `d${i + 1}`,
    call_id: `${tenant}-${origin}-route-${i + 1}`,
    origin_site_id: origin,
    skill: 'billing',
    tier: 1,
    waited_ms: 5_000,
    origin_expected_wait_ms: 90_000,
    hop_count: 0,
    ...time(new Date(at('09:20:00').getTime() + i * 1000 + 250)),
    verdict,
    target_site_id: target,
    reason: verdict === 'overflow' ? 'shorter_wait' : 'origin_fine',
    alt_site_ids: ['guangzhou', 'chengdu'],
    alt_eligible: [1, 0],
    alt_excluded_reasons: ['', 'draining'],
    alt_expected_wait_ms: [20_000, 300_000],
    alt_handicap_ms: [5_000, 5_000],
    alt_state_age_ms: [300, 1200],
    kafka_partition: 0,
    kafka_offset: seq,
  }));
}

/** Figures of the newest snapshot per site; older ones carry 99s so a stale read shows. */
export const LIVE = {
  guangzhou: { queued: 7, oldest: 45_000, staffed: 20, idle: 2, ewt: 30_000, tenants: [3, 4] },
  chengdu: { queued: 5, oldest: 15_000, staffed: 12, idle: 1, ewt: 12_000, tenants: [1, 4] },
} as const;

function snapshots(): Record<string, unknown>[] {
  const row = (site: SiteId, ageMs: number, sequence: number, live: boolean) => {
    const f = LIVE[site];
    return {
      event_id: eventId(),
      tenant_id: '',
      site_id: site,
      ...time(new Date(NOW - ageMs)),
      sequence,
      accepting_overflow: site === 'guangzhou' ? 1 : 0,
      skill: 'billing',
      queued: live ? f.queued : 99,
      oldest_wait_ms: live ? f.oldest : 99,
      agents_staffed: live ? f.staffed : 99,
      agents_idle: live ? f.idle : 99,
      expected_wait_ms: live ? f.ewt : 99,
      offered_today: 0,
      answered_within_threshold_today: 0,
      answered_today: 0,
      abandoned_today: 0,
      inbound_overflow_pending: 0,
      average_handle_ms: 180_000,
      tenant_ids: [...TENANTS],
      tenant_queued: live ? [...f.tenants] : [99, 99],
      tenant_agents_staffed: [10, site === 'guangzhou' ? 10 : 2],
      tenant_agents_idle: [1, site === 'guangzhou' ? 1 : 0],
      tenant_expected_wait_ms: live ? [f.ewt / 2, f.ewt * 2] : [99, 99],
      kafka_partition: 0,
      kafka_offset: seq,
    };
  };
  return SITES.flatMap((site) => [
    // Older than the live window: must never be read.
    row(site, 20 * 60_000, 500, false),
    // Superseded by a newer one with a lower sequence (the site agent restarted).
    row(site, 60_000, 400, false),
    row(site, 2_000, 1, true),
  ]);
}

/** A recording id as the sites make them: the start day, then a UUID (here a counter). */
export const recordingIdOf = (n: number) =>
  `20260302-${String(n).padStart(8, '0')}-0000-4000-8000-000000000000`;

/**
 * One recording of every (tenant, site) call, stored; acme's at guangzhou later deleted by the
 * retention job; and a globex call at chengdu the policy records that could not be recorded.
 */
export const RECORDINGS = {
  deleted: recordingIdOf(1),
  failed: recordingIdOf(99),
} as const;

function recordings(): Record<string, unknown>[] {
  const row = (n: number, tenant: TenantId, site: SiteId, kind: string, when: Date) => ({
    event_id: eventId(),
    tenant_id: tenant,
    site_id: site,
    ...time(when),
    recording_id: recordingIdOf(n),
    call_id: `${tenant}-${site}-1`,
    skill: 'billing',
    agent_id: `${site}-agent-1`,
    kind,
    started_at: formatDateTime(at('09:10:00')),
    started_ms: 500,
    duration_ms: kind === 'stored' ? 61_000 : 0,
    bytes: kind === 'stored' ? 1_952_044 : 0,
    sealed_bytes: kind === 'stored' ? 1_953_000 : 0,
    content_type: kind === 'stored' ? 'audio/wav' : '',
    paused_offsets_ms: kind === 'stored' ? [20_000] : [],
    paused_durations_ms: kind === 'stored' ? [9_000] : [],
    paused_by: kind === 'stored' ? [`agent:${site}/${site}-agent-1`] : [],
    key_id: kind === 'stored' ? `k1/${tenant}` : '',
    storage_path: kind === 'failed' ? '' : `${tenant}/2026-03-02/${recordingIdOf(n)}.ccrec`,
    expires_at: formatDateTime(kind === 'stored' ? at('23:10:00') : new Date(0)),
    reason: kind === 'deleted' ? 'retention' : kind === 'failed' ? 'rtpengine did not answer' : '',
    kafka_partition: 0,
    kafka_offset: seq,
  });
  const pairs = TENANTS.flatMap((t) => SITES.map((s) => [t, s] as const));
  return [
    ...pairs.map(([t, s], i) => row(i + 1, t, s, 'stored', at('09:11:02'))),
    row(1, 'acme', 'guangzhou', 'deleted', at('09:50:00')),
    row(99, 'globex', 'chengdu', 'failed', at('09:10:00')),
  ];
}

/** Inserts the whole fixture. */
export async function insertFixture(client: ClickHouseClient): Promise<void> {
  const pairs = TENANTS.flatMap((t) => SITES.map((s) => [t, s] as const));
  const inserts: [string, Record<string, unknown>[]][] = [
    ['call_events', pairs.flatMap(([t, s]) => callEvents(t, s))],
    ['surveys', pairs.map(([t, s]) => survey(t, s))],
    ['crm_events', TENANTS.flatMap(holdings)],
    ['route_decisions', decisions()],
    ['site_snapshots', snapshots()],
    ['recordings', recordings()],
  ];
  for (const [table, values] of inserts) {
    await client.insert({ table, values, format: 'JSONEachRow' });
  }
}

/** The tables whose row counts must not change whatever the requests carry. */
export const RAW_TABLES = [
  'call_events',
  'surveys',
  'crm_events',
  'route_decisions',
  'site_snapshots',
  'recordings',
];
