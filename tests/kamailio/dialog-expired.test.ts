// A call talking across the WAN whose other site stops answering its keepalives, on one real
// Kamailio (issue 20): the origin's side, as at HQ in tests/netns/wan-partition.test.ts, without
// the namespaces. The test is the site agent on the evapi link; sipp's queued callers call in (as
// at HQ), and a loopback SIP socket is the branch site (a plain peer link), which answers each
// overflowed INVITE and then falls silent. Kamailio's keepalive to the branch goes unanswered, the
// dialog expires and Kamailio BYEs both legs: the caller's first, which sipp answers at once.
//
// Kamailio 5.6 runs dialog:end after such an end only if that 200 has not been handled before it
// finishes sending both BYEs (dlg_bye_all): at HQ it often had, and the call's `ended` event,
// its log line and its rtpengine deletion were lost. route[DIALOG_EXPIRED] (the dialog's
// timeout_route, run before the BYEs) must tell every call's end, every time.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  callerCalls,
  freePort,
  queuedCallers,
  readSippLog,
  type KamailioInstance,
} from '@ccfed/services';
import type { EvapiLink } from '@ccfed/site-agent/kamailio/evapi-link';
import { queuedReply, type KamailioEvent } from '@ccfed/site-agent/kamailio/messages';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { newTag, responseTo, SDP, SipPeer, type SipMessage } from '../sip-scenarios/sip-peer.js';
import { uniqueName, waitFor } from '../support/engines.js';
import { openEvapiLink, startSiteKamailio } from '../support/site.js';

/** routing.talkingPeerSilenceSeconds at its floor: a keepalive 30 s after the answer. */
const TALKING_PEER_SILENCE_S = 47;
/** Calls ended about together, each ended by the same expiry. */
const CALLS = 20;
const NUMBER = '400200100';

type Ended = Extract<KamailioEvent, { event: 'ended' }>;

const headersOf = (m: SipMessage, name: string) =>
  m.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
const only = (m: SipMessage, name: string) => headersOf(m, name)[0]!;

describe('a call talking across the WAN, its other site silent: the origin’s Kamailio', () => {
  let kam: KamailioInstance;
  let link: EvapiLink;
  let branch: SipPeer;
  const events: KamailioEvent[] = [];

  beforeAll(async () => {
    branch = await SipPeer.open();
    kam = await startSiteKamailio('beijing', (doc) => {
      doc.routing.talkingPeerSilenceSeconds = TALKING_PEER_SILENCE_S;
      // Guangzhou is the branch socket, on a plain link: its answer is a peer site's (keepalives).
      const gz = doc.sites.find((s: { id: string }) => s.id === 'guangzhou');
      gz.sip.host = '127.0.0.1';
      gz.sip.port = branch.port;
      gz.sip.transport = 'udp';
      for (const l of doc.peerLinks)
        if (l.sites.includes('guangzhou') && l.sites.includes('beijing')) l.transport = 'plain';
    });
    link = await openEvapiLink(kam, (ev) => {
      events.push(ev);
      // As the site agent: every call is overflowed to Guangzhou at once.
      if (ev.event !== 'invite') return;
      link.send(queuedReply(ev));
      link.send({
        action: 'relay',
        tindex: ev.tindex,
        tlabel: ev.tlabel,
        tsS: ev.tsS,
        tsU: ev.tsU,
        callid: ev.callid,
        agent: 'overflow:guangzhou',
        uri: `sip:${NUMBER}@127.0.0.1:${branch.port}`,
        ringMs: 10_000,
        peer: 'guangzhou',
      });
    });
  }, 60_000);

  afterAll(async () => {
    await link?.stop();
    await kam?.stop();
    branch?.close();
  });

  /** The branch: answers each overflowed INVITE with 200, then says nothing more. */
  const answerAsTheBranch = async (calls: number) => {
    const tags = new Map<string, string>();
    while (tags.size < calls) {
      const invite = await branch.next(
        'an overflowed INVITE',
        (m) => m.method === 'INVITE',
        30_000,
      );
      // a retransmission is answered as the first was
      const callId = only(invite, 'Call-ID');
      if (!tags.has(callId)) tags.set(callId, newTag());
      branch.send(
        responseTo(invite, 200, 'OK', {
          toTag: tags.get(callId)!,
          headers: [
            ...headersOf(invite, 'Record-Route').map((v) => `Record-Route: ${v}`),
            `Contact: <sip:guangzhou@127.0.0.1:${branch.port}>`,
            'Content-Type: application/sdp',
          ],
          body: SDP,
        }),
        invite.from,
      );
    }
  };

  it('tells each expired call’s end once, to its site agent and in its log', async () => {
    const run = queuedCallers({
      proxy: kam.sip,
      service: NUMBER,
      callerPrefix: '86139200',
      patienceMs: 120_000,
      calls: CALLS,
      rate: 10,
      port: await freePort(),
      logFile: join(inject('runDir'), `${uniqueName('dialog-expired-callers')}.log`),
      timeout: '100s',
    });
    await answerAsTheBranch(CALLS);
    const { code, output } = await run.exited;
    expect(code, output).toBe(0);
    const calls = callerCalls(readSippLog(run));
    expect(calls).toHaveLength(CALLS);
    // What reached the branch after its answers: ACKs, each call's keepalive, BYEs.
    const keepalives = new Set<string>();
    const byesIntoTheCut = new Set<string>();
    for (;;) {
      const m = await branch
        .next('more', (x) => x.method !== undefined, 1_000)
        .catch(() => undefined);
      if (!m) break;
      if (m.method === 'OPTIONS') keepalives.add(only(m, 'Call-ID'));
      else if (m.method === 'BYE') byesIntoTheCut.add(only(m, 'Call-ID'));
      else expect(['ACK', 'INVITE']).toContain(m.method);
    }
    const ended = (callId: string) =>
      events.filter((e): e is Ended => e.event === 'ended' && e.callid === callId);
    await waitFor(
      'an ended event for every call',
      async () => (calls.every((c) => ended(c.callId).length > 0) ? true : undefined),
      5_000,
    );
    // dialog:end, when Kamailio runs it after route[DIALOG_EXPIRED], sends no second one.
    await new Promise((r) => setTimeout(r, 1_000));
    const log = readFileSync(kam.handle.logFile, 'utf8');
    for (const { callId, outcome, endedBy, answeredAt, endedAt } of calls) {
      // the caller was answered, and hung up on by its site's Kamailio
      expect({ outcome, endedBy }).toEqual({ outcome: 'answered', endedBy: 'agent' });
      expect(keepalives.has(callId), callId).toBe(true);
      expect(ended(callId), callId).toEqual([
        expect.objectContaining({ agent: 'overflow:guangzhou', by: 'peer_silent' }),
      ]);
      expect(log).toContain(
        `call ${callId} ended: the other site (callee side) stopped answering its keepalives`,
      );
      // a keepalive 30 s after the 200 (just before the ACK), 5 s for its answer, the dialog's
      // 10 s; each of the dialog module's timers ticks once a second
      expect(endedAt! - answeredAt!).toBeGreaterThanOrEqual(43_000);
      expect(endedAt! - answeredAt!).toBeLessThanOrEqual(TALKING_PEER_SILENCE_S * 1000);
    }
    const byes = calls.map((c) => c.endedAt! - c.answeredAt!);
    console.info(
      `dialog-expired: ${CALLS} calls; their callers heard BYE ${Math.min(...byes)}-${Math.max(...byes)} ms ` +
        `after the answer; ${byesIntoTheCut.size} BYEs were sent into the cut`,
    );
  }, 120_000);
});
