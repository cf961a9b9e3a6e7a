// The site agent's evapi link against a real Kamailio running the generated site config.
import { join } from 'node:path';
import { silentLogger } from '@ccfed/common';
import { startKamailio, type KamailioInstance } from '@ccfed/services';
import { EvapiLink } from '@ccfed/site-agent/kamailio/evapi-link';
import type { KamailioCommand, KamailioEvent } from '@ccfed/site-agent/kamailio/messages';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitFor } from '../support/engines.js';
import { sendSip } from '../support/sip.js';
import { exampleTopologyOnFreePorts } from '../support/topology.js';

type Invite = Extract<KamailioEvent, { event: 'invite' }>;

describe('evapi link to Kamailio', () => {
  let kam: KamailioInstance;
  let link: EvapiLink;
  let onInvite: (ev: Invite) => KamailioCommand[] = () => [];
  const events: KamailioEvent[] = [];

  function newLink(): EvapiLink {
    return new EvapiLink({
      host: kam.evapi.host,
      port: kam.evapi.port,
      log: silentLogger(),
      onEvent: (ev) => {
        events.push(ev);
        if (ev.event === 'invite') for (const cmd of onInvite(ev)) link.send(cmd);
      },
    });
  }

  beforeAll(async () => {
    const topology = await exampleTopologyOnFreePorts();
    kam = await startKamailio({
      topology,
      siteId: 'beijing',
      dataDir: join(inject('runDir'), uniqueName('kamailio')),
    });
    link = newLink();
    link.start();
    await waitFor('evapi connected', async () => (link.isConnected ? true : undefined));
  });

  afterAll(async () => {
    await link?.stop();
    await kam?.stop();
  });

  it('hands each INVITE over with its transaction, number and X-CC-* headers, and carries out a reply', async () => {
    onInvite = (ev) => [
      { action: 'reply', tindex: ev.tindex, tlabel: ev.tlabel, code: 486, reason: 'Busy Here' },
    ];
    const replies = await sendSip(kam.sip, 'INVITE', {
      user: '400200100',
      headers: { 'X-CC-Tier': 'vip', 'X-CC-Customer': 'cust-7' },
    });
    expect(replies.at(-1)?.status).toBe(486);
    const invite = events.find((e): e is Invite => e.event === 'invite')!;
    expect(invite.ruriUser).toBe('400200100');
    expect(invite.cc).toEqual({ Tier: 'vip', Customer: 'cust-7' });
  });

  it('sends 182 Queued while the INVITE stays pending, then the final answer', async () => {
    onInvite = (ev) => [
      { action: 'provisional', tindex: ev.tindex, tlabel: ev.tlabel, code: 182, reason: 'Queued' },
      {
        action: 'reply',
        tindex: ev.tindex,
        tlabel: ev.tlabel,
        code: 480,
        reason: 'Temporarily Unavailable',
      },
    ];
    const replies = await sendSip(kam.sip, 'INVITE', { user: '400200200' });
    expect(replies.map((r) => r.status).filter((s) => s !== 100)).toEqual([182, 480]);
  });

  it('answers a pending INVITE with the fallback (503 + Retry-After) as soon as the link drops, and takes calls again after reconnecting', async () => {
    let pending: Invite | undefined;
    onInvite = (ev) => {
      pending = ev;
      return [];
    };
    const call = sendSip(kam.sip, 'INVITE', { user: '400200300', waitMs: 8000 });
    await waitFor('INVITE handed over', async () => pending);
    await link.stop();
    const replies = await call;
    expect(replies.at(-1)?.status).toBe(503);
    expect(replies.at(-1)?.headers['retry-after']).toBe('30');

    link = newLink();
    link.start();
    await waitFor('evapi reconnected', async () => (link.isConnected ? true : undefined));
    onInvite = (ev) => [
      { action: 'reply', tindex: ev.tindex, tlabel: ev.tlabel, code: 486, reason: 'Busy Here' },
    ];
    expect((await sendSip(kam.sip, 'INVITE', { user: '400200100' })).at(-1)?.status).toBe(486);
  });
});
