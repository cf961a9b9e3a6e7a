// Blind transfer with real phones (docs/transfer.md): Shanghai and Beijing as production runs them
// (rtpengine, Kamailio on ccfed.cfg, the site agent process, Kafka), baresip phones with RTP. A
// known customer calls Shanghai's support number and Shanghai's agent answers; the agent
// transfers the call to Beijing's sales skill over AgentControl.TransferCall (with its own agent
// certificate: the API's on-behalf-of is another branch's). Kamailio REFERs the caller, whose new
// INVITE comes back to Shanghai with the token, is relayed to Beijing like an overflow and
// answered there; the caller's tone reaches Beijing's agent, Beijing's events carry the call's
// customer, tier and original arrival, Shanghai's agent is in wrap-up, and the CallTransferred
// event names the target. Then a transfer to another skill at the same site, by the site's
// supervisor, and the refusals (unknown skill, a site without the skill, another agent's call).
import { AgentState, CallEvent, CustomerTier } from '@ccfed/proto';
import { freePort, NgCommandError, sipp, udpPortFree } from '@ccfed/services';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClientError, Status } from 'nice-grpc';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dominantFrequency, levelDb, renderTone } from '../support/audio.js';
import { startBaresip, type BaresipPhone } from '../support/baresip.js';
import { uniqueName, waitFor } from '../support/engines.js';
import { adminKafka, READER_MAX_WAIT_MS } from '../support/kafka.js';
import { startFederation, type RunningFederation } from '../support/running-site.js';

const CALLER_HZ = 400;
const SHANGHAI_SUPPORT = '400100200';
const CALLER_NUMBER = '8613912345678';
const CUSTOMER = 'acme-c-0042';

type Kind = NonNullable<CallEvent['kind']>;
type KindValue<K extends Kind['$case']> = Extract<Kind, { $case: K }>['value'];

const grpcCode = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof ClientError ? Status[err.code] : String(err)),
  );

describe('blind transfer of a live call to a skill at any site', () => {
  let fed: RunningFederation;
  const phones = new Map<string, BaresipPhone>();
  const events: CallEvent[] = [];
  let consumer: Consumer | undefined;
  const dir = join(inject('runDir'), uniqueName('transfer'));

  async function event<K extends Kind['$case']>(
    kind: K,
    match: (e: CallEvent, value: KindValue<K>) => boolean,
  ): Promise<{ event: CallEvent; value: KindValue<K> }> {
    const found = await waitFor(`a ${kind} call event`, async () =>
      events.find((e) => e.kind?.$case === kind && match(e, e.kind.value as KindValue<K>)),
    );
    return { event: found, value: found.kind!.value as KindValue<K> };
  }

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    fed = await startFederation({
      siteIds: ['shanghai', 'beijing'],
      directory: [
        {
          tenant: 'acme-bank',
          number: CALLER_NUMBER,
          customerId: CUSTOMER,
          tier: CustomerTier.CUSTOMER_TIER_GOLD,
        },
      ],
      mutate: (doc) => {
        for (const skill of doc.skills) skill.wrapUpSeconds = 60;
        doc.routing.tenantRestrictions = [];
        for (const site of doc.sites) site.handicapSeconds = 0;
        const agent = (id: string, skill: string) => ({
          id,
          name: id,
          tenant: 'acme-bank',
          skills: { [skill]: 5 },
        });
        doc.sites.find((s: { id: string }) => s.id === 'shanghai').agents = [
          agent('sh-a', 'support'),
          agent('sh-b', 'support'),
          agent('sh-s', 'sales'),
          agent('sh-c', 'support'),
        ];
        doc.sites.find((s: { id: string }) => s.id === 'beijing').agents = [agent('bj-s', 'sales')];
      },
    });
    consumer = adminKafka('transfer-test').consumer({
      groupId: uniqueName('transfer'),
      maxWaitTimeInMs: READER_MAX_WAIT_MS,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [fed.topics.callEvents], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        events.push(CallEvent.decode(message.value!));
      },
    });
    const callerTone = await renderTone(join(dir, `caller-${CALLER_HZ}.wav`), CALLER_HZ, 300);
    const agentTone = await renderTone(join(dir, 'agent-1000.wav'), 1000, 300);
    const started = await Promise.all(
      [CALLER_NUMBER, 'sh-a', 'sh-b', 'sh-s', 'bj-s'].map((user) =>
        startBaresip({
          dir: join(dir, user),
          user,
          microphone: user === CALLER_NUMBER ? callerTone : agentTone,
          autoAnswer: user !== CALLER_NUMBER,
        }),
      ),
    );
    for (const p of started) phones.set(p.user, p);
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled([...phones.values()].map((p) => p.stop()));
    await consumer?.disconnect();
    await fed?.stop();
  });

  const ready = async (siteId: string, agentId: string) => {
    const site = fed.sites.get(siteId)!;
    await site.control.login({ agentId, contactUri: phones.get(agentId)!.uri });
    await site.control.setReady({ agentId });
  };

  /** Dials Shanghai's support number and waits until `agentId` answers; the call's id. */
  async function callAnsweredBy(agentId: string): Promise<string> {
    const caller = phones.get(CALLER_NUMBER)!;
    const t0 = Date.now();
    const earlier = new Set(events.map((e) => e.callId));
    await caller.dial(
      `sip:${SHANGHAI_SUPPORT}@127.0.0.1:${fed.sites.get('shanghai')!.kamailio.sip.port}`,
    );
    await caller.waitForEvent('CALL_ESTABLISHED', { since: t0 });
    const answered = await event(
      'answered',
      (e, a) => a.agentId === agentId && !earlier.has(e.callId),
    );
    return answered.event.callId;
  }

  it('moves a call answered at Shanghai to Beijing’s sales skill, with its context', async () => {
    await ready('shanghai', 'sh-a');
    await ready('beijing', 'bj-s');
    const callId = await callAnsweredBy('sh-a');
    const offered = await event('offered', (e) => e.callId === callId);
    expect(offered.value.customerId).toBe(CUSTOMER);
    expect(offered.value.tier).toBe(CustomerTier.CUSTOMER_TIER_GOLD);
    const shanghai = fed.sites.get('shanghai')!;
    const asA = await shanghai.clientsAs({ kind: 'agent', site: 'shanghai', agent: 'sh-a' });
    const asB = await shanghai.clientsAs({ kind: 'agent', site: 'shanghai', agent: 'sh-b' });

    // Refusals: they leave the call where it is.
    const req = { agentId: 'sh-a', callId, skill: 'sales', siteId: 'beijing' };
    expect(await grpcCode(asA.control.transferCall({ ...req, skill: 'no-such-skill' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await grpcCode(asA.control.transferCall({ ...req, siteId: 'atlantis' }))).toBe(
      'INVALID_ARGUMENT',
    );
    // Beijing has no agent of complaints.
    expect(await grpcCode(asA.control.transferCall({ ...req, skill: 'complaints' }))).toBe(
      'INVALID_ARGUMENT',
    );
    // Another agent: not on sh-a's behalf, and sh-b is on no call.
    expect(await grpcCode(asB.control.transferCall(req))).toBe('PERMISSION_DENIED');
    expect(await grpcCode(asB.control.transferCall({ ...req, agentId: 'sh-b' }))).toBe(
      'FAILED_PRECONDITION',
    );
    expect(events.some((e) => e.callId === callId && e.kind?.$case === 'transferred')).toBe(false);

    const bj = phones.get('bj-s')!;
    const t = Date.now();
    const heardBefore = bj.recordings().heard.length;
    const reply = await asA.control.transferCall(req);
    expect(reply).toMatchObject({ callId, targetSiteId: 'beijing', skill: 'sales' });

    const transferred = await event('transferred', (e) => e.callId === callId);
    expect(transferred.value).toMatchObject({
      fromAgentId: 'sh-a',
      targetSiteId: 'beijing',
      targetSkill: 'sales',
      blind: true,
      to: 'sales@beijing',
    });
    expect(transferred.event.meta!.siteId).toBe('shanghai');
    await phones.get('sh-a')!.waitForEvent('CALL_CLOSED', { since: t });

    // The caller's new INVITE, answered at Beijing, keeps who the caller is and when they came.
    const transferredIn = await event(
      'transferredIn',
      (e, v) => v.fromCallId === callId && e.meta!.siteId === 'beijing',
    );
    const newCallId = transferredIn.event.callId;
    expect(newCallId).not.toBe(callId);
    expect(transferredIn.value.fromSiteId).toBe('shanghai');
    const atBeijing = await event('offered', (e) => e.callId === newCallId);
    expect(atBeijing.event.meta!.siteId).toBe('beijing');
    expect(atBeijing.value).toMatchObject({
      skill: 'sales',
      customerId: CUSTOMER,
      tier: CustomerTier.CUSTOMER_TIER_GOLD,
    });
    expect(atBeijing.value.arrivalTime!.getTime()).toBe(offered.value.arrivalTime!.getTime());
    const answered = await event('answered', (e) => e.callId === newCallId);
    expect(answered.event.meta!.siteId).toBe('beijing');
    expect(answered.value.agentId).toBe('bj-s');
    expect(answered.event.customerId).toBe(CUSTOMER);
    expect(answered.event.arrivalTime!.getTime()).toBe(offered.value.arrivalTime!.getTime());
    // Service level counts from the transfer, not from the caller's first arrival.
    const sinceTransfer =
      answered.event.meta!.eventTime!.getTime() - transferredIn.value.transferredAt!.getTime();
    expect(Math.abs(Number(answered.value.waitMs) - sinceTransfer)).toBeLessThan(50);
    // No overflow was booked: the transfer is its own event.
    expect(events.some((e) => e.callId === newCallId && e.kind?.$case === 'overflowedIn')).toBe(
      false,
    );

    // Shanghai's agent is in wrap-up for the call it transferred.
    const agents = await shanghai.control.listAgents({});
    const a = agents.agents.find((x) => x.agentId === 'sh-a')!;
    expect(a.state).toBe(AgentState.AGENT_STATE_WRAP_UP);

    expect(answered.event.callerHash).not.toBe('');
    expect(answered.event.callerHash).toBe(offered.event.callerHash);
    expect(answered.event.meta!.tenantId).toBe(offered.event.meta!.tenantId);

    // The caller's audio reaches Beijing's agent through both sites' rtpengines: the new call is
    // anchored at Shanghai (the caller's side) and at Beijing; the old session is gone.
    await bj.waitForEvent('CALL_ESTABLISHED', { since: t });
    for (const id of ['shanghai', 'beijing']) {
      const q = await fed.sites.get(id)!.rtpengine.client.query({ callId: newCallId });
      expect(q.tags.length, id).toBe(2);
    }
    await expect(shanghai.rtpengine.client.query({ callId })).rejects.toBeInstanceOf(
      NgCommandError,
    );
    await new Promise((r) => setTimeout(r, 3_000));
    await phones.get(CALLER_NUMBER)!.hangup();
    await bj.waitForEvent('CALL_CLOSED', { since: t });
    const heard = bj.recordings().heard.slice(heardBefore);
    expect(heard.length).toBeGreaterThanOrEqual(1);
    const last = heard[heard.length - 1]!;
    expect(await levelDb(last, { startS: 0.5, durationS: 1.5 })).toBeGreaterThan(-30);
    const hz = await dominantFrequency(last, { startS: 0.5, durationS: 1.5 });
    expect(Math.abs(hz - CALLER_HZ) / CALLER_HZ).toBeLessThan(0.05);
  }, 90_000);

  it('moves a call to another skill at the same site, on the supervisor’s word', async () => {
    await ready('shanghai', 'sh-b');
    await ready('shanghai', 'sh-s');
    const callId = await callAnsweredBy('sh-b');
    const offered = await event('offered', (e) => e.callId === callId);
    const t = Date.now();
    const shanghai = fed.sites.get('shanghai')!;
    await shanghai.control.transferCall({ agentId: 'sh-b', callId, skill: 'sales', siteId: '' });
    const transferred = await event('transferred', (e) => e.callId === callId);
    expect(transferred.value).toMatchObject({ targetSiteId: 'shanghai', targetSkill: 'sales' });
    const transferredIn = await event('transferredIn', (_, v) => v.fromCallId === callId);
    const answered = await event('answered', (e) => e.callId === transferredIn.event.callId);
    expect(answered.event.meta!.siteId).toBe('shanghai');
    expect(answered.value.agentId).toBe('sh-s');
    expect(answered.event.skill).toBe('sales');
    expect(answered.event.tier).toBe(CustomerTier.CUSTOMER_TIER_GOLD);
    expect(answered.event.arrivalTime!.getTime()).toBe(offered.value.arrivalTime!.getTime());
    await phones.get('sh-s')!.waitForEvent('CALL_ESTABLISHED', { since: t });
    await phones.get(CALLER_NUMBER)!.hangup();
    await phones.get('sh-s')!.waitForEvent('CALL_CLOSED', { since: t });
  }, 60_000);

  it('keeps the call with the agent when the caller’s phone does not take REFER', async () => {
    // sipp's caller lists no Allow: the dialog module would end its call whatever it answers.
    const shanghai = fed.sites.get('shanghai')!;
    const agentPort = await freePort();
    const agentPhone = sipp('agent.xml', ['-p', String(agentPort), '-m', '1']);
    const callerPhone = { stop: async () => {} };
    try {
      await waitFor('the sipp agent listening', async () =>
        (await udpPortFree(agentPort)) ? undefined : true,
      );
      await shanghai.control.login({
        agentId: 'sh-c',
        contactUri: `sip:sh-c@127.0.0.1:${agentPort}`,
      });
      await shanghai.control.setReady({ agentId: 'sh-c' });
      const earlier = new Set(events.map((e) => e.callId));
      const caller = sipp('caller.xml', [
        `127.0.0.1:${shanghai.kamailio.sip.port}`,
        '-p',
        String(await freePort()),
        '-s',
        SHANGHAI_SUPPORT,
        '-key',
        'caller',
        '8613700',
        '-m',
        '1',
        '-d',
        '60000',
      ]);
      callerPhone.stop = () => caller.stop();
      const answered = await event(
        'answered',
        (e, a) => a.agentId === 'sh-c' && !earlier.has(e.callId),
      );
      const callId = answered.event.callId;
      const asC = await shanghai.clientsAs({ kind: 'agent', site: 'shanghai', agent: 'sh-c' });
      const refused = asC.control.transferCall({
        agentId: 'sh-c',
        callId,
        skill: 'sales',
        siteId: 'beijing',
      });
      await expect(refused).rejects.toMatchObject({
        code: Status.FAILED_PRECONDITION,
        details: expect.stringContaining('REFER'),
      });
      // Still talking: the agent is on the call, and nothing was published about a transfer.
      const agents = await shanghai.control.listAgents({});
      expect(agents.agents.find((a) => a.agentId === 'sh-c')).toMatchObject({
        state: AgentState.AGENT_STATE_ON_CALL,
        callId,
      });
      expect(events.some((e) => e.callId === callId && e.kind?.$case === 'transferred')).toBe(
        false,
      );
    } finally {
      await callerPhone.stop();
      await agentPhone.stop();
    }
  }, 60_000);
});
