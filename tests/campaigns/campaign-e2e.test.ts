// A small progressive campaign through a real site (issue 19): the site's Kamailio and its
// outbound trunk, rtpengine anchoring both legs, the SIP dialer, a baresip agent who answers, and
// sipp customers behind the trunk who are busy the first time and answer after. The campaign's
// rules keep it from a customer for whom it is night, a number on the do-not-call list and a
// number that had an abandoned call 71 h ago; the busy customer is tried again once their retry
// delay is over (the campaign's clock is moved on 15 minutes, as the site's would be). Then the
// same through the product's own path: a campaign a tenant client creates and starts through the
// HTTP API process (which asks the site over mutual TLS on its behalf) is run by the site agent's
// desk, ACD and dialer, and its attempt lands in ClickHouse through the ingester. Last, a preview
// campaign: the agent, through the desktop's API, sees a contact and skips it, sees the next and
// dials it (connected), and lets the third lapse (released, the agent not ready). Last, a
// predictive campaign over-dials its one idle agent through the same Kamailio to sipp customers
// who all answer: the first is bridged to the agent by re-INVITE, the others hear the recorded
// message 2 s after their answer (the RTP rtpengine sends them, matched against the message
// file) and count as abandoned.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '@ccfed/common';
import {
  campaignCustomers,
  freePort,
  NgClient,
  parseSippLog,
  readSippLog,
  udpPortFree,
  type LoggedSippRun,
} from '@ccfed/services';
import { Acd } from '@ccfed/site-agent/acd/acd';
import { acdSetup } from '@ccfed/site-agent/acd/from-topology';
import { AcdCampaignAgents } from '@ccfed/site-agent/campaign/acd-agents';
import {
  AbandonedCalls,
  CampaignRun,
  type CampaignAttemptRecord,
} from '@ccfed/site-agent/campaign/campaign-run';
import { DEFAULT_RULES, inWindow } from '@ccfed/site-agent/campaign/rules';
import { DialerMessages } from '@ccfed/site-agent/dialer/dialer-message';
import { Pacer } from '@ccfed/site-agent/dialer/pacing';
import type { DialRequest, Dialer } from '@ccfed/site-agent/dialer/port';
import { SipDialer } from '@ccfed/site-agent/dialer/sip-dialer';
import type { ClickHouseClient } from '@clickhouse/client';
import { AgentState } from '@ccfed/proto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { dominantFrequency, durationS, findPrompt, renderTone } from '../support/audio.js';
import { startBaresip, type BaresipPhone } from '../support/baresip.js';
import { freshDatabase, groupBy, rows, uniqueName, waitFor } from '../support/engines.js';
import { startApiProcess, type ApiProcess } from '../support/api-process.js';
import { startIngester } from '../support/ingester.js';
import type { ServiceProcess } from '../support/processes.js';
import { RtpSink } from '../support/rtp-sink.js';
import { startSite, testSipSecret, type RunningSite } from '../support/running-site.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** A zone of each hour's offset: whatever the time of the run, some are in the day, some at night. */
const ZONES = [
  'Pacific/Pago_Pago',
  'Pacific/Honolulu',
  'America/Anchorage',
  'America/Los_Angeles',
  'America/Denver',
  'America/Chicago',
  'America/New_York',
  'America/Sao_Paulo',
  'Atlantic/South_Georgia',
  'Atlantic/Cape_Verde',
  'UTC',
  'Europe/Paris',
  'Europe/Athens',
  'Europe/Moscow',
  'Asia/Dubai',
  'Asia/Karachi',
  'Asia/Dhaka',
  'Asia/Bangkok',
  'Asia/Shanghai',
  'Asia/Tokyo',
  'Australia/Brisbane',
  'Pacific/Noumea',
  'Pacific/Tongatapu',
  'Pacific/Kiritimati',
];

/** A zone where it is local day (09:00-19:00) or night (22:00-06:00) now and for the next hour. */
function zoneWhere(kind: 'day' | 'night', nowMs: number): string {
  const window =
    kind === 'day'
      ? { startMinute: 9 * 60, endMinute: 19 * 60 }
      : { startMinute: 6 * 60, endMinute: 22 * 60 };
  const zone = ZONES.find((z) =>
    [nowMs, nowMs + HOUR].every((t) => inWindow(t, window, z) === (kind === 'day')),
  );
  if (!zone) throw new Error(`no zone in ${kind} at ${new Date(nowMs).toISOString()}`);
  return zone;
}

describe('an outbound campaign through the site’s Kamailio', () => {
  const dir = join(inject('runDir'), uniqueName('campaign'));
  let site: RunningSite;
  let agentPhone: BaresipPhone;
  let customers: LoggedSippRun;
  let customersPort: number;
  let ng: NgClient;
  let dialer: SipDialer;
  let ingester: ServiceProcess;
  let ch: ClickHouseClient;
  let api: ApiProcess;

  /** The HTTP API as `user`: status and JSON body. */
  const http = async (user: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${api.tokens.get(user)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    customersPort = await freePort();
    customers = campaignCustomers({
      port: customersPort,
      busyCalls: 1,
      ringMs: 300,
      talkMs: 1_500,
      logFile: join(dir, 'customers.log'),
    });
    agentPhone = await startBaresip({
      dir: join(dir, 'agent'),
      user: 'bj-001',
      microphone: await renderTone(join(dir, 'agent-1000.wav'), 1000, 60),
      autoAnswer: true,
    });
    site = await startSite({
      mutate: (doc) => {
        const beijing = doc.sites.find((s: { id: string }) => s.id === 'beijing');
        beijing.sip.trunk = `sip:127.0.0.1:${customersPort}`;
      },
    });
    const fresh = await freshDatabase();
    ch = fresh.client;
    [ingester, api] = await Promise.all([
      startIngester({
        prefix: site.prefix,
        database: fresh.database,
        group: `ccfed-ingester-${uniqueName('campaign')}`,
      }),
      startApiProcess({
        dir,
        database: fresh.database,
        topologyFile: site.topologyFile,
        users: [
          { username: 'acme.client', role: 'tenant', tenantId: 'acme-bank' },
          { username: 'zenith.client', role: 'tenant', tenantId: 'zenith-telecom' },
          { username: 'li.wei', role: 'agent', siteId: 'beijing', agentId: 'bj-001' },
          { username: 'liu.yang', role: 'agent', siteId: 'beijing', agentId: 'bj-004' },
        ],
        password: 'campaign-test-password-1',
      }),
    ]);
    ng = await NgClient.open({ host: '127.0.0.1', port: site.site.media.ngPort });
    dialer = await SipDialer.start({
      site: site.site,
      sipSecret: testSipSecret(site.siteId),
      agentUri: (id) => (id === 'bj-001' ? agentPhone.uri : undefined),
      messageFile: (tenant) =>
        new DialerMessages(site.topology, join(dir, 'messages')).fileOf(tenant),
      media: ng,
      clock: systemClock,
      log: pino({ level: 'info' }, pino.destination(join(dir, 'dialer.log'))),
    });
  });

  afterAll(async () => {
    await dialer?.stop();
    await ng?.close();
    await Promise.allSettled([
      agentPhone?.stop(),
      customers?.stop(),
      ingester?.stop(),
      api?.stop(),
    ]);
    await site?.stop();
  });

  it('skips the night, the do-not-call number and the 72 h number; retries the busy customer after the delay; connects the one who answers', async () => {
    // The campaign's clock: the wall clock, moved on when the test skips a retry delay.
    let skewMs = 0;
    const clock: Clock = { now: () => Date.now() + skewMs };
    const acd = new Acd({ clock, ...acdSetup(site.topology, site.site) });
    acd.login('bj-001');
    acd.ready('bj-001');
    const agents = new AcdCampaignAgents({
      acd,
      now: () => clock.now(),
      effects: () => {},
      serviceLevel: () => ({ offered: 0, answeredWithinTarget: 0, target: 0.8 }),
      minOffered: 20,
    });
    const dialed: DialRequest[] = [];
    const recordingDialer: Dialer = {
      dial: (request, signal) => {
        dialed.push(request);
        return dialer.dial(request, signal);
      },
    };
    const abandoned = new AbandonedCalls();
    abandoned.note('+447700900003', clock.now() - 71 * HOUR);
    const records: CampaignAttemptRecord[] = [];
    let n = 0;
    const day = zoneWhere('day', clock.now());
    const night = zoneWhere('night', clock.now());
    const run = new CampaignRun(
      {
        campaignId: 'retention-e2e',
        tenantId: 'acme-bank',
        skill: 'sales',
        mode: 'progressive',
        rules: { ...DEFAULT_RULES, dnc: new Set(['+447700900002']) },
        ringTimeoutMs: 5_000,
        contacts: [
          { contactId: 'night', number: '+447700900001', timeZone: night },
          { contactId: 'dnc', number: '+447700900002', timeZone: day },
          { contactId: 'abandoned-71h', number: '+447700900003', timeZone: day },
          { contactId: 'busy', number: '+447700900004', timeZone: day },
          { contactId: 'answers', number: '+447700900005', timeZone: day },
        ],
      },
      {
        clock,
        dialer: recordingDialer,
        agents,
        newId: () => `campaign-e2e-${++n}`,
        recorded: (r) => records.push(r),
        abandoned,
      },
    );
    run.start();

    const agentCallsClosed = () => agentPhone.events.filter((e) => e.type === 'CALL_CLOSED').length;
    /**
     * One tick's attempt through Kamailio, agent first: the agent's leg closes when the customer
     * is busy, or when the connected customer has talked and hung up.
     */
    const dialOne = async () => {
      const closedBefore = agentCallsClosed();
      expect(run.tick()).toBe(1);
      await run.settled();
      const last = records.at(-1)!;
      await waitFor(
        'the agent’s leg closed',
        async () => (agentCallsClosed() > closedBefore ? true : undefined),
        10_000,
      );
      // What the site's call flow does when either side of an answered call hangs up.
      if (last.outcome === 'connected') acd.hangUp(last.callId);
      return last;
    };

    expect(await dialOne()).toMatchObject({ contactId: 'busy', outcome: 'busy', attempt: 1 });
    expect(run.contactState('busy')).toMatchObject({ kind: 'later', reason: 'retry_delay' });
    expect(await dialOne()).toMatchObject({ contactId: 'answers', outcome: 'connected' });
    // The agent is in wrap-up and the busy customer's 15 minutes are not over.
    expect(run.tick()).toBe(0);

    skewMs += 15 * MINUTE;
    acd.tick(); // the wrap-up is over
    expect(await dialOne()).toMatchObject({ contactId: 'busy', outcome: 'connected', attempt: 2 });
    expect(run.tick()).toBe(0);

    expect(dialed.map((r) => [r.number, r.agentId, r.order])).toEqual([
      ['+447700900004', 'bj-001', 'agent_first'],
      ['+447700900005', 'bj-001', 'agent_first'],
      ['+447700900004', 'bj-001', 'agent_first'],
    ]);
    expect(run.contactState('night')).toMatchObject({ kind: 'later', reason: 'window' });
    const nightState = run.contactState('night');
    expect(
      nightState?.kind === 'later' && inWindow(nightState.notBeforeMs, DEFAULT_RULES.window, night),
    ).toBe(true);
    expect(run.contactState('dnc')).toEqual({ kind: 'done', reason: 'dnc' });
    expect(run.contactState('abandoned-71h')).toMatchObject({
      kind: 'later',
      reason: 'abandoned_72h',
    });
    expect(run.contactState('answers')).toEqual({ kind: 'done', reason: 'completed' });
    expect(run.contactState('busy')).toEqual({ kind: 'done', reason: 'completed' });
    expect(run.progress()).toMatchObject({
      dialed: 3,
      connected: 2,
      abandoned: 0,
      abandonRate24h: 0,
    });

    // The customers' side: the calls came through the trunk to the numbers dialed, in order.
    const calls = parseSippLog(readSippLog(customers)).filter((l) => l.role === 'customer');
    const toNumber = (to: string | undefined) => /sip:(\+\d+)@/.exec(to ?? '')?.[1];
    expect(
      calls
        .filter((l) => ['busy', 'answered', 'hungup'].includes(l.event))
        .map((l) => [l.event, toNumber(l.fields.to)]),
    ).toEqual([
      ['busy', '+447700900004'],
      ['answered', '+447700900005'],
      ['hungup', '+447700900005'],
      ['answered', '+447700900004'],
      ['hungup', '+447700900004'],
    ]);
  });
  it('a campaign a tenant creates and starts through the HTTP API is dialed by the site agent’s own desk and dialer', async () => {
    const since = Date.now();
    await site.control.login({ agentId: 'bj-001', contactUri: agentPhone.uri });
    await site.control.setReady({ agentId: 'bj-001' });
    const day = zoneWhere('day', Date.now());
    const night = zoneWhere('night', Date.now());
    const csv = [
      'customer_id,number,time_zone',
      `night-1,+447700900011,${night}`,
      `dnc-1,+447700900012,${day}`,
      `day-1,+447700900013,${day}`,
    ].join('\n');
    // A tenant client creates its campaign through the HTTP API; the API asks the site for it.
    const created = await http('acme.client', 'POST', '/campaigns', {
      siteId: 'beijing',
      campaignId: 'site-retention',
      skill: 'sales',
      mode: 'progressive',
      contactsCsv: csv,
      dnc: ['+447700900012'],
      ringTimeoutSeconds: 5,
    });
    expect(created).toMatchObject({
      status: 200,
      body: { tenantId: 'acme-bank', status: 'paused', contacts: 3, dialed: 0 },
    });
    // another tenant neither sees nor starts it; a bad list is refused with its line
    expect((await http('zenith.client', 'GET', '/campaigns?site=beijing')).body).toEqual({
      campaigns: [],
      unreachable: [],
    });
    expect(
      (
        await http('zenith.client', 'POST', '/campaigns/site-retention/start', {
          siteId: 'beijing',
        })
      ).status,
    ).toBe(404);
    const bad = await http('acme.client', 'POST', '/campaigns', {
      siteId: 'beijing',
      campaignId: 'bad-list',
      skill: 'sales',
      mode: 'progressive',
      contactsCsv: `${csv}\nx-1,0770 0900,${day}`,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/line 5: number is not E\.164/);

    expect(
      (await http('acme.client', 'POST', '/campaigns/site-retention/start', { siteId: 'beijing' }))
        .body,
    ).toMatchObject({ status: 'running' });
    const done = await waitFor(
      'the day-time customer connected',
      async () => {
        const r = await http('acme.client', 'GET', '/campaigns/site-retention?site=beijing');
        return r.body.connected === 1 ? r.body : undefined;
      },
      20_000,
    );
    expect(done).toMatchObject({
      status: 'running',
      dialed: 1,
      connected: 1,
      abandoned: 0,
      outcomes: { connected: 1 },
      standing: { 'later:window': 1, 'done:dnc': 1, 'done:completed': 1 },
    });
    await agentPhone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });
    const answered = parseSippLog(readSippLog(customers)).filter(
      (l) => l.role === 'customer' && l.event === 'answered' && l.at >= since - 1_000,
    );
    expect(answered.map((l) => /sip:(\+\d+)@/.exec(l.fields.to ?? '')?.[1])).toEqual([
      '+447700900013',
    ]);
    expect(
      (await http('acme.client', 'POST', '/campaigns/site-retention/pause', { siteId: 'beijing' }))
        .body,
    ).toMatchObject({ status: 'paused' });

    // The attempt in ClickHouse, the campaign's row beside the dialer's, by contact id only.
    const attempts = await waitFor('the attempt in campaign_attempts', async () => {
      const r = await rows<Record<string, string>>(
        ch,
        `SELECT campaign_id, contact_id, agent_id, attempt, outcome, mode, call_id FROM campaign_attempts WHERE campaign_id = 'site-retention'`,
      );
      return r.length > 0 ? r : undefined;
    });
    expect(attempts).toEqual([
      {
        campaign_id: 'site-retention',
        contact_id: 'day-1',
        agent_id: 'bj-001',
        attempt: 1,
        outcome: 'connected',
        mode: 'progressive',
        call_id: expect.any(String),
      },
    ]);
    const dialerRow = await waitFor('the same attempt in dial_attempts', async () => {
      const r = await rows<{ outcome: string }>(
        ch,
        `SELECT outcome FROM dial_attempts WHERE call_id = '${attempts[0]!.call_id}'`,
      );
      return r.length > 0 ? r : undefined;
    });
    expect(dialerRow).toEqual([{ outcome: 'connected' }]);
    const [leak] = await rows<{ n: string }>(
      ch,
      `SELECT count() AS n FROM call_events WHERE position(payload, '4477009000') > 0`,
    );
    expect(Number(leak!.n)).toBe(0);
  });

  it('a preview campaign offers its contact to the agent’s desktop: one skipped, one dialed and connected, one left undecided and released', async () => {
    const since = Date.now();
    const agentState = async () =>
      (await site.control.listAgents({})).agents.find((a) => a.agentId === 'bj-001')!;
    // bj-001 ready (after the last test's wrap-up, or logged in when this test runs alone).
    await waitFor('bj-001 ready', async () => {
      const a = await agentState();
      if (a.state === AgentState.AGENT_STATE_LOGGED_OUT)
        await site.control.login({ agentId: 'bj-001', contactUri: agentPhone.uri });
      if (a.state === AgentState.AGENT_STATE_NOT_READY)
        await site.control.setReady({ agentId: 'bj-001' });
      return a.state === AgentState.AGENT_STATE_READY ? true : undefined;
    });
    const day = zoneWhere('day', Date.now());
    const csv = [
      'customer_id,number,time_zone',
      `cust-p1,+447700900021,${day}`,
      `cust-p2,+447700900022,${day}`,
      `cust-p3,+447700900023,${day}`,
    ].join('\n');
    expect(
      await http('acme.client', 'POST', '/campaigns', {
        siteId: 'beijing',
        campaignId: 'site-preview',
        skill: 'sales',
        mode: 'preview',
        contactsCsv: csv,
        ringTimeoutSeconds: 5,
        previewTimeoutSeconds: 5,
      }),
    ).toMatchObject({ status: 200, body: { mode: 'preview', status: 'paused' } });
    await http('acme.client', 'POST', '/campaigns/site-preview/start', { siteId: 'beijing' });

    /** The agent's desktop polling its preview until it shows `customerId`. */
    const previewOf = (customerId: string) =>
      waitFor(`the preview of ${customerId} on bj-001's desktop`, async () => {
        const r = await http('li.wei', 'GET', '/desktop/preview');
        expect(r.status).toBe(200);
        return r.body.preview?.customerId === customerId ? r.body.preview : undefined;
      });
    const first = await previewOf('cust-p1');
    expect(first).toMatchObject({
      siteId: 'beijing',
      campaignId: 'site-preview',
      skill: 'sales',
      story: { customerId: 'cust-p1' },
    });
    expect(JSON.stringify(first)).not.toContain('4477009000');
    expect((await agentState()).state).toBe(AgentState.AGENT_STATE_RESERVED);

    // Another agent, a wrong id, a bad reason: refused, and the offer stays.
    const skip = (user: string, offerId: string, reason = 'not_now') =>
      http(user, 'POST', `/desktop/previews/${offerId}/skip`, { reason });
    expect(await skip('liu.yang', first.offerId)).toMatchObject({ status: 403 });
    expect(await skip('li.wei', 'no-such-offer')).toMatchObject({ status: 404 });
    expect((await skip('li.wei', first.offerId, 'bored')).status).toBe(400);
    expect(await skip('li.wei', first.offerId)).toMatchObject({
      status: 200,
      body: { preview: { customerId: 'cust-p1' } },
    });
    expect(await skip('li.wei', first.offerId)).toMatchObject({ status: 409 });

    // The next contact is offered; the agent dials it, agent first, and the customer answers.
    const second = await previewOf('cust-p2');
    expect((await http('li.wei', 'POST', `/desktop/previews/${second.offerId}/dial`)).status).toBe(
      200,
    );
    await waitFor(
      'the dialed preview connected',
      async () => {
        const r = await http('acme.client', 'GET', '/campaigns/site-preview?site=beijing');
        return r.body.connected === 1 ? true : undefined;
      },
      20_000,
    );
    await agentPhone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });

    // After the wrap-up the third contact is offered; undecided, it lapses after 5 s.
    const third = await previewOf('cust-p3');
    const lapsed = await waitFor(
      'the third preview released',
      async () => {
        const r = await http('acme.client', 'GET', '/campaigns/site-preview?site=beijing');
        return r.body.previews?.released === 1 ? r.body : undefined;
      },
      15_000,
    );
    const heldMs = Date.now() - Date.parse(third.offeredAt);
    expect(lapsed).toMatchObject({
      dialed: 1,
      connected: 1,
      previews: { offered: 3, skipped: 1, released: 1 },
      standing: { 'later:preview_skipped': 1, 'done:completed': 1, pending: 1 },
    });
    // The absent agent is freed not ready, so the released contact waits for another agent.
    expect(await agentState()).toMatchObject({
      state: AgentState.AGENT_STATE_NOT_READY,
      reasonCode: 'rona',
    });
    expect((await http('li.wei', 'GET', '/desktop/preview')).body).toEqual({ preview: null });
    expect((await http('li.wei', 'POST', `/desktop/previews/${third.offerId}/dial`)).status).toBe(
      409,
    );
    await http('acme.client', 'POST', '/campaigns/site-preview/pause', { siteId: 'beijing' });

    // Only the dialed customer was called.
    const answered = parseSippLog(readSippLog(customers)).filter(
      (l) => l.role === 'customer' && ['answered', 'busy'].includes(l.event) && l.at >= since,
    );
    expect(answered.map((l) => [l.event, /sip:(\+\d+)@/.exec(l.fields.to ?? '')?.[1]])).toEqual([
      ['answered', '+447700900022'],
    ]);

    // In ClickHouse: the skip with its reason and the release, beside the one attempt.
    const previews = await waitFor('the skip and the release in campaign_previews', async () => {
      const r = await rows<Record<string, string>>(
        ch,
        `SELECT contact_id, agent_id, outcome, skip_reason FROM campaign_previews FINAL WHERE campaign_id = 'site-preview' ORDER BY event_time, outcome`,
      );
      return r.length === 2 ? r : undefined;
    });
    expect(previews).toEqual([
      { contact_id: 'cust-p1', agent_id: 'bj-001', outcome: 'skipped', skip_reason: 'not_now' },
      { contact_id: 'cust-p3', agent_id: 'bj-001', outcome: 'released', skip_reason: '' },
    ]);
    const attempts = await waitFor('the dialed preview in campaign_attempts', async () => {
      const r = await rows<Record<string, string>>(
        ch,
        `SELECT contact_id, attempt, outcome, mode FROM campaign_attempts FINAL WHERE campaign_id = 'site-preview' AND outcome NOT IN ('skipped', 'released')`,
      );
      return r.length > 0 ? r : undefined;
    });
    expect(attempts).toEqual([
      { contact_id: 'cust-p2', attempt: 1, outcome: 'connected', mode: 'preview' },
    ]);
    console.log(`preview released ${heldMs} ms after it was offered (timeout 5000 ms)`);
  });

  it('a predictive campaign dials more lines than its idle agents to real customers: the first to answer is bridged to the agent, the others hear the recorded message and count as abandoned', async () => {
    // The trunk's customers again, for this test alone: none busy, their SDP naming a port of the
    // test's where what rtpengine sends them arrives, and on the line long enough to hear the
    // whole message (their talk time runs from their last answer).
    const message = await new DialerMessages(site.topology, join(dir, 'messages')).fileOf(
      'acme-bank',
    );
    const messageMs = Math.round((await durationS(message)) * 1000);
    const heard = await RtpSink.open();
    onTestFinished(() => heard.close());
    await customers.stop();
    customers = campaignCustomers({
      port: customersPort,
      busyCalls: 0,
      ringMs: 300,
      talkMs: messageMs + 4_000,
      rtpPort: heard.port,
      logFile: join(dir, 'customers-predictive.log'),
    });
    await waitFor('the customers listening', async () =>
      (await udpPortFree(customersPort)) ? undefined : true,
    );

    const acd = new Acd({ clock: systemClock, ...acdSetup(site.topology, site.site) });
    acd.login('bj-001');
    acd.ready('bj-001');
    const agents = new AcdCampaignAgents({
      acd,
      now: () => systemClock.now(),
      effects: () => {},
      serviceLevel: () => ({ offered: 0, answeredWithinTarget: 0, target: 0.8 }),
      minOffered: 20,
    });
    // The campaign's last hour: 2000 lines, a person answering one in ten, none abandoned.
    const pacer = new Pacer({ clock: systemClock });
    for (let i = 0; i < 2_000; i++) pacer.record(i % 10 === 0 ? 'connected' : 'no_answer');
    const day = zoneWhere('day', Date.now());
    const numbers = ['+447700900031', '+447700900032', '+447700900033', '+447700900034'];
    const records: CampaignAttemptRecord[] = [];
    let n = 0;
    const run = new CampaignRun(
      {
        campaignId: 'predictive-e2e',
        tenantId: 'acme-bank',
        skill: 'sales',
        mode: 'predictive',
        rules: { ...DEFAULT_RULES, dnc: new Set<string>() },
        ringTimeoutMs: 5_000,
        contacts: numbers.map((number, i) => ({
          contactId: `p${i + 1}`,
          number,
          timeZone: day,
        })),
      },
      {
        clock: systemClock,
        dialer,
        agents,
        newId: () => `predictive-e2e-${++n}`,
        recorded: (r) => records.push(r),
        abandoned: new AbandonedCalls(),
        pacer,
      },
    );
    run.start();
    const since = Date.now();

    // One idle agent, three lines: P(Binomial(3, 0.103) > 1) = 3.0 % is within the Pacer's 5 %
    // tail, four lines' 5.5 % is not.
    expect(agents.staffing('sales', 'acme-bank')).toMatchObject({ loggedIn: 1, free: 1 });
    expect(run.tick()).toBe(3);
    // nobody is held for the lines while the customers ring
    expect(acd.agentState('bj-001')).toEqual({ name: 'ready' });

    // The first customer to answer takes bj-001 and is bridged; the agent hangs up after 2 s.
    const connected = await waitFor(
      'a customer bridged to bj-001',
      async () => records.find((r) => r.outcome === 'connected'),
      10_000,
    );
    expect(connected).toMatchObject({ agentId: 'bj-001' });
    expect(acd.agentState('bj-001')).toEqual({ name: 'on_call', callId: connected.callId });
    await new Promise((r) => setTimeout(r, 2_000));
    await agentPhone.hangup();
    acd.hangUp(connected.callId);
    await run.settled();

    expect(records.map((r) => [r.outcome, r.agentId]).sort()).toEqual([
      ['abandoned', ''],
      ['abandoned', ''],
      ['connected', 'bj-001'],
    ]);
    expect(run.progress()).toMatchObject({ dialed: 3, connected: 1, abandoned: 2 });
    // 2 abandoned of the 203 people who answered in 24 h (no machine verdicts: no AMD estimate)
    expect(run.progress().abandonRate24h).toBeCloseTo(2 / 203, 9);
    for (const r of records.filter((a) => a.outcome === 'abandoned'))
      expect(run.contactState(r.contactId)).toMatchObject({
        kind: 'later',
        reason: 'abandoned_72h',
      });

    // The customers' side: three calls through the trunk, each answered; one re-INVITEd (bridged)
    // and hung up by the agent, two hung up by the dialer after the message.
    // (the dialer's outcome comes as it sends its BYE: sipp logs the BYE when it arrives)
    const calls = await waitFor('the three calls over at the customers', async () => {
      const byCall = [
        ...groupBy(
          parseSippLog(readSippLog(customers)).filter(
            (l) => l.role === 'customer' && l.at >= since,
          ),
          (l) => l.callId,
        ).values(),
      ];
      const over = byCall.filter((c) => c.some((l) => l.event === 'far-end-hungup'));
      return over.length === 3 ? byCall : undefined;
    });
    expect(calls).toHaveLength(3);
    const eventsOf = (lines: (typeof calls)[number]) => lines.map((l) => l.event);
    const bridged = calls.filter((c) => eventsOf(c).includes('reanswered'));
    const abandoned = calls.filter((c) => !eventsOf(c).includes('reanswered'));
    expect(bridged.map(eventsOf)).toEqual([['answered', 'reanswered', 'far-end-hungup']]);
    expect(abandoned.map(eventsOf)).toEqual([
      ['answered', 'far-end-hungup'],
      ['answered', 'far-end-hungup'],
    ]);
    expect(calls.map((c) => /sip:(\+\d+)@/.exec(c[0]!.fields.to ?? '')?.[1]).sort()).toEqual(
      numbers.slice(0, 3),
    );

    // What the abandoned customers heard: nothing for 2 s after answering, then the whole message.
    const measured: string[] = [];
    for (const [i, call] of abandoned.entries()) {
      const answered = call[0]!;
      const packets = heard.from(answered.fields.media!);
      expect(packets.length).toBeGreaterThan(0);
      const silentMs = packets[0]!.atMs - answered.at;
      expect(silentMs).toBeGreaterThan(1_700);
      expect(silentMs).toBeLessThan(2_800);
      const file = RtpSink.writeUlaw(packets, join(dir, `abandoned-${i}.ul`));
      const heardMs = Math.round((await durationS(file)) * 1000);
      expect(Math.abs(heardMs - messageMs)).toBeLessThan(600);
      const { correlation } = await findPrompt(file, message);
      expect(correlation).toBeGreaterThan(0.8);
      measured.push(
        `silent ${silentMs} ms, then ${heardMs} ms matching the message at ${correlation.toFixed(3)}`,
      );
    }
    // What the bridged customer heard from its re-INVITE on: the agent's 1000 Hz tone.
    const [reanswered] = bridged[0]!.filter((l) => l.event === 'reanswered');
    const toBridged = heard.from(reanswered!.fields.media!, reanswered!.at);
    expect(toBridged.length).toBeGreaterThan(50);
    const agentAudio = RtpSink.writeUlaw(toBridged, join(dir, 'bridged.ul'));
    const hz = await dominantFrequency(agentAudio, { startS: 0.3, durationS: 1 });
    expect(Math.abs(hz - 1000) / 1000).toBeLessThan(0.05);
    const bridgedIn = reanswered!.at - bridged[0]![0]!.at;
    console.log(
      `predictive: 3 lines for 1 idle agent; bridged ${bridgedIn} ms after its answer, hearing ${hz.toFixed(0)} Hz; abandoned (message ${messageMs} ms): ${measured.join('; ')}`,
    );
  });
});
