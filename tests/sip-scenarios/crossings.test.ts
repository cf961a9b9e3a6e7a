// The caller and agent-phone scenarios against a scripted SIP hop, for the orderings a real
// proxy produces only by chance: the caller's CANCEL crossing the agent's 200 or a refusal, and
// both ends hanging up at once. Each must still end cleanly (sipp exit 0, so sipp counts no
// failed call) with the right per-call record. And the campaign customer's answers to the
// re-INVITEs of its dialog, header by header.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, udpPortFree } from '@ccfed/services';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitFor } from '../support/engines.js';
import {
  agentPhone,
  agentPhoneCalls,
  callerCalls,
  campaignCustomers,
  parseSippLog,
  queuedCallers,
  readSippLog,
  type LoggedSippRun,
} from '@ccfed/services';
import { header, newTag, responseTo, SDP, SipPeer, type SipMessage } from './sip-peer.js';

const SERVICE = '400200100';

describe('sipp scenarios when messages cross', () => {
  let peer: SipPeer;
  let run: LoggedSippRun | undefined;

  afterEach(async () => {
    await run?.stop();
    run = undefined;
    peer?.close();
  });

  function logFile(name: string): string {
    const dir = join(inject('runDir'), uniqueName('sipp'));
    mkdirSync(dir, { recursive: true });
    return join(dir, `${name}.log`);
  }

  async function endsCleanly(): Promise<void> {
    const result = await run!.exited;
    expect(result.code, result.output.slice(-1500)).toBe(0);
  }

  /** A request from the peer's side of the dialog that `ok` (the callee's 200) set up. */
  function towardsCallee(
    ok: SipMessage,
    method: string,
    cseq: number,
    via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-${newTag()}`,
  ): string {
    const to = header(ok, 'To')!;
    return [
      `${method} sip:bj-001@127.0.0.1:${ok.from.port} SIP/2.0`,
      `Via: ${via}`,
      `From: ${header(ok, 'From')}`,
      `To: ${method === 'CANCEL' ? to.replace(/;tag=.*$/, '') : to}`,
      `Call-ID: ${header(ok, 'Call-ID')}`,
      `CSeq: ${cseq} ${method}`,
      'Max-Forwards: 69',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }

  describe('the caller (caller-queue.xml)', () => {
    /** One caller with a short patience, dialing the peer, told it is queued; until its CANCEL. */
    async function callerWhoGivesUp(): Promise<{
      invite: SipMessage;
      cancel: SipMessage;
      tag: string;
    }> {
      peer = await SipPeer.open();
      run = queuedCallers({
        proxy: { host: '127.0.0.1', port: peer.port },
        service: SERVICE,
        callerPrefix: '86139000',
        patienceMs: 300,
        calls: 1,
        port: await freePort(),
        logFile: logFile('caller'),
      });
      const invite = await peer.request('INVITE');
      const tag = newTag();
      peer.send(responseTo(invite, 100, 'Trying'), invite.from);
      peer.send(responseTo(invite, 182, 'Queued', { toTag: tag }), invite.from);
      const cancel = await peer.request('CANCEL');
      return { invite, cancel, tag };
    }

    /** A proxy answers a CANCEL itself, with its own To tag (Kamailio does). */
    const proxyTag = 'proxy-tag';

    function answer(invite: SipMessage, tag: string): string {
      return responseTo(invite, 200, 'OK', {
        toTag: tag,
        headers: [
          `Record-Route: <sip:127.0.0.1:${peer.port};lr;ftag=x>`,
          `Contact: <sip:agent@127.0.0.1:${peer.port}>`,
          'Content-Type: application/sdp',
        ],
        body: SDP,
      });
    }

    it("sends a CANCEL that matches its INVITE (RFC 3261 9.1), ACKs the 200 that came after the CANCEL's 200, and hangs up", async () => {
      const { invite, cancel, tag } = await callerWhoGivesUp();
      expect(cancel.uri).toBe(invite.uri);
      for (const h of ['Via', 'From', 'To', 'Call-ID'])
        expect(header(cancel, h), h).toBe(header(invite, h));
      expect(header(cancel, 'CSeq')).toBe('1 CANCEL');

      peer.send(responseTo(cancel, 200, 'canceling', { toTag: proxyTag }), cancel.from);
      peer.send(answer(invite, tag), invite.from);

      const ack = await peer.request('ACK');
      expect(ack.uri).toBe(`sip:agent@127.0.0.1:${peer.port}`);
      expect(header(ack, 'To')).toContain(`tag=${tag}`);
      expect(header(ack, 'Route')).toBe(`<sip:127.0.0.1:${peer.port};lr;ftag=x>`);
      const bye = await peer.request('BYE');
      expect(header(bye, 'Route')).toBe(`<sip:127.0.0.1:${peer.port};lr;ftag=x>`);
      expect(header(bye, 'To')).toContain(`tag=${tag}`);
      peer.send(responseTo(bye, 200, 'OK'), bye.from);

      await endsCleanly();
      expect(callerCalls(readSippLog(run!))).toMatchObject([
        {
          callId: header(invite, 'Call-ID'),
          outcome: 'answered',
          queued: true,
          answeredLate: true,
          endedBy: 'caller',
          agentPort: peer.port,
        },
      ]);
    });

    it("takes the 200 right before the CANCEL's 200, and answers the agent's BYE that crosses its own", async () => {
      const { invite, cancel, tag } = await callerWhoGivesUp();
      peer.send(answer(invite, tag), invite.from);
      peer.send(responseTo(cancel, 200, 'canceling', { toTag: proxyTag }), cancel.from);
      const ack = await peer.request('ACK');
      const callerBye = await peer.request('BYE');
      for (const m of [ack, callerBye]) expect(header(m, 'To')).toContain(`tag=${tag}`);

      // the agent hangs up at the same moment
      const agentBye = [
        `BYE ${/<([^>]+)>/.exec(header(invite, 'Contact')!)![1]} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-${newTag()}`,
        `From: ${header(invite, 'To')};tag=${tag}`,
        `To: ${header(invite, 'From')}`,
        `Call-ID: ${header(invite, 'Call-ID')}`,
        'CSeq: 1 BYE',
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      peer.send(agentBye, invite.from);
      await peer.next(
        '200 for the agent BYE',
        (m) => m.status === 200 && header(m, 'CSeq') === '1 BYE',
      );
      peer.send(responseTo(callerBye, 200, 'OK'), callerBye.from);

      await endsCleanly();
      expect(callerCalls(readSippLog(run!))).toMatchObject([
        { outcome: 'answered', answeredLate: true, endedBy: 'caller' },
      ]);
    });

    it('ACKs a refusal that crossed its CANCEL at once, and counts the call abandoned', async () => {
      // Kamailio does this when the site agent's relay and the CANCEL meet: 500 Relay failed
      const { invite, cancel, tag } = await callerWhoGivesUp();
      peer.send(responseTo(invite, 500, 'Relay failed', { toTag: tag }), invite.from);
      const ack = await peer.request('ACK');
      expect(header(ack, 'Via')).toBe(header(invite, 'Via'));
      expect(header(ack, 'To')).toContain(`tag=${tag}`);
      peer.send(responseTo(cancel, 200, 'canceling', { toTag: proxyTag }), cancel.from);

      await endsCleanly();
      expect(callerCalls(readSippLog(run!))).toMatchObject([{ outcome: 'abandoned', code: 500 }]);
    });
  });

  describe("the agent's phone (agent-phone.xml)", () => {
    /** An agent phone on a free port, rung by the peer; returns the INVITE's top Via. */
    async function callToAgentPhone(talkMeanMs: number): Promise<{ topVia: string }> {
      peer = await SipPeer.open();
      const phone = await freePort();
      run = agentPhone({
        port: phone,
        ringMs: 50,
        talkMeanMs,
        calls: 1,
        logFile: logFile('agent'),
      });
      await waitFor('the agent phone listening', async () =>
        (await udpPortFree(phone)) ? undefined : true,
      );
      const p = peer.port;
      const topVia = `SIP/2.0/UDP 127.0.0.1:${p};branch=z9hG4bK-invite-${newTag()}`;
      const invite = [
        `INVITE sip:bj-001@127.0.0.1:${phone} SIP/2.0`,
        `Record-Route: <sip:127.0.0.1:${p};lr;r=first>`,
        `Record-Route: <sip:127.0.0.1:${p};lr;r=second>`,
        `Via: ${topVia}`,
        `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-caller-${newTag()}`,
        `From: "Caller" <sip:caller@127.0.0.1:5999>;tag=${newTag()}`,
        `To: <sip:${SERVICE}@127.0.0.1:${p}>`,
        `Call-ID: ${newTag()}@peer`,
        'CSeq: 7 INVITE',
        'Contact: <sip:caller@127.0.0.1:5999>',
        'Max-Forwards: 69',
        'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(SDP)}`,
        '',
        SDP,
      ].join('\r\n');
      peer.send(invite, { address: '127.0.0.1', port: phone });
      return { topVia };
    }

    const routeSet = () =>
      `<sip:127.0.0.1:${peer.port};lr;r=first>, <sip:127.0.0.1:${peer.port};lr;r=second>`;

    it('hangs up an answered call itself: BYE to the caller Contact through the Record-Route set in order', async () => {
      await callToAgentPhone(50);
      const ringing = await peer.response(180, 'INVITE');
      const ok = await peer.response(200, 'INVITE');
      for (const r of [ringing, ok]) {
        const rr = r.headers.filter(([n]) => n === 'Record-Route').map(([, v]) => v);
        expect(rr).toEqual([routeSet()]);
      }
      expect(header(ok, 'Via')).toContain('z9hG4bK-caller-');
      peer.send(towardsCallee(ok, 'ACK', 7), ok.from);

      const bye = await peer.request('BYE');
      expect(bye.uri).toBe('sip:caller@127.0.0.1:5999');
      expect(header(bye, 'Route')).toBe(routeSet());
      expect(header(bye, 'From')).toBe(header(ok, 'To'));
      expect(header(bye, 'To')).toBe(header(ok, 'From'));
      peer.send(responseTo(bye, 200, 'OK'), bye.from);

      await endsCleanly();
      const [call] = agentPhoneCalls(readSippLog(run!));
      expect(call).toMatchObject({
        callId: header(ok, 'Call-ID'),
        outcome: 'hungup',
        lateCancel: false,
      });
      expect(call!.talkMs).toBeGreaterThan(0);
    });

    it("answers the caller's BYE that crosses its own", async () => {
      await callToAgentPhone(50);
      const ok = await peer.response(200, 'INVITE');
      peer.send(towardsCallee(ok, 'ACK', 7), ok.from);
      const agentBye = await peer.request('BYE');
      peer.send(towardsCallee(ok, 'BYE', 8), ok.from);
      await peer.next(
        '200 for the caller BYE',
        (m) => m.status === 200 && header(m, 'CSeq') === '8 BYE',
      );
      peer.send(responseTo(agentBye, 200, 'OK'), agentBye.from);

      await endsCleanly();
      expect(agentPhoneCalls(readSippLog(run!))).toMatchObject([{ outcome: 'hungup' }]);
    });

    it('answers a CANCEL that crossed its 200 with 200, then takes the ACK and the BYE', async () => {
      const { topVia } = await callToAgentPhone(60_000);
      const ok = await peer.response(200, 'INVITE');
      peer.send(towardsCallee(ok, 'CANCEL', 7, topVia), ok.from);
      await peer.response(200, 'CANCEL');
      peer.send(towardsCallee(ok, 'ACK', 7), ok.from);
      peer.send(towardsCallee(ok, 'BYE', 8), ok.from);
      await peer.response(200, 'BYE');

      await endsCleanly();
      expect(agentPhoneCalls(readSippLog(run!))).toMatchObject([
        { outcome: 'caller-hungup', lateCancel: true },
      ]);
    });
  });

  describe("the campaign's customer (customer.xml)", () => {
    const sdp = (port: number) => SDP.replace('m=audio 7000', `m=audio ${port}`);
    const originVersion = (m: SipMessage) => /^o=\S+ \S+ (\d+) /m.exec(m.raw)?.[1];

    it("answers each re-INVITE of its dialog with 200 and an SDP answer at the next origin version, talks again from its ACK, and hangs up through the INVITE's route set", async () => {
      peer = await SipPeer.open();
      const port = await freePort();
      const rtpPort = 41234;
      run = campaignCustomers({
        port,
        busyCalls: 0,
        ringMs: 50,
        talkMs: 600,
        rtpPort,
        calls: 1,
        logFile: logFile('customer'),
      });
      await waitFor('the customers listening', async () =>
        (await udpPortFree(port)) ? undefined : true,
      );
      const p = peer.port;
      const routeSet = `<sip:127.0.0.1:${p};lr;r=first>, <sip:127.0.0.1:${p};lr;r=second>`;
      const dialerContact = `sip:_dialer@127.0.0.1:${p};transport=udp`;
      const from = `<sip:_dialer@beijing.ccfed>;tag=${newTag()}`;
      const callId = `${newTag()}@dialer`;
      const to = (tag?: string) => `<sip:+447700900001@beijing.ccfed>${tag ? `;tag=${tag}` : ''}`;
      const request = (
        method: string,
        uri: string,
        cseq: number,
        toTag: string | undefined,
        extra: { headers?: string[]; body?: string } = {},
      ) =>
        [
          `${method} ${uri} SIP/2.0`,
          ...(extra.headers ?? []),
          `Via: SIP/2.0/UDP 127.0.0.1:${p};branch=z9hG4bK-${newTag()}`,
          `From: ${from}`,
          `To: ${to(toTag)}`,
          `Call-ID: ${callId}`,
          `CSeq: ${cseq} ${method}`,
          `Contact: <${dialerContact}>`,
          'Max-Forwards: 69',
          ...(extra.body ? ['Content-Type: application/sdp'] : []),
          `Content-Length: ${Buffer.byteLength(extra.body ?? '')}`,
          '',
          extra.body ?? '',
        ].join('\r\n');
      const customerAt = { address: '127.0.0.1', port };

      // the dialer's INVITE through the proxy: rtpengine's address for the customer at 30000
      peer.send(
        request('INVITE', `sip:+447700900001@127.0.0.1:${port}`, 1, undefined, {
          headers: [
            `Record-Route: <sip:127.0.0.1:${p};lr;r=first>`,
            `Record-Route: <sip:127.0.0.1:${p};lr;r=second>`,
          ],
          body: sdp(30000),
        }),
        customerAt,
      );
      const ok = await peer.response(200, 'INVITE');
      const tag = /;tag=([^;>\s]+)/.exec(header(ok, 'To')!)![1]!;
      const contact = /<([^>]+)>/.exec(header(ok, 'Contact')!)![1]!;
      expect(originVersion(ok)).toBe('2353687637');
      peer.send(request('ACK', contact, 1, tag), customerAt);

      // bridged to the agent, then the agent's hold: two re-INVITEs, each a new offer
      const reanswers: SipMessage[] = [];
      for (const [cseq, rtp] of [
        [2, 30002],
        [3, 30004],
      ] as const) {
        peer.send(
          request('INVITE', contact, cseq, tag, {
            headers: [`Route: ${routeSet}`, `Record-Route: <sip:127.0.0.1:${p};lr;r=first>`],
            body: sdp(rtp),
          }),
          customerAt,
        );
        const answer = await peer.next(
          `200 for re-INVITE ${cseq}`,
          (m) => m.status === 200 && header(m, 'CSeq') === `${cseq} INVITE`,
        );
        expect(header(answer, 'Call-ID')).toBe(callId);
        expect(header(answer, 'From')).toBe(from);
        expect(header(answer, 'To')).toBe(to(tag));
        expect(header(answer, 'Via')).toContain(`127.0.0.1:${p}`);
        expect(header(answer, 'Record-Route')).toBe(`<sip:127.0.0.1:${p};lr;r=first>`);
        expect(header(answer, 'Content-Type')).toBe('application/sdp');
        expect(answer.raw).toContain(`m=audio ${rtpPort} RTP/AVP 0`);
        reanswers.push(answer);
        peer.send(request('ACK', contact, cseq, tag), customerAt);
      }
      expect(reanswers.map(originVersion)).toEqual(['2353687638', '2353687639']);

      // its own BYE: to the dialer's Contact, through the INVITE's route set (the re-INVITEs'
      // Record-Route changes nothing), in the dialog
      const bye = await peer.request('BYE');
      expect(bye.uri).toBe(dialerContact);
      expect(header(bye, 'Route')).toBe(routeSet);
      expect(header(bye, 'From')).toBe(to(tag));
      expect(header(bye, 'To')).toBe(from);
      peer.send(responseTo(bye, 200, 'OK'), bye.from);

      await endsCleanly();
      const log = parseSippLog(readSippLog(run!)).filter((l) => l.callId === callId);
      expect(log.map((l) => [l.event, l.fields.media])).toEqual([
        ['answered', '127.0.0.1:30000'],
        ['reanswered', '127.0.0.1:30002'],
        ['reanswered', '127.0.0.1:30004'],
        ['hungup', undefined],
      ]);
      // the talk time runs again from the last answer's ACK
      expect(log[3]!.at - log[2]!.at).toBeGreaterThanOrEqual(600);
    });
  });
});
