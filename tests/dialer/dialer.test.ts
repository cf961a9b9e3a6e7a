// The site's outbound dialer against a real site: Kamailio (route[DIALER], the outbound trunk),
// rtpengine anchoring both legs, the dialer's SIP.js user agent over Kamailio's WebSocket
// listener, baresip phones for the agents and for the customer the trunk leads to.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { sipCredentials, systemClock } from '@ccfed/common';
import { AgentState } from '@ccfed/proto';
import { Acd } from '@ccfed/site-agent/acd/acd';
import { acdSetup } from '@ccfed/site-agent/acd/from-topology';
import { AcdCampaignAgents } from '@ccfed/site-agent/campaign/acd-agents';
import {
  AbandonedCalls,
  CampaignRun,
  type CampaignAttemptRecord,
} from '@ccfed/site-agent/campaign/campaign-run';
import { DEFAULT_RULES, inWindow } from '@ccfed/site-agent/campaign/rules';
import { callerHash } from '@ccfed/site-agent/caller-hash';
import { NgClient } from '@ccfed/services';
import { DialerMessages } from '@ccfed/site-agent/dialer/dialer-message';
import type { DialRequest } from '@ccfed/site-agent/dialer/port';
import { PassThroughSdh, PLACEHOLDER_OFFER } from '@ccfed/site-agent/dialer/pass-through-sdh';
import { SipDialer } from '@ccfed/site-agent/dialer/sip-dialer';
import { sipDomainOf } from '@ccfed/topology';
import { pino } from 'pino';
import { Inviter, UserAgent } from 'sip.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dominantFrequency, durationS, renderTone, soundSpansOf } from '../support/audio.js';
import { startBaresips, type BaresipPhone } from '../support/baresip.js';
import { freshDatabase, rows, uniqueName, waitFor } from '../support/engines.js';
import { startIngester } from '../support/ingester.js';
import type { ServiceProcess } from '../support/processes.js';
import { TEST_CALLER_HASH_KEY } from '../support/directory.js';
import { startSite, testSipSecret, type RunningSite } from '../support/running-site.js';
import { sendSip } from '../support/sip.js';

const CUSTOMER = '+8613800138000';

describe('outbound dialer through the site’s Kamailio', () => {
  const dir = join(inject('runDir'), uniqueName('dialer'));
  let site: RunningSite;
  let customer: BaresipPhone;
  let agentPhone: BaresipPhone;
  let absentAgent: BaresipPhone;
  let ng: NgClient;
  let ingester: ServiceProcess;
  let ch: ClickHouseClient;
  let dialer: SipDialer;
  let seq = 0;

  const request = (over: Partial<DialRequest> = {}): DialRequest => {
    seq += 1;
    return {
      attemptId: `attempt-${seq}`,
      callId: `dialer-test-${seq}`,
      agentId: 'bj-001',
      number: CUSTOMER,
      skill: 'support',
      tenantId: 'acme-bank',
      order: 'agent_first',
      ringTimeoutMs: 4_000,
      ...over,
    };
  };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const [customerTone, agentTone] = await Promise.all([
      renderTone(join(dir, 'customer-400.wav'), 400, 60),
      renderTone(join(dir, 'agent-1000.wav'), 1000, 60),
    ]);
    [customer, agentPhone, absentAgent] = await startBaresips([
      { dir: join(dir, 'customer'), user: CUSTOMER, microphone: customerTone },
      {
        dir: join(dir, 'agent'),
        user: 'bj-001',
        microphone: agentTone,
        autoAnswer: true,
      },
      // an agent whose phone rings and is never picked up
      { dir: join(dir, 'absent'), user: 'bj-002', microphone: agentTone },
    ]);
    site = await startSite({
      mutate: (doc) => {
        const beijing = doc.sites.find((s: { id: string }) => s.id === 'beijing');
        beijing.sip.trunk = `sip:${customer.sip.host}:${customer.sip.port}`;
        const support = doc.skills.find((k: { id: string }) => k.id === 'support');
        support.callback = {
          offerAfterSeconds: 60,
          maxAttempts: 2,
          retryAfterSeconds: 60,
          ringTimeoutSeconds: 10,
        };
      },
    });
    const fresh = await freshDatabase();
    ch = fresh.client;
    ingester = await startIngester({
      prefix: site.prefix,
      database: fresh.database,
      group: `ccfed-ingester-${uniqueName('dialer')}`,
    });
    ng = await NgClient.open({ host: '127.0.0.1', port: site.site.media.ngPort });
    const phones: Record<string, string> = { 'bj-001': agentPhone.uri, 'bj-002': absentAgent.uri };
    dialer = await SipDialer.start({
      site: site.site,
      sipSecret: testSipSecret(site.siteId),
      agentUri: (id) => phones[id],
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
    await ingester?.stop();
    await ch?.close();
    await Promise.allSettled([customer?.stop(), agentPhone?.stop(), absentAgent?.stop()]);
    await site?.stop();
  });

  /** Answers the customer's phone when it rings, after `afterMs`. */
  const customerAnswers = async (since: number, afterMs = 500) => {
    await customer.waitForEvent('CALL_INCOMING', { since, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, afterMs));
    await customer.accept();
  };

  it('agent first: the agent answers, then the customer; each hears the other', async () => {
    const since = Date.now();
    const outcome = dialer.dial(request());
    await customerAnswers(since);
    expect(await outcome).toMatchObject({ kind: 'connected' });
    await customer.waitForEvent('CALL_ESTABLISHED', { since });
    await new Promise((r) => setTimeout(r, 3_000));
    await customer.hangup();
    // the legs are paired: the customer's hang-up releases the agent
    await agentPhone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });

    const heardByCustomer = customer.recordings().heard.at(-1)!;
    const heardByAgent = agentPhone.recordings().heard.at(-1)!;
    const spans = await soundSpansOf(heardByCustomer, { bridgeMs: 200 });
    expect(spans.at(-1)!.endS - spans[0]!.startS).toBeGreaterThan(2);
    const [customerHz, agentHz] = await Promise.all([
      dominantFrequency(heardByCustomer, { startS: spans[0]!.startS + 0.3, durationS: 1.5 }),
      dominantFrequency(heardByAgent, { startS: 0.5, durationS: 2 }),
    ]);
    expect(Math.abs(customerHz - 1000) / 1000).toBeLessThan(0.05);
    expect(Math.abs(agentHz - 400) / 400).toBeLessThan(0.05);
  });

  it('a customer who does not answer: no answer at the ring timeout, and the agent is released', async () => {
    const since = Date.now();
    const outcome = await dialer.dial(request({ ringTimeoutMs: 3_000 }));
    const tookMs = Date.now() - since;
    expect(outcome).toEqual({ kind: 'no_answer' });
    expect(tookMs).toBeGreaterThanOrEqual(3_000);
    expect(tookMs).toBeLessThan(6_000);
    await customer.waitForEvent('CALL_CLOSED', { since });
    await agentPhone.waitForEvent('CALL_CLOSED', { since });
  });

  it('a busy customer (486): busy, and the agent is released', async () => {
    const since = Date.now();
    const outcome = dialer.dial(request());
    await customer.waitForEvent('CALL_INCOMING', { since, timeoutMs: 10_000 });
    await customer.hangup(); // baresip refuses a ringing call with 486
    expect(await outcome).toEqual({ kind: 'busy' });
    await agentPhone.waitForEvent('CALL_CLOSED', { since });
  });

  it('customer first, no agent answering within 2 s: the customer hears the message naming the caller, then is hung up: abandoned', async () => {
    const since = Date.now();
    const outcome = dialer.dial(request({ order: 'customer_first', agentId: 'bj-002' }));
    await customer.waitForEvent('CALL_INCOMING', { since, timeoutMs: 10_000 });
    await customer.accept();
    const result = await outcome;
    expect(result.kind).toBe('abandoned');
    await customer.waitForEvent('CALL_CLOSED', { since, timeoutMs: 20_000 });
    // the reserved agent was rung, and released at the deadline
    await absentAgent.waitForEvent('CALL_INCOMING', { since });
    await absentAgent.waitForEvent('CALL_CLOSED', { since });

    // The customer heard the whole message, which began 2 s after they answered (baresip records
    // from the first packet it gets: the silence before the message is not in the file).
    const established = await customer.waitForEvent('CALL_ESTABLISHED', { since });
    const closed = await customer.waitForEvent('CALL_CLOSED', { since });
    const message = await new DialerMessages(site.topology, join(dir, 'messages')).fileOf(
      'acme-bank',
    );
    const messageS = await durationS(message);
    const heard = customer.recordings().heard.at(-1)!;
    const spans = await soundSpansOf(heard, { bridgeMs: 400 });
    expect(spans.length).toBeGreaterThan(0);
    expect(Math.abs(spans.at(-1)!.endS - spans[0]!.startS - messageS)).toBeLessThan(1);
    const silentS = (closed.at - established.at) / 1000 - messageS;
    expect(silentS).toBeGreaterThan(1.7);
    expect(silentS).toBeLessThan(3.2);
    expect(result).toMatchObject({ answeredAtMs: expect.any(Number) });
  });

  it('customer first, the agent answering in time: bridged, the customer hears the agent', async () => {
    const since = Date.now();
    const outcome = dialer.dial(request({ order: 'customer_first' }));
    await customer.waitForEvent('CALL_INCOMING', { since, timeoutMs: 10_000 });
    await customer.accept();
    expect(await outcome).toMatchObject({ kind: 'connected' });
    await new Promise((r) => setTimeout(r, 3_000));
    await customer.hangup();
    await agentPhone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });
    const heard = customer.recordings().heard.at(-1)!;
    const spans = await soundSpansOf(heard, { bridgeMs: 200 });
    const last = spans.at(-1)!;
    expect(last.endS - last.startS).toBeGreaterThan(1.5);
    const hz = await dominantFrequency(heard, { startS: last.startS + 0.3, durationS: 1 });
    expect(Math.abs(hz - 1000) / 1000).toBeLessThan(0.05);
  });

  it('customer first with no agent reserved: none sought while the customer rings; the one free 300 ms after the answer is bridged', async () => {
    const since = Date.now();
    const asked: number[] = [];
    // a predictive line: no agent until the customer answers, and none free for the first asks
    const { agentId: _none, ...line } = request({ order: 'customer_first' });
    const outcome = dialer.dial(line, undefined, () => {
      asked.push(Date.now());
      return asked.length < 4 ? undefined : 'bj-001';
    });
    await customer.waitForEvent('CALL_INCOMING', { since, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect(asked).toEqual([]);
    await customer.accept();
    const result = await outcome;
    expect(result).toMatchObject({ kind: 'connected' });
    if (result.kind !== 'connected') return;
    // asked at the answer, then every 100 ms until one was free, well within the 2 s
    expect(asked).toHaveLength(4);
    expect(asked[0]! - result.answeredAtMs).toBeLessThan(100);
    expect(asked[3]! - asked[0]!).toBeGreaterThanOrEqual(290);
    expect(asked[3]! - result.answeredAtMs).toBeLessThan(1_000);
    expect(absentAgent.events.filter((e) => e.type === 'CALL_INCOMING' && e.at >= since)).toEqual(
      [],
    );
    await new Promise((r) => setTimeout(r, 2_000));
    await customer.hangup();
    await agentPhone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });
    const heard = customer.recordings().heard.at(-1)!;
    const spans = await soundSpansOf(heard, { bridgeMs: 200 });
    const last = spans.at(-1)!;
    expect(last.endS - last.startS).toBeGreaterThan(1);
    const hz = await dominantFrequency(heard, { startS: last.startS + 0.3, durationS: 0.6 });
    expect(Math.abs(hz - 1000) / 1000).toBeLessThan(0.05);
  });

  it('a predictive campaign’s line takes its agent from the ACD when the customer answers: connected, the agent on the call', async () => {
    const since = Date.now();
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
    // a zone whose calling window is open now and for the next ten minutes
    const zone = Array.from({ length: 27 }, (_, i) => i - 12)
      .map((h) => (h === 0 ? 'Etc/GMT' : `Etc/GMT${h > 0 ? '+' : '-'}${Math.abs(h)}`))
      .find((z) => [since, since + 600_000].every((t) => inWindow(t, DEFAULT_RULES.window, z)))!;
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
        contacts: [{ contactId: 'c1', number: CUSTOMER, timeZone: zone }],
      },
      {
        clock: systemClock,
        dialer,
        agents,
        newId: () => `predictive-e2e-${++n}`,
        recorded: (r) => records.push(r),
        abandoned: new AbandonedCalls(),
      },
    );
    run.start();
    expect(run.tick()).toBe(1);
    await customer.waitForEvent('CALL_INCOMING', { since, timeoutMs: 10_000 });
    // nobody is held for the line while the customer rings
    expect(acd.agentState('bj-001')).toEqual({ name: 'ready' });
    await customer.accept();
    await run.settled();
    expect(records).toEqual([
      expect.objectContaining({ contactId: 'c1', outcome: 'connected', agentId: 'bj-001' }),
    ]);
    expect(acd.agentState('bj-001')).toEqual({ name: 'on_call', callId: 'predictive-e2e-1' });
    await customer.hangup();
    await agentPhone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });
  });

  it('nobody but the dialer calls out through the trunk: not an agent’s browser, not with an agent’s credentials, not a phone', async () => {
    const since = Date.now();
    const domain = sipDomainOf(site.site);
    const agentCreds = sipCredentials({
      secret: testSipSecret(site.siteId),
      agentId: 'bj-001',
      nowMs: Date.now(),
    });
    // an agent's browser, signed in as itself
    expect(await tryOutbound('bj-001', agentCreds)).toBe(403);
    // the agent's credentials claiming to be the dialer
    expect(await tryOutbound('_dialer', agentCreds)).toBe(403);
    // the dialer's name without its secret
    expect(
      await tryOutbound('_dialer', {
        username: agentCreds.username.replace('bj-001', '_dialer'),
        password: 'guessed',
      }),
    ).toBe(407);
    // a phone (or anyone) over UDP: an inbound call to the site, never relayed to the trunk
    const replies = await sendSip(site.site.sip, 'INVITE', { user: CUSTOMER, waitMs: 2_000 });
    expect(replies.some((r) => r.status >= 200 && r.status < 300)).toBe(false);
    expect(customer.events.filter((e) => e.type === 'CALL_INCOMING' && e.at >= since)).toEqual([]);

    async function tryOutbound(
      user: string,
      creds: { readonly username: string; readonly password: string },
    ): Promise<number> {
      const ua = new UserAgent({
        uri: UserAgent.makeURI(`sip:${user}@${domain}`),
        transportOptions: { server: `ws://127.0.0.1:${site.site.sip.wsPort}` },
        authorizationUsername: creds.username,
        authorizationPassword: creds.password,
        logBuiltinEnabled: false,
        sessionDescriptionHandlerFactory: () =>
          new PassThroughSdh({
            offer: () => Promise.resolve(PLACEHOLDER_OFFER),
            answer: () => Promise.reject(new Error('no answer')),
            remote: () => {},
          }),
      });
      await ua.start();
      try {
        const inviter = new Inviter(ua, UserAgent.makeURI(`sip:${CUSTOMER}@${domain}`)!);
        return await new Promise<number>((resolve) => {
          const timer = setTimeout(() => resolve(-1), 5_000);
          inviter
            .invite({
              requestDelegate: {
                onAccept: () => resolve(200),
                onReject: (r) => {
                  clearTimeout(timer);
                  resolve(r.message.statusCode ?? 0);
                },
              },
            })
            .catch(() => resolve(0));
        });
      } finally {
        await ua.stop();
      }
    }
  });

  it('a callback whose turn comes is dialed by the site agent: connected, the agent in wrap-up after the hang-up, the attempt and its end in ClickHouse by caller hash only', async () => {
    const since = Date.now();
    await site.control.login({ agentId: 'bj-001', contactUri: agentPhone.uri });
    await site.control.setReady({ agentId: 'bj-001' });
    const { callback } = await site.control.requestCallback({
      callId: '',
      number: CUSTOMER,
      skill: 'support',
      tenantId: 'acme-bank',
      scheduledFor: new Date(Date.now() + 1_000),
    });
    const callbackId = callback!.callbackId;
    await customerAnswers(since, 200);
    await customer.waitForEvent('CALL_ESTABLISHED', { since });
    await new Promise((r) => setTimeout(r, 1_500));
    await customer.hangup();
    await agentPhone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });

    // the site agent's ACD put the agent in wrap-up for that call
    await waitFor('bj-001 in wrap-up', async () => {
      const { agents } = await site.control.listAgents({ skill: '' });
      const a = agents.find((x) => x.agentId === 'bj-001');
      return a?.state === AgentState.AGENT_STATE_WRAP_UP ? a : undefined;
    });

    const attempts = await waitFor('the attempt in dial_attempts', async () => {
      const r = await rows<Record<string, string>>(
        ch,
        `SELECT call_id, agent_id, dial_order, outcome, caller_hash FROM dial_attempts WHERE call_id = '${callbackId}'`,
      );
      return r.length > 0 ? r : undefined;
    });
    expect(attempts).toEqual([
      {
        call_id: callbackId,
        agent_id: 'bj-001',
        dial_order: 'agent_first',
        outcome: 'connected',
        caller_hash: callerHash(TEST_CALLER_HASH_KEY, CUSTOMER),
      },
    ]);
    const kinds = await waitFor('the attempt and its end', async () => {
      const r = await rows<{ kind: string }>(
        ch,
        `SELECT kind FROM call_events WHERE call_id = '${callbackId}' ORDER BY event_time, event_ms`,
      );
      const k = r.map((x) => x.kind);
      return k.includes('dialed_call_ended') ? k : undefined;
    });
    expect(kinds).toEqual(expect.arrayContaining(['dial_attempted', 'dialed_call_ended']));
    // not an inbound answer: the callback's wait is the callback's own figure (docs/callbacks.md)
    expect(kinds).not.toContain('answered');
    const [leak] = await rows<{ n: string }>(
      ch,
      `SELECT count() AS n FROM call_events WHERE position(payload, '13800138000') > 0 OR position(caller_hash, '13800138000') > 0`,
    );
    expect(Number(leak!.n)).toBe(0);
  });
});
