// An overflowed INVITE's liveness between two sites' Kamailios (sip-overflow.ts, peerSilenceMs):
// the origin's timer on the branch runs out only when the target says nothing, and the target's
// `100 Queued` refreshes restart it although the origin absorbs the target's 18x. Here the test
// is the site agent on the evapi link, a UDP socket is the caller, and another is the peer site.
//   - target side: a suspended INVITE takes `100 Queued` refreshes (the site agent's
//     progressReply) for longer than Kamailio's wait timer, and its transaction is still there to
//     be answered after them (a provisional sent from the wrong route would have released it);
//   - origin side: a peer that answered 100 and 182 and then goes silent is taken back (408,
//     requeued) once the branch's limit passes; one that keeps sending 100s is waited for past
//     that limit, until its own final answer.
import { createSocket, type Socket } from 'node:dgram';
import type { KamailioInstance } from '@ccfed/services';
import type { EvapiLink } from '@ccfed/site-agent/kamailio/evapi-link';
import {
  progressReply,
  queuedReply,
  type KamailioEvent,
} from '@ccfed/site-agent/kamailio/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/engines.js';
import { openEvapiLink, startSiteKamailio } from '../support/site.js';
import { sendSip } from '../support/sip.js';

type Invite = Extract<KamailioEvent, { event: 'invite' }>;
type AgentFailed = Extract<KamailioEvent, { event: 'agent_failed' }>;

/** The branch's limit in these tests: the relay's ringMs (the topology's peerSilenceSeconds). */
const SILENCE_MS = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A peer site's SIP port: answers each INVITE with 100 and 182, then as `then` says. */
async function startPeer(
  then: (reply: (code: number, reason: string, toTag?: boolean) => void) => Promise<void>,
): Promise<{ port: number; invites: number; close(): void }> {
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const state = { invites: 0 };
  sock.on('message', (buf, from) => {
    const text = buf.toString();
    if (!text.startsWith('INVITE ')) return; // ACK and CANCEL: a peer gone silent ignores them
    state.invites += 1;
    const head = text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
    const all = (name: string) => head.filter((l) => l.toLowerCase().startsWith(`${name}:`));
    const reply = (code: number, reason: string, toTag = true) => {
      const to = all('to')[0]! + (toTag ? ';tag=peer-1' : '');
      const msg = [
        `SIP/2.0 ${code} ${reason}`,
        ...all('via'),
        ...all('from'),
        to,
        ...all('call-id'),
        ...all('cseq'),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      sock.send(msg, from.port, from.address);
    };
    reply(100, 'Trying', false);
    reply(182, 'Queued');
    void then(reply);
  });
  return {
    port: sock.address().port,
    get invites() {
      return state.invites;
    },
    close: () => sock.close(),
  };
}

describe.concurrent('an overflowed INVITE between two sites’ Kamailios', () => {
  let kam: KamailioInstance;
  let link: EvapiLink;
  const events: KamailioEvent[] = [];
  /** What the test, as the site agent, does with each call's INVITE (the tests run side by side). */
  const onInvite = new Map<string, (ev: Invite) => void>();

  beforeAll(async () => {
    kam = await startSiteKamailio();
    link = await openEvapiLink(kam, (ev) => {
      events.push(ev);
      if (ev.event === 'invite') onInvite.get(ev.callid)?.(ev);
    });
  });

  afterAll(async () => {
    await link?.stop();
    await kam?.stop();
  });

  const failedBranch = (callId: string) =>
    waitFor(
      `the branch of ${callId} failed`,
      async () =>
        events.find((e): e is AgentFailed => e.event === 'agent_failed' && e.callid === callId),
      20_000,
    );

  it('target: a queued call from a peer takes 100 Queued refreshes past the wait timer and is still answered', async () => {
    const callId = 'peer-progress-target@test';
    onInvite.set(callId, (ev) => {
      void (async () => {
        link.send(queuedReply(ev));
        // Seven refreshes a second apart: longer than tm's wait timer (5 s), which a released
        // transaction would not outlive.
        for (let i = 0; i < 7; i++) {
          await sleep(1_000);
          link.send(progressReply(ev));
        }
        link.send({
          action: 'reply',
          tindex: ev.tindex,
          tlabel: ev.tlabel,
          code: 486,
          reason: 'Busy Here',
        });
      })();
    });
    const replies = await sendSip(kam.sip, 'INVITE', { user: '400200100', callId, waitMs: 15_000 });
    expect(replies.map((r) => `${r.status} ${r.reason}`)).toEqual([
      '100 trying -- your call is important to us',
      '182 Queued',
      ...Array.from({ length: 7 }, () => '100 Queued'),
      '486 Busy Here',
    ]);
    expect(events.filter((e) => e.event === 'cmd_failed')).toEqual([]);
  }, 30_000);

  /** Overflows a call to the peer at `peerPort`; the caller listens for `listenMs` (it hears no
   * final answer: the branch's failure puts the call back in the queue). */
  const overflow = async (callId: string, peerPort: number, listenMs: number) => {
    const sent = Date.now();
    onInvite.set(callId, (ev) => {
      link.send(queuedReply(ev));
      link.send({
        action: 'relay',
        tindex: ev.tindex,
        tlabel: ev.tlabel,
        tsS: ev.tsS,
        tsU: ev.tsU,
        callid: ev.callid,
        agent: 'overflow:guangzhou',
        uri: `sip:400200100@127.0.0.1:${peerPort}`,
        ringMs: SILENCE_MS,
        peer: 'guangzhou',
      });
    });
    const caller = sendSip(kam.sip, 'INVITE', { user: '400200100', callId, waitMs: listenMs });
    const failed = await failedBranch(callId);
    const afterMs = Date.now() - sent;
    await caller;
    return { failed, afterMs };
  };

  it('origin: a peer that went silent after 100 and 182 is taken back once the branch’s limit passes', async () => {
    const peer = await startPeer(async () => {});
    try {
      const { failed, afterMs } = await overflow(
        'peer-progress-silent@test',
        peer.port,
        SILENCE_MS + 2_500,
      );
      expect(failed).toMatchObject({ agent: 'overflow:guangzhou', code: 408, requeued: true });
      expect(afterMs).toBeGreaterThanOrEqual(SILENCE_MS);
      expect(afterMs).toBeLessThan(SILENCE_MS + 2_000);
      expect(peer.invites).toBe(1);
    } finally {
      peer.close();
    }
  }, 30_000);

  it('origin: a peer that keeps sending 100 Queued is waited for past the limit, until its own answer', async () => {
    const peer = await startPeer(async (reply) => {
      for (let i = 0; i < 6; i++) {
        await sleep(1_000);
        reply(100, 'Queued', false);
      }
      reply(486, 'Busy Here');
    });
    try {
      const { failed, afterMs } = await overflow('peer-progress-alive@test', peer.port, 7_500);
      expect(failed).toMatchObject({ agent: 'overflow:guangzhou', code: 486 });
      expect(afterMs).toBeGreaterThanOrEqual(6_000);
    } finally {
      peer.close();
    }
  }, 30_000);
});
