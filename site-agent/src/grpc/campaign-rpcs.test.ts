// The campaign RPCs over the real gRPC server with mutual TLS: who may create, start and see
// which campaigns, and how a bad list or campaign is refused.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, silentLogger, type Principal } from '@ccfed/common';
import { site } from '@ccfed/proto';
import { Status } from 'nice-grpc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CampaignDesk } from '../campaign/campaign-desk.js';
import { CampaignJournal } from '../campaign/campaign-journal.js';
import { CustomerBook } from '../campaign/customer-book.js';
import type { DialRequest } from '../dialer/port.js';
import { startGrpcServer } from './server.js';
import {
  channelAs,
  clientFactory,
  failure,
  OPERATOR,
  PHONES,
  SHANGHAI,
  SITE,
  SUPERVISOR,
  testSite,
  tlsAs,
} from './test-support.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const ACME_SUPERVISOR: Principal = { kind: 'supervisor', site: 'shanghai', tenant: 'acme-bank' };
const ZENITH_SUPERVISOR: Principal = {
  kind: 'supervisor',
  site: 'shanghai',
  tenant: 'zenith-telecom',
};
const AGENT: Principal = { kind: 'agent', site: 'shanghai', agent: 'sh-001' };
// 13:00 in London.
const NOW = Date.parse('2026-12-07T13:00:00Z');

const CSV = 'customer_id,number,time_zone\nc-1,+447700900001,Europe/London\n';

async function serve(withDesk = true) {
  const dialed: DialRequest[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ccfed-rpc-campaigns-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const desk = new CampaignDesk({
    clock: new ManualClock(NOW),
    dialer: {
      dial: (r) => {
        dialed.push(r);
        return Promise.resolve({ kind: 'busy' });
      },
    },
    agents: {
      staffing: () => ({ loggedIn: 1, free: 1, busy: 0, averageHandleMs: 180_000 }),
      inboundLoad: () => ({
        queued: 0,
        offered: 0,
        answeredWithinTarget: 0,
        target: 0.8,
        minOffered: 20,
      }),
      reserve: () => 'sh-001',
      release: () => {},
      connected: () => {},
    },
    journal: new CampaignJournal(join(dir, 'campaigns')),
    serves: (_tenant, skill) => skill === 'sales',
    newId: () => `id-${dialed.length}-${Math.random()}`,
    published: () => {},
    tickEveryMs: 60_000,
  });
  desk.open();
  cleanup.push(() => desk.close());
  const s = testSite();
  const server = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    desk: s.desk,
    status: undefined as never,
    site: SITE,
    phoneNetwork: PHONES,
    tls: await tlsAs(SHANGHAI),
    log: silentLogger(),
    ...(withDesk && { campaigns: desk }),
    customerBook: new CustomerBook(join(dir, 'crm-contacts')),
  });
  cleanup.push(() => server.close());
  const as = async (principal: Principal) => {
    const channel = await channelAs(server.port, principal);
    cleanup.push(() => channel.close());
    return clientFactory.create(site.AgentControlDefinition, channel);
  };
  return { as, dialed, desk, dir };
}

const create = (over: Partial<site.CreateCampaignRequest> = {}) => ({
  campaignId: 'acme-retention',
  tenantId: 'acme-bank',
  skill: 'sales',
  mode: 'progressive',
  contactsCsv: CSV,
  dnc: [],
  ...over,
});

describe('campaign RPCs', () => {
  it('a tenant’s supervisor runs and sees only its tenant’s campaigns; the site’s supervisor all', async () => {
    const { as, dialed } = await serve();
    const [siteSup, acme, zenith] = await Promise.all([
      as(SUPERVISOR),
      as(ACME_SUPERVISOR),
      as(ZENITH_SUPERVISOR),
    ]);
    const created = await acme.createCampaign(create());
    expect(created.campaign).toMatchObject({
      campaignId: 'acme-retention',
      tenantId: 'acme-bank',
      status: 'paused',
      contacts: 1,
    });
    await siteSup.createCampaign(
      create({ campaignId: 'zenith-winback', tenantId: 'zenith-telecom' }),
    );

    expect((await zenith.listCampaigns({})).campaigns.map((c) => c.campaignId)).toEqual([
      'zenith-winback',
    ]);
    expect((await siteSup.listCampaigns({})).campaigns).toHaveLength(2);
    expect(await failure(zenith.startCampaign({ campaignId: 'acme-retention' }))).toMatchObject({
      code: Status.NOT_FOUND,
    });
    expect(await failure(zenith.createCampaign(create({ campaignId: 'x' })))).toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    expect(dialed).toHaveLength(0);

    const started = await acme.startCampaign({ campaignId: 'acme-retention' });
    expect(started.campaign).toMatchObject({ status: 'running', dialed: 1 });
    expect(dialed.map((d) => [d.tenantId, d.number])).toEqual([['acme-bank', '+447700900001']]);
    // the number never comes back
    expect(JSON.stringify(await siteSup.listCampaigns({}))).not.toContain('447700900001');
    const paused = await acme.pauseCampaign({ campaignId: 'acme-retention' });
    expect(paused.campaign).toMatchObject({ status: 'paused', outcomes: { busy: 1 } });
  });

  it('refuses a bad list, a bad campaign, a taken id, agents and operators, each with its reason', async () => {
    const { as } = await serve();
    const sup = await as(SUPERVISOR);
    const bad = await failure(
      sup.createCampaign(create({ contactsCsv: `${CSV}c-2,0770 0900,Europe/London\n` })),
    );
    expect(bad).toMatchObject({ code: Status.INVALID_ARGUMENT });
    expect(bad.details).toMatch(/line 3: number is not E\.164/);
    expect(await failure(sup.createCampaign(create({ skill: 'support' })))).toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringMatching(/no acme-bank seats with skill support/),
    });
    expect(await failure(sup.createCampaign(create({ mode: 'blast' })))).toMatchObject({
      code: Status.INVALID_ARGUMENT,
    });
    expect(
      await failure(sup.createCampaign(create({ windowStartMinute: 1300, windowEndMinute: 600 }))),
    ).toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/window/) });
    await sup.createCampaign(create());
    expect(await failure(sup.createCampaign(create()))).toMatchObject({
      code: Status.ALREADY_EXISTS,
    });
    for (const p of [AGENT, OPERATOR]) {
      const c = await as(p);
      expect(await failure(c.listCampaigns({}))).toMatchObject({
        code: Status.PERMISSION_DENIED,
      });
    }
  });

  it('a churn list of customer ids is resolved from the tenant’s own CRM contacts; those with no number are counted, never dialed', async () => {
    const { as, dialed, dir } = await serve();
    mkdirSync(join(dir, 'crm-contacts'));
    writeFileSync(
      join(dir, 'crm-contacts', 'acme-bank.csv'),
      'customer_id,number,time_zone\nc-1,+447700900001,Europe/London\nc-2,+447700900002,Europe/London\n',
    );
    // zenith's own c-3: not acme's, however the ids are written
    writeFileSync(
      join(dir, 'crm-contacts', 'zenith-telecom.csv'),
      'customer_id,number,time_zone\nc-3,+447700900003,Europe/London\n',
    );
    const [acme, zenith] = await Promise.all([as(ACME_SUPERVISOR), as(ZENITH_SUPERVISOR)]);
    const churn = (over: Partial<site.CreateCampaignRequest> = {}) =>
      create({
        contactsCsv: '',
        source: 'churn',
        customerIds: ['c-2', 'c-3', 'c-1'],
        sourceRef: 'run 2026-12-07T02:00:00Z model acme-v3',
        ...over,
      });
    const created = await acme.createCampaign(churn());
    expect(created.campaign).toMatchObject({
      contacts: 2,
      source: 'churn',
      sourceRef: 'run 2026-12-07T02:00:00Z model acme-v3',
      unresolvable: 1,
    });
    await acme.startCampaign({ campaignId: 'acme-retention' });
    // in the list's order; zenith's c-3 is not acme's customer
    expect(dialed.map((d) => d.number)).toEqual(['+447700900002', '+447700900001']);
    expect(JSON.stringify(await acme.listCampaigns({}))).not.toMatch(/4477009000/);

    expect(
      await failure(
        zenith.createCampaign(churn({ tenantId: 'zenith-telecom', customerIds: ['c-1'] })),
      ),
    ).toMatchObject({
      code: Status.FAILED_PRECONDITION,
      details: 'this site holds no number for any of the 1 customers of the churn list',
    });
    const refusals: [Partial<site.CreateCampaignRequest>, RegExp][] = [
      [{ source: 'crm' }, /source: csv, churn or survey/],
      [{ customerIds: [] }, /the churn list is empty/],
      [{ customerIds: ['c-1', 'c-1'] }, /c-1 is on the list twice/],
      [{ contactsCsv: CSV }, /a churn list is customer ids/],
      [{ source: 'csv', contactsCsv: CSV }, /a CSV list names none/],
    ];
    for (const [over, message] of refusals)
      expect(await failure(acme.createCampaign(churn({ campaignId: 'x', ...over })))).toMatchObject(
        { code: Status.INVALID_ARGUMENT, details: expect.stringMatching(message) },
      );
  });

  it('a site without a dialer runs no campaigns', async () => {
    const { as } = await serve(false);
    const sup = await as(SUPERVISOR);
    expect(await failure(sup.listCampaigns({}))).toMatchObject({ code: Status.UNAVAILABLE });
  });
});

describe('preview RPCs', () => {
  const PREVIEW_CSV =
    'customer_id,number,time_zone\nc-1,+447700900001,Europe/London\nc-2,+447700900002,Europe/London\n';
  const OTHER_AGENT: Principal = { kind: 'agent', site: 'shanghai', agent: 'sh-002' };

  it('only the agent a preview is for sees and decides it; bad, unknown and stale decisions are refused', async () => {
    const { as, dialed } = await serve();
    const [sup, agent, other] = await Promise.all([as(SUPERVISOR), as(AGENT), as(OTHER_AGENT)]);
    await sup.createCampaign(
      create({ mode: 'preview', contactsCsv: PREVIEW_CSV, previewTimeoutMs: 20_000 }),
    );
    await sup.startCampaign({ campaignId: 'acme-retention' });

    const { preview } = await agent.getPreview({ agentId: 'sh-001' });
    expect(preview).toMatchObject({
      campaignId: 'acme-retention',
      tenantId: 'acme-bank',
      skill: 'sales',
      contactId: 'c-1',
      customerId: 'c-1',
      offeredAt: new Date(NOW),
      expiresAt: new Date(NOW + 20_000),
    });
    expect(JSON.stringify(preview)).not.toContain('+44');
    expect(dialed).toHaveLength(0);
    const offerId = preview!.offerId;

    // Nobody else sees or decides it: another agent, a supervisor.
    expect(await failure(other.getPreview({ agentId: 'sh-001' }))).toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    expect(await failure(sup.getPreview({ agentId: 'sh-001' }))).toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    expect((await other.getPreview({ agentId: 'sh-002' })).preview).toBeUndefined();
    const decide = (over: Partial<site.DecidePreviewRequest>) => ({
      agentId: 'sh-001',
      offerId,
      decision: 'skip',
      skipReason: 'not_now',
      ...over,
    });
    expect(await failure(other.decidePreview(decide({ agentId: 'sh-002' })))).toMatchObject({
      code: Status.PERMISSION_DENIED,
      details: expect.stringContaining("another agent's"),
    });
    expect(await failure(agent.decidePreview(decide({ decision: 'maybe' })))).toMatchObject({
      code: Status.INVALID_ARGUMENT,
    });
    expect(await failure(agent.decidePreview(decide({ skipReason: 'bored' })))).toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringContaining('not_now'),
    });
    expect(await failure(agent.decidePreview(decide({ offerId: 'no-such-offer' })))).toMatchObject({
      code: Status.NOT_FOUND,
    });

    // Skipped once; a second decision on it is stale.
    expect((await agent.decidePreview(decide({}))).preview?.contactId).toBe('c-1');
    expect(
      await failure(agent.decidePreview(decide({ decision: 'dial', skipReason: '' }))),
    ).toMatchObject({ code: Status.FAILED_PRECONDITION });

    // The freed agent is offered the next contact, and dials it: agent first, its call id.
    const next = (await agent.getPreview({ agentId: 'sh-001' })).preview!;
    expect(next.contactId).toBe('c-2');
    await agent.decidePreview(decide({ offerId: next.offerId, decision: 'dial', skipReason: '' }));
    await vi.waitFor(() => expect(dialed).toHaveLength(1));
    expect(dialed[0]).toMatchObject({
      callId: next.callId,
      agentId: 'sh-001',
      number: '+447700900002',
      order: 'agent_first',
    });
    const [progress] = (await sup.listCampaigns({})).campaigns;
    expect(progress).toMatchObject({
      mode: 'preview',
      previewsOffered: 2,
      previewsSkipped: 1,
      previewsReleased: 0,
      dialed: 1,
    });
  });

  it('a preview timeout outside 5-300 s, or on another mode, is refused', async () => {
    const { as } = await serve();
    const sup = await as(SUPERVISOR);
    for (const over of [
      { mode: 'preview', previewTimeoutMs: 4_000 },
      { mode: 'progressive', previewTimeoutMs: 30_000 },
    ])
      expect(await failure(sup.createCampaign(create(over)))).toMatchObject({
        code: Status.INVALID_ARGUMENT,
        details: expect.stringContaining('previewTimeoutMs'),
      });
  });
});
