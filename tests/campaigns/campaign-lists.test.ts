// Campaigns from the lists HQ keeps (issue 19): a tenant client asks the HTTP API for a campaign
// from its churn call-back list; the API reads the newest scoring run from real ClickHouse as that
// tenant, and sends a real site the treated customers' ids only; the site resolves them from the
// tenant's CRM contacts it holds. The control group is never on the campaign, another tenant's
// customers never are, and the treated customers the site holds no number for are counted and
// kept off it. A survey follow-up sample drawn from wrap-ups in ClickHouse becomes a campaign the
// same way. A retention team's list of 50,000 contacts, uploaded as a CSV or read as the churn
// call-back list, becomes a campaign whole (the creation route takes up to 8 MiB, the site's gRPC
// server a message that big); a bigger body is refused with 413, and every other route still
// refuses anything over 16 KB. Dialing such a campaign is what
// tests/campaigns/campaign-e2e.test.ts proves.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { freePort } from '@ccfed/services';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApiProcess, type ApiProcess } from '../support/api-process.js';
import { storeChurnRun } from '../support/churn-runs.js';
import { freshDatabase, uniqueName } from '../support/engines.js';
import { startSite, type RunningSite } from '../support/running-site.js';

const HOUR = 3_600_000;

describe('a campaign from the churn call-back list', () => {
  const dir = joinPath(inject('runDir'), uniqueName('campaign-lists'));
  let site: RunningSite;
  let api: ApiProcess;
  let ch: ClickHouseClient;
  // whole seconds: ClickHouse's DateTime
  const scoredAt = new Date(Math.floor((Date.now() - HOUR) / 1000) * 1000);

  const http = async (user: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${api.tokens.get(user)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as Record<string, any> };
  };

  /** A list of `n` contacts, customer ids `idOf(i)`, numbers from +4479`first` on. */
  const bigList = (idOf: (i: number) => string, n: number, first: number) => {
    const zones = ['Europe/London', 'Asia/Shanghai', 'America/New_York', 'UTC'];
    const rows = ['customer_id,number,time_zone'];
    for (let i = 0; i < n; i++) rows.push(`${idOf(i)},+4479${first + i},${zones[i % 4]}`);
    return `${rows.join('\n')}\n`;
  };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    // A trunk nobody answers: the site runs campaigns only with a dialer, and none is started here.
    const trunkPort = await freePort();
    site = await startSite({
      mutate: (doc) => {
        const beijing = doc.sites.find((s: { id: string }) => s.id === 'beijing');
        beijing.sip.trunk = `sip:127.0.0.1:${trunkPort}`;
      },
    });
    const fresh = await freshDatabase();
    ch = fresh.client;
    api = await startApiProcess({
      dir,
      database: fresh.database,
      topologyFile: site.topologyFile,
      users: [
        { username: 'acme.client', role: 'tenant', tenantId: 'acme-bank' },
        { username: 'zenith.client', role: 'tenant', tenantId: 'zenith-telecom' },
      ],
      password: 'campaign-lists-password-1',
    });
    // An older run (a-6 was on the list then) and the run in force: treated and control
    // customers of acme, and a treated customer of zenith.
    await storeChurnRun(ch, new Date(scoredAt.getTime() - 24 * HOUR), 'acme-v2', [
      { tenant: 'acme-bank', customer: 'a-6', group: 'callback', priority: 990 },
    ]);
    await storeChurnRun(ch, scoredAt, 'acme-v3', [
      { tenant: 'acme-bank', customer: 'a-1', group: 'callback', priority: 900 },
      { tenant: 'acme-bank', customer: 'a-2', group: 'callback', priority: 700 },
      { tenant: 'acme-bank', customer: 'a-3', group: 'callback', priority: 500 },
      { tenant: 'acme-bank', customer: 'a-4', group: 'control', priority: 950 },
      { tenant: 'acme-bank', customer: 'a-5', group: 'control', priority: 600 },
      { tenant: 'zenith-telecom', customer: 'z-1', group: 'callback', priority: 999 },
    ]);
    // What acme's CRM gives the site: numbers for every customer it knows, the control group's
    // too, and an id that is zenith's customer's elsewhere; none for a-3.
    mkdirSync(joinPath(site.dataDir, 'crm-contacts'), { recursive: true });
    writeFileSync(
      joinPath(site.dataDir, 'crm-contacts', 'acme-bank.csv'),
      [
        'customer_id,number,time_zone',
        'a-1,+447700900101,Europe/London',
        'a-2,+8613800000102,Asia/Shanghai',
        'a-4,+447700900104,Europe/London',
        'a-5,+447700900105,Europe/London',
        'a-6,+447700900106,Europe/London',
        'z-1,+447700900199,Europe/London',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await api?.stop();
    await site?.stop();
  });

  it('holds only the treated customers of the run in force the site can reach; the control group and another tenant’s customers never', async () => {
    const created = await http('acme.client', 'POST', '/campaigns', {
      siteId: 'beijing',
      campaignId: 'acme-churn',
      skill: 'sales',
      mode: 'progressive',
      source: 'churn',
    });
    expect(created.status, created.text).toBe(200);
    const sourceRef = `scoring run ${scoredAt.toISOString()}, model acme-v3`;
    expect(created.body).toMatchObject({
      tenantId: 'acme-bank',
      status: 'paused',
      contacts: 2,
      dialed: 0,
      source: 'churn',
      sourceRef,
      unresolvable: 1,
      standing: { pending: 2 },
    });

    // The site's own record of the campaign: a-1 and a-2, in the list's order, and its source.
    const kept = JSON.parse(
      readFileSync(joinPath(site.dataDir, 'campaigns', 'acme-churn.campaign.json'), 'utf8'),
    );
    expect(kept.definition.contacts.map((c: { customerId: string }) => c.customerId)).toEqual([
      'a-1',
      'a-2',
    ]);
    expect(kept.definition.source).toEqual({ kind: 'churn', ref: sourceRef, unresolvable: 1 });

    // Listed with its source; no number ever comes back.
    const listed = await http('acme.client', 'GET', '/campaigns?site=beijing');
    expect(listed.body.campaigns).toMatchObject([
      { campaignId: 'acme-churn', source: 'churn', sourceRef, unresolvable: 1 },
    ]);
    expect(listed.text).not.toMatch(/7700900|13800000/);
    expect(created.text).not.toMatch(/7700900|13800000/);
  });

  it('refuses a list the site holds no number for, and an empty survey sample, with a 409; a drawn sample becomes a campaign', async () => {
    // zenith's list is z-1 only, and the site holds no CRM contacts of zenith's.
    const zenith = await http('zenith.client', 'POST', '/campaigns', {
      siteId: 'beijing',
      campaignId: 'zenith-churn',
      skill: 'sales',
      mode: 'progressive',
      source: 'churn',
    });
    expect(zenith.status).toBe(409);
    expect(zenith.body.error).toBe(
      'this site holds no number for any of the 1 customers of the churn list',
    );
    const survey = await http('acme.client', 'POST', '/campaigns', {
      siteId: 'beijing',
      campaignId: 'acme-followup',
      skill: 'sales',
      mode: 'progressive',
      source: 'survey',
    });
    expect(survey.status).toBe(409);
    expect(survey.body.error).toMatch(/survey follow-up sample of acme-bank .* is empty/);

    // Then a critical complaint of a-2 and a major one of a-9 (whom the site cannot reach), both
    // always drawn: the sample's campaign holds a-2.
    const yesterday = new Date(Date.now() - 24 * HOUR).toISOString();
    const wrapUp = (callId: string, customer: string, severity: number) => ({
      event_id: `${callId}-w`,
      tenant_id: 'acme-bank',
      site_id: 'beijing',
      call_id: callId,
      kind: 'wrap_up_done',
      customer_id: customer,
      wrap_up_recorded: 1,
      complaint_severity: severity,
      event_time: yesterday.slice(0, 19).replace('T', ' '),
      event_date: yesterday.slice(0, 10),
    });
    await ch.insert({
      table: 'call_events',
      format: 'JSONEachRow',
      values: [wrapUp('k-a2', 'a-2', 4), wrapUp('k-a9', 'a-9', 3)],
    });
    const sampled = await http('acme.client', 'POST', '/campaigns', {
      siteId: 'beijing',
      campaignId: 'acme-followup',
      skill: 'sales',
      mode: 'progressive',
      source: 'survey',
      sample: { baseRate: 0, days: 3 },
    });
    expect(sampled.status, sampled.text).toBe(200);
    expect(sampled.body).toMatchObject({
      contacts: 1,
      source: 'survey',
      unresolvable: 1,
      sourceRef: expect.stringMatching(/^wrap-ups .* base rate 0$/),
    });
    expect((await http('zenith.client', 'GET', '/campaigns?site=beijing')).body.campaigns).toEqual(
      [],
    );
  });

  it('takes a list of 50,000 contacts as a CSV and as the churn list; a bigger body is a 413, another route’s 17 KB too', async () => {
    const N = 50_000;
    // Customer ids at their longest (64 characters): the list, 4.6 MB, is more than grpc-js's
    // default 4 MiB message, which the site would refuse.
    const longId = (i: number) => `big-${String(i).padStart(60, '0')}`;
    const csv = bigList(longId, N, 10_000_000);
    expect(Buffer.byteLength(csv)).toBeGreaterThan(4 * 1024 * 1024);
    const body = {
      siteId: 'beijing',
      campaignId: 'acme-winter',
      skill: 'sales',
      mode: 'progressive',
      contactsCsv: csv,
    };
    let t = performance.now();
    const created = await http('acme.client', 'POST', '/campaigns', body);
    const uploadMs = performance.now() - t;
    expect(created.status, created.text).toBe(200);
    expect(created.body).toMatchObject({ contacts: N, dialed: 0, standing: { pending: N } });
    const progress = await http('acme.client', 'GET', '/campaigns/acme-winter?site=beijing');
    expect(progress.body).toMatchObject({
      campaignId: 'acme-winter',
      status: 'paused',
      contacts: N,
      standing: { pending: N },
    });
    const kept = JSON.parse(
      readFileSync(joinPath(site.dataDir, 'campaigns', 'acme-winter.campaign.json'), 'utf8'),
    );
    expect(kept.definition.contacts).toHaveLength(N);
    expect(kept.definition.contacts[N - 1]).toEqual({
      contactId: longId(N - 1),
      customerId: longId(N - 1),
      number: `+4479${10_000_000 + N - 1}`,
      timeZone: 'UTC',
    });

    // Over the route's 8 MiB: refused from the declared length, nothing created.
    const padded = { ...body, campaignId: 'acme-huge', contactsCsv: csv.repeat(2) };
    expect(JSON.stringify(padded).length).toBeGreaterThan(8 * 1024 * 1024);
    const huge = await http('acme.client', 'POST', '/campaigns', padded);
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe(`body over ${8 * 1024 * 1024} bytes`);
    expect((await http('acme.client', 'GET', '/campaigns/acme-huge?site=beijing')).status).toBe(
      404,
    );
    // Every other route keeps 16 KB: 17 KB to start a campaign is refused unread.
    const start = await http('acme.client', 'POST', '/campaigns/acme-winter/start', {
      siteId: 'beijing',
      pad: 'x'.repeat(17 * 1024),
    });
    expect(start.status).toBe(413);
    expect(start.body.error).toBe(`body over ${16 * 1024} bytes`);

    // The churn call-back list of 50,000 treated customers (and 500 held back), read from
    // ClickHouse and resolved at the site against a CRM export holding all of them.
    // As storeChurnRun stores a run, in rows ClickHouse's client sends as JSON: a VALUES
    // statement of 50,000 rows with expressions is more than ClickHouse parses.
    const at = scoredAt.toISOString().slice(0, 19).replace('T', ' ');
    await ch.insert({
      table: 'churn_scores',
      format: 'JSONEachRow',
      values: Array.from({ length: N + 500 }, (_, i) => ({
        scored_at: at,
        tenant_id: 'zenith-telecom',
        customer_id: `zc-${i}`,
        site_id: 'beijing',
        value: 1000,
        repeat_contacts: 1,
        complaint: 1,
        abandons: 0,
        long_waits: 0,
        low_csat: 0,
        cancellation_intent: 1,
        risk: (100_000 - i) / 1000,
        priority: 100_000 - i,
        model_version: 'zenith-v1',
        reasons: [],
        retention_group: i < N ? 'callback' : 'control',
      })),
    });
    await ch.insert({
      table: 'churn_score_runs',
      format: 'JSONEachRow',
      values: [{ scored_at: at, customers: N + 500, seconds: 1, finished_at: at }],
    });
    writeFileSync(
      joinPath(site.dataDir, 'crm-contacts', 'zenith-telecom.csv'),
      bigList((i) => `zc-${i}`, N + 500, 20_000_000),
    );
    t = performance.now();
    const churn = await http('zenith.client', 'POST', '/campaigns', {
      siteId: 'beijing',
      campaignId: 'zenith-winback',
      skill: 'sales',
      mode: 'progressive',
      source: 'churn',
      listSize: N,
    });
    const churnMs = performance.now() - t;
    expect(churn.status, churn.text).toBe(200);
    expect(churn.body).toMatchObject({
      contacts: N,
      unresolvable: 0,
      standing: { pending: N },
      source: 'churn',
    });
    const tooMany = await http('zenith.client', 'POST', '/campaigns', {
      siteId: 'beijing',
      campaignId: 'zenith-more',
      skill: 'sales',
      mode: 'progressive',
      source: 'churn',
      listSize: 100_001,
    });
    expect(tooMany.status).toBe(400);
    console.log(
      `50,000 contacts through the API and the site: CSV ${(Buffer.byteLength(csv) / 1e6).toFixed(2)} MB in ${uploadMs.toFixed(0)} ms, churn list in ${churnMs.toFixed(0)} ms`,
    );
  }, 120_000);
});
