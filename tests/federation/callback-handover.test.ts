// A callback served at another site, end to end: two real sites (Kamailio, rtpengine, site agent
// processes) and the central router, with Kafka. Beijing has nobody logged in for support; Guangzhou
// has one agent ready at a baresip phone in auto-answer, and an outbound trunk to the customer's
// baresip phone. A callback taken at Beijing (scheduled through Beijing's control API, due a second
// later) has its turn far off at home: it asks the router, which chooses Guangzhou; Beijing hands
// it over (SiteAgent.HandOverCallback, mutual TLS between the two sites, signed); Guangzhou queues
// it at its original place, reserves its agent and its own dialer calls the customer through its
// own Kamailio and trunk; the customer answers. Every step is a call event, at the site where it
// happened, and none carries the number. The confirm step: Guangzhou takes it provisionally and
// queues it only once Beijing has journaled its commit and told it (SettleCallbackHandover), so the
// hand-in follows the hand-over, and Beijing's journal is empty once Guangzhou acknowledged.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AgentState, CallEvent } from '@ccfed/proto';
import { freePort } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { renderTone } from '../support/audio.js';
import { startBaresips, type BaresipPhone } from '../support/baresip.js';
import { readTopics, uniqueName, waitFor } from '../support/engines.js';
import { type ServiceProcess } from '../support/processes.js';
import { type RunningFederation, startFederation, startRouter } from '../support/running-site.js';

const CUSTOMER = '+8613800138000';
type Kind = NonNullable<CallEvent['kind']>['$case'];

describe('a callback handed to another site through the router', () => {
  const dir = join(inject('runDir'), uniqueName('callback-handover'));
  let fed: RunningFederation;
  let router: ServiceProcess | undefined;
  let customer: BaresipPhone;
  let agentPhone: BaresipPhone;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const [customerTone, agentTone] = await Promise.all([
      renderTone(join(dir, 'customer-400.wav'), 400, 60),
      renderTone(join(dir, 'agent-1000.wav'), 1000, 60),
    ]);
    [customer, agentPhone] = await startBaresips([
      { dir: join(dir, 'customer'), user: CUSTOMER, microphone: customerTone },
      {
        dir: join(dir, 'agent'),
        user: 'gz-001',
        microphone: agentTone,
        autoAnswer: true,
      },
    ]);
    const routerPort = await freePort();
    fed = await startFederation({
      siteIds: ['beijing', 'guangzhou'],
      env: { CCFED_ROUTER: `127.0.0.1:${routerPort}` },
      mutate: (doc) => {
        const support = doc.skills.find((s: { id: string }) => s.id === 'support');
        support.overflow = { expectedWaitThresholdSeconds: 30, minImprovementSeconds: 1 };
        support.callback = {
          offerAfterSeconds: 60,
          maxAttempts: 2,
          retryAfterSeconds: 60,
          ringTimeoutSeconds: 15,
        };
        doc.routing.staleAfterSeconds = 5;
        doc.routing.reRequestIntervalSeconds = 1;
        doc.routing.tenantRestrictions = [];
        for (const site of doc.sites) {
          site.handicapSeconds = 0;
          site.agents = [
            {
              id: site.id === 'guangzhou' ? 'gz-001' : `${site.id.slice(0, 2)}-001`,
              name: 'Agent 1',
              tenant: 'acme-bank',
              skills: { support: 5 },
            },
          ];
          if (site.id === 'guangzhou')
            site.sip.trunk = `sip:${customer.sip.host}:${customer.sip.port}`;
        }
      },
    });
    router = await startRouter(fed, routerPort);
    const guangzhou = fed.sites.get('guangzhou')!;
    await guangzhou.control.login({ agentId: 'gz-001', contactUri: agentPhone.uri });
    await guangzhou.control.setReady({ agentId: 'gz-001' });
  }, 120_000);

  afterAll(async () => {
    await router?.stop();
    await fed?.stop();
    await Promise.allSettled([customer?.stop(), agentPhone?.stop()]);
  });

  it('is taken at Beijing with no free agent, handed to Guangzhou, whose agent is reserved and whose dialer calls the customer, who answers', async () => {
    const since = Date.now();
    const beijing = fed.sites.get('beijing')!;
    const guangzhou = fed.sites.get('guangzhou')!;
    const arrival = new Date(Date.now() + 1_000);
    const { callback } = await beijing.control.requestCallback({
      callId: '',
      number: CUSTOMER,
      skill: 'support',
      tenantId: 'acme-bank',
      scheduledFor: arrival,
    });
    const id = callback!.callbackId;

    // Guangzhou's dialer rings its agent first, then the customer, who answers.
    await customer.waitForEvent('CALL_INCOMING', { since, timeoutMs: 60_000 });
    await customer.accept();
    await customer.waitForEvent('CALL_ESTABLISHED', { since });
    await waitFor('gz-001 on the callback', async () => {
      const { agents } = await guangzhou.control.listAgents({ skill: '' });
      const a = agents.find((x) => x.agentId === 'gz-001');
      return a?.state === AgentState.AGENT_STATE_ON_CALL && a.callId === id ? a : undefined;
    });
    // Beijing holds it no more; Guangzhou is serving it.
    expect((await beijing.control.listCallbacks({ skill: '' })).callbacks).toEqual([]);
    await customer.hangup();
    await agentPhone.waitForEvent('CALL_CLOSED', { since, timeoutMs: 10_000 });

    const steps: Kind[] = [
      'callbackScheduled',
      'callbackHandedOver',
      'callbackHandedIn',
      'callbackAttemptStarted',
      'callbackCompleted',
    ];
    const seen = await readTopics({
      topics: [fed.topics.callEvents],
      decode: (b) => CallEvent.decode(b),
      until: (evs) => steps.every((k) => evs.some((e) => e.callId === id && e.kind?.$case === k)),
    });
    const mine = seen.filter((e) => e.callId === id && steps.includes(e.kind!.$case));
    const at = (k: Kind) => mine.find((e) => e.kind?.$case === k)!;
    expect(mine.map((e) => [e.kind!.$case, e.meta!.siteId])).toEqual([
      ['callbackScheduled', 'beijing'],
      ['callbackHandedOver', 'beijing'],
      ['callbackHandedIn', 'guangzhou'],
      ['callbackAttemptStarted', 'guangzhou'],
      ['callbackCompleted', 'guangzhou'],
    ]);
    expect(at('callbackHandedOver').kind).toMatchObject({ value: { targetSiteId: 'guangzhou' } });
    expect(at('callbackHandedIn').kind).toMatchObject({
      value: { originSiteId: 'beijing', attempts: 0 },
    });
    expect(at('callbackAttemptStarted').kind).toMatchObject({ value: { agentId: 'gz-001' } });
    // Its place is its original one at both sites.
    for (const e of mine) expect(e.arrivalTime!.getTime()).toBe(arrival.getTime());
    // The router's decision and the handover name the same decision.
    const decision = (at('callbackHandedOver').kind as { value: { decisionId: string } }).value
      .decisionId;
    expect(decision).not.toBe('');
    expect(at('callbackHandedIn').kind).toMatchObject({ value: { decisionId: decision } });
    expect(JSON.stringify(seen.filter((e) => e.callId === id))).not.toContain('8613800138000');
    // From due at Beijing to queued at Guangzhou: the overflow scan, the router (warming up from
    // its start just before), the handover; and the confirm step alone (committed and gone at
    // Beijing → confirmed and queued at Guangzhou).
    const time = (k: Kind) => at(k).meta!.eventTime!.getTime();
    console.info(
      `callback handover: due → handed in ${time('callbackHandedIn') - arrival.getTime()} ms; handed over → handed in ${time('callbackHandedIn') - time('callbackHandedOver')} ms`,
    );
    expect(time('callbackHandedIn') - arrival.getTime()).toBeLessThan(30_000);
    expect(time('callbackHandedIn')).toBeGreaterThanOrEqual(time('callbackHandedOver'));
    // Beijing's commit was acknowledged: nothing left in its journal; Guangzhou remembers it took it.
    const journal = (s: typeof beijing) => readdirSync(join(s.dataDir, 'callback-handovers'));
    expect(journal(beijing)).toEqual([]);
    expect(journal(guangzhou)).toEqual([expect.stringMatching(/^confirmed-[0-9a-f]{40}\.json$/)]);
  }, 120_000);
});
