// The site agent's evapi link against a real Kamailio running the generated site config.
import type { KamailioInstance } from '@ccfed/services';
import type { EvapiLink } from '@ccfed/site-agent/kamailio/evapi-link';
import {
  queuedReply,
  type KamailioCommand,
  type KamailioEvent,
} from '@ccfed/site-agent/kamailio/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@ccfed/services';
import { waitFor } from '../support/engines.js';
import { sendSip } from '../support/sip.js';
import { openEvapiLink, startSiteKamailio } from '../support/site.js';

type Invite = Extract<KamailioEvent, { event: 'invite' }>;

describe('evapi link to Kamailio', () => {
  let kam: KamailioInstance;
  let link: EvapiLink;
  let onInvite: (ev: Invite) => KamailioCommand[] = () => [];
  const events: KamailioEvent[] = [];
  /** The port of an IVR Beijing trusts with X-CC-* headers. */
  let ivr: number;

  function onEvent(ev: KamailioEvent): void {
    events.push(ev);
    if (ev.event === 'invite') for (const cmd of onInvite(ev)) link.send(cmd);
  }

  beforeAll(async () => {
    ivr = await freePort();
    kam = await startSiteKamailio('beijing', (doc) => {
      doc.sites[1].trustedSources = [`127.0.0.1:${ivr}`];
    });
    link = await openEvapiLink(kam, onEvent);
  });

  afterAll(async () => {
    await link?.stop();
    await kam?.stop();
  });

  it('hands each INVITE over with its transaction, number, source and X-CC-* headers from a trusted IVR, and carries out a reply', async () => {
    onInvite = (ev) => [
      { action: 'reply', tindex: ev.tindex, tlabel: ev.tlabel, code: 486, reason: 'Busy Here' },
    ];
    const replies = await sendSip(kam.sip, 'INVITE', {
      user: '400200100',
      headers: { 'X-CC-Tier': 'vip', 'x-cc-customer': 'cust-7' },
      localPort: ivr,
    });
    expect(replies.at(-1)?.status).toBe(486);
    const invite = events.find((e): e is Invite => e.event === 'invite')!;
    expect(invite.ruriUser).toBe('400200100');
    expect(invite.trust).toBe('trusted');
    expect(invite.cc).toEqual({ Tier: 'vip', customer: 'cust-7' });
  });

  it('hands over no X-CC-* header, in any case, from a source it does not trust', async () => {
    onInvite = (ev) => [
      { action: 'reply', tindex: ev.tindex, tlabel: ev.tlabel, code: 486, reason: 'Busy Here' },
    ];
    const callId = 'untrusted-caller@test';
    const replies = await sendSip(kam.sip, 'INVITE', {
      user: '400200100',
      callId,
      headers: { 'X-CC-Tier': 'vip', 'x-cc-origin-site': 'shanghai', 'X-Cc-Arrival': '1' },
    });
    expect(replies.at(-1)?.status).toBe(486);
    const invite = events.find((e): e is Invite => e.event === 'invite' && e.callid === callId)!;
    expect(invite.trust).toBe('none');
    expect(invite.cc).toEqual({});
  });

  it('sends 182 Queued as often as asked while the INVITE stays pending, then the final answer', async () => {
    // More repeats than Kamailio's max_branches (16): provisional replies must not use branches.
    onInvite = (ev) => [
      ...Array.from({ length: 20 }, () => queuedReply(ev)),
      {
        action: 'reply',
        tindex: ev.tindex,
        tlabel: ev.tlabel,
        code: 480,
        reason: 'Temporarily Unavailable',
      },
    ];
    const replies = await sendSip(kam.sip, 'INVITE', { user: '400200200' });
    expect(replies.map((r) => r.status).filter((s) => s !== 100)).toEqual([
      ...Array<number>(20).fill(182),
      480,
    ]);
  });

  it('keeps a pending INVITE through a link drop, holds one that comes meanwhile, and hands both back on resync under their transactions', async () => {
    const pending: Invite[] = [];
    onInvite = (ev) => {
      pending.push(ev);
      return [];
    };
    const before = sendSip(kam.sip, 'INVITE', { user: '400200300', waitMs: 9000 });
    await waitFor('INVITE handed over', async () => (pending.length === 1 ? true : undefined));
    await link.stop();
    // within the restart grace (10 s): suspended too, for the site agent that comes back
    const meanwhile = sendSip(kam.sip, 'INVITE', { user: '400200300', waitMs: 9000 });

    link = await openEvapiLink(kam, onEvent);
    /** Kamailio's whole answer to one resync, up to its resync_done. */
    const resync = async () => {
      const from = events.length;
      link.send({ action: 'resync' });
      return waitFor('resync done', async () => {
        const answer = events.slice(from);
        const end = answer.findIndex((e) => e.event === 'resync_done');
        return end < 0 ? undefined : answer.slice(0, end + 1);
      });
    };
    // (asked again until the second INVITE has reached Kamailio: a resync changes nothing)
    const answer = await waitFor('both INVITEs held', async () => {
      const a = await resync();
      const done = a.at(-1);
      return done?.event === 'resync_done' && done.held === 2 ? a : undefined;
    });
    const held = answer.filter((e): e is Invite => e.event === 'invite');
    expect(held.map((e) => e.resync)).toEqual([true, true]);
    const first = held.find((e) => e.callid === pending[0]!.callid)!;
    expect(first).toMatchObject({ tindex: pending[0]!.tindex, tlabel: pending[0]!.tlabel });
    expect(first.tsS).toBe(pending[0]!.tsS);
    for (const ev of held)
      link.send({
        action: 'reply',
        tindex: ev.tindex,
        tlabel: ev.tlabel,
        code: 486,
        reason: 'Busy Here',
      });
    for (const replies of await Promise.all([before, meanwhile]))
      expect(replies.at(-1)?.status).toBe(486);
  });
});
