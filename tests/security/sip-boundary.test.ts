// The SIP boundary of a site, tried as an attacker on the same network would, against real
// Kamailio, the site agent process, Kafka and sipp (docs/security.md, "SIP"). Beijing runs; its
// peers Shanghai (a plain link: trusted by address) and Guangzhou (a TLS link: trusted by its
// site certificate) are played by the test, which holds the federation key and their
// certificates. Every attempt must hold, with a clear SIP answer or an event an operator can see:
//   - forged X-CC-* from anyone else: served as a standard call arriving now;
//   - a bad, stale or replayed signature from a peer: 403 and a context_rejected event;
//   - TLS without a peer site's certificate: refused;
//   - an in-dialog request for a dialog the proxy never set up: refused, not relayed;
//   - an INVITE flood from one address: banned, while other callers are answered;
//   - an INVITE the site agent cannot read: 400 at once;
//   - a tenant's number at a site its policy excludes: 403;
//   - a caller's tier and customer come from the customer directory, by their number.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CallEvent, CustomerTier } from '@ccfed/proto';
import {
  agentPhone,
  callerCalls,
  callerNumbers,
  freePort,
  queuedCallers,
  readSippLog,
  udpPortFree,
  type LoggedSippRun,
} from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readTopics, uniqueName, waitFor } from '../support/engines.js';
import { startSite, TEST_FEDERATION_KEY, type RunningSite } from '../support/running-site.js';
import { certFor } from '../support/security.js';
import { sendSip, sendSipTls, signedContext, sipRequest } from '../support/sip.js';

const SALES = '400200100'; // acme-bank: agents answer on a sipp phone
const SUPPORT = '400200200'; // acme-bank: nobody staffed, queue capped at 10
const COMPLAINTS = '400200300'; // acme-bank: one agent, whose "phone" is this test
const ZENITH = '400200400'; // zenith-telecom: excluded from Beijing by the routing policy
const SUPPORT_QUEUE_CAP = 10;
const DIRECTORY_CALLERS = '8613855';
const OTHER_CALLERS = '8613866';

describe('the SIP boundary of a running site', () => {
  let site: RunningSite;
  let shanghaiPort: number;
  let guangzhouUdpPort: number;
  let guangzhouTls: { host: string; port: number };
  const phones: LoggedSippRun[] = [];
  /** bj-002's phone: a socket that records the INVITEs Kamailio relays to it, and never answers. */
  let complaintsPhone: Socket;
  const relayedToPhone: string[] = [];
  const logDir = join(inject('runDir'), uniqueName('sip-boundary'));
  const kamailioLog = () =>
    readFileSync(join(site.kamailio.configFile, '..', 'kamailio.log'), 'utf8');

  /** Call events of `callId` on Kafka once `until` holds for them. */
  async function eventsOf(
    callId: string,
    until: (events: readonly CallEvent[]) => boolean,
  ): Promise<CallEvent[]> {
    const all = await readTopics({
      topics: [site.topics.callEvents],
      decode: (b) => CallEvent.decode(b),
      until: (seen) => until(seen.filter((e) => e.callId === callId)),
    });
    return all.filter((e) => e.callId === callId);
  }
  const kinds = (events: readonly CallEvent[]) => events.map((e) => e.kind?.$case);
  const newCallId = (what: string) => `${what}-${randomBytes(6).toString('hex')}@test`;

  /** An INVITE from Shanghai's SIP port (a plain peer link), context signed with `key`. */
  const fromShanghai = (
    callId: string,
    number: string,
    opts: { key?: string; signedAtMs?: number } = {},
  ) =>
    sendSip(site.kamailio.sip, 'INVITE', {
      user: number,
      callId,
      localPort: shanghaiPort,
      headers: signedContext(
        opts.key ?? TEST_FEDERATION_KEY,
        { callId, dialedNumber: number },
        {
          'X-CC-Origin-Site': 'shanghai',
          'X-CC-Skill': 'support',
          'X-CC-Tier': 'gold',
          'X-CC-Arrival': String(Date.now() - 20_000),
          'X-CC-Hops': '1',
        },
        opts.signedAtMs,
      ),
    });

  beforeAll(async () => {
    mkdirSync(logDir, { recursive: true });
    site = await startSite({
      directory: callerNumbers(DIRECTORY_CALLERS, 2).map((number, i) => ({
        tenant: 'acme-bank',
        number,
        customerId: `crm-${i + 1}`,
        tier: CustomerTier.CUSTOMER_TIER_VIP,
      })),
      mutate: (doc) => {
        const [shanghai, beijing, guangzhou] = doc.sites;
        shanghaiPort = shanghai.sip.port;
        guangzhouUdpPort = guangzhou.sip.port;
        guangzhouTls = { host: '127.0.0.1', port: beijing.sip.tlsPort };
        // Shanghai and Beijing speak plain SIP; Beijing and Guangzhou TLS (as in the example).
        doc.peerLinks = [{ sites: ['beijing', 'guangzhou'], transport: 'tls' }];
        doc.routing.tenantRestrictions = [
          { tenant: 'zenith-telecom', excludedSites: ['beijing', 'guangzhou'] },
        ];
        doc.skills.find((s: { id: string }) => s.id === 'support').queueLimit = {
          maxQueued: SUPPORT_QUEUE_CAP,
          retryAfterSeconds: 20,
        };
        beijing.agents = [
          { id: 'bj-001', name: 'A', tenant: 'acme-bank', skills: { sales: 8 } },
          { id: 'bj-004', name: 'B', tenant: 'acme-bank', skills: { sales: 6 } },
          { id: 'bj-002', name: 'C', tenant: 'acme-bank', skills: { complaints: 9 } },
        ];
      },
    });
    const phonePort = await freePort();
    phones.push(
      agentPhone({
        port: phonePort,
        ringMs: 100,
        talkMeanMs: 500,
        logFile: join(logDir, 'phone.log'),
        timeout: '600s',
      }),
    );
    await waitFor('phone listening', async () =>
      (await udpPortFree(phonePort)) ? undefined : true,
    );
    for (const agentId of ['bj-001', 'bj-004']) {
      await site.control.login({ agentId, contactUri: `sip:${agentId}@127.0.0.1:${phonePort}` });
      await site.control.setReady({ agentId });
    }
    complaintsPhone = createSocket('udp4');
    await new Promise<void>((r) => complaintsPhone.bind(0, '127.0.0.1', r));
    complaintsPhone.on('message', (m) => {
      if (m.toString().startsWith('INVITE ')) relayedToPhone.push(m.toString());
    });
    await site.control.login({
      agentId: 'bj-002',
      contactUri: `sip:bj-002@127.0.0.1:${complaintsPhone.address().port}`,
    });
    await site.control.setReady({ agentId: 'bj-002' });
  }, 120_000);

  afterAll(async () => {
    for (const p of phones) await p.stop();
    complaintsPhone?.close();
    await site?.stop();
  });

  // Once in three full-suite runs this case hung until vitest's 120 s limit (never alone, never
  // in the other runs; each try uses new Call-IDs): a second try, with a shorter limit, while the
  // hang is not understood.
  it(
    'serves forged X-CC-* from an unlisted source, or from a TLS peer’s UDP address, as a standard call arriving now',
    { retry: 1, timeout: 60_000 },
    async () => {
      const forged = {
        'X-CC-Tier': 'vip',
        'X-CC-Customer': 'cust-forged',
        'X-CC-Arrival': String(Date.now() - 3_600_000),
        'X-CC-Origin-Site': 'shanghai',
        'X-CC-Hops': '1',
        'X-CC-Decision': 'd-forged',
      };
      for (const localPort of [undefined, guangzhouUdpPort]) {
        const callId = newCallId('forged');
        const sentAt = Date.now();
        const replies = await sendSip(site.kamailio.sip, 'INVITE', {
          user: SUPPORT,
          callId,
          headers: forged,
          waitMs: 1500,
          ...(localPort ? { localPort } : {}),
        });
        expect(replies.map((r) => r.status)).toContain(182); // queued, not refused
        const events = await eventsOf(callId, (e) => kinds(e).includes('queued'));
        expect(kinds(events)).toEqual(['offered', 'queued']); // no overflowedIn
        const offered = events[0]!;
        expect(offered.tier).toBe(CustomerTier.CUSTOMER_TIER_STANDARD);
        expect(offered.customerId).toBe('');
        expect(offered.arrivalTime!.getTime()).toBeGreaterThanOrEqual(sentAt - 1000);
        expect(offered.arrivalTime!.getTime()).toBeLessThanOrEqual(Date.now());
      }
    },
  );

  it('refuses (403) a peer’s INVITE with a bad or a stale signature, and records why', async () => {
    const bad = newCallId('bad-signature');
    const badReplies = await fromShanghai(bad, SUPPORT, {
      key: 'not-the-federation-key-but-just-as-long-0123',
    });
    expect(badReplies.at(-1)?.status).toBe(403);
    const stale = newCallId('stale-signature');
    const staleReplies = await fromShanghai(stale, SUPPORT, { signedAtMs: Date.now() - 60_000 });
    expect(staleReplies.at(-1)?.status).toBe(403);
    for (const [callId, reason] of [
      [bad, 'bad signature'],
      [stale, 'stale signature'],
    ] as const) {
      const events = await eventsOf(callId, (e) => e.length > 0);
      expect(events).toHaveLength(1);
      expect(events[0]!.meta?.siteId).toBe('beijing');
      expect(events[0]!.kind).toEqual({
        $case: 'contextRejected',
        value: { peerSiteId: 'shanghai', sipCode: 403, reason },
      });
    }
  });

  it('refuses (403) a replayed signature: the same signed INVITE sent a second time', async () => {
    const callId = newCallId('replayed');
    const headers = signedContext(
      TEST_FEDERATION_KEY,
      { callId, dialedNumber: SUPPORT },
      { 'X-CC-Origin-Site': 'shanghai', 'X-CC-Tier': 'vip', 'X-CC-Hops': '1' },
    );
    const send = () =>
      sendSip(site.kamailio.sip, 'INVITE', {
        user: SUPPORT,
        callId,
        headers,
        localPort: shanghaiPort,
      });
    // The first passes the boundary; nobody is staffed for support, so the site cannot serve it.
    expect((await send()).at(-1)?.status).toBe(486);
    expect((await send()).at(-1)?.status).toBe(403);
    const events = await eventsOf(callId, (e) => e.length > 0);
    expect(events.map((e) => e.kind)).toEqual([
      {
        $case: 'contextRejected',
        value: { peerSiteId: 'shanghai', sipCode: 403, reason: 'replayed signature' },
      },
    ]);
  });

  it('takes an overflow over TLS from the peer site’s certificate, and refuses TLS from any other', async () => {
    const callId = newCallId('tls-overflow');
    const arrival = Date.now() - 15_000;
    const replies = await sendSipTls(guangzhouTls, 'INVITE', {
      user: COMPLAINTS,
      callId,
      headers: signedContext(
        TEST_FEDERATION_KEY,
        { callId, dialedNumber: COMPLAINTS },
        {
          'X-CC-Origin-Site': 'guangzhou',
          'X-CC-Skill': 'complaints',
          'X-CC-Tier': 'gold',
          'X-CC-Arrival': String(arrival),
          'X-CC-Hops': '1',
          'X-CC-Decision': 'd-tls',
        },
      ),
      tls: await certFor({ kind: 'site', site: 'guangzhou' }),
      waitMs: 1500,
    });
    // Past the boundary: ringing bj-002, who never answers.
    expect(replies.length).toBeGreaterThan(0);
    expect(replies.every((r) => r.status < 200)).toBe(true);
    await waitFor('the call relayed to bj-002', async () =>
      relayedToPhone.some((m) => m.includes(callId)) ? true : undefined,
    );
    const events = await eventsOf(callId, (e) => kinds(e).includes('overflowedIn'));
    expect(events[0]).toMatchObject({ tier: CustomerTier.CUSTOMER_TIER_GOLD });
    expect(events[0]!.arrivalTime!.getTime()).toBe(arrival);
    expect(events.find((e) => e.kind?.$case === 'overflowedIn')!.kind).toMatchObject({
      value: { originSiteId: 'guangzhou', hopCount: 1, decisionId: 'd-tls' },
    });

    // A certificate from the federation CA that names no peer site (an operator's, or a site
    // Beijing has no TLS link with): 403.
    for (const principal of [
      { kind: 'operator', name: 'mallory' },
      { kind: 'site', site: 'shanghai' },
    ] as const) {
      const other = await sendSipTls(guangzhouTls, 'INVITE', {
        user: COMPLAINTS,
        tls: await certFor(principal),
      });
      expect(other.at(-1)).toMatchObject({ status: 403, reason: 'Not A Peer Site' });
    }
    // No client certificate: the handshake fails, nothing is answered.
    const anonymous = await sendSipTls(guangzhouTls, 'INVITE', {
      user: COMPLAINTS,
      tls: { ca: (await certFor({ kind: 'site', site: 'guangzhou' })).ca },
    }).catch(() => []);
    expect(anonymous).toEqual([]);
  });

  it('refuses an in-dialog request for a dialog it never set up (481), and relays nothing', async () => {
    const victim = createSocket('udp4');
    await new Promise<void>((r) => victim.bind(0, '127.0.0.1', r));
    const received: string[] = [];
    victim.on('message', (m) => received.push(m.toString()));
    try {
      const kam = site.kamailio.sip;
      const raw =
        `BYE sip:victim@127.0.0.1:${victim.address().port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP {local};branch=z9hG4bK${randomBytes(6).toString('hex')};rport\r\n` +
        `Route: <sip:${kam.host}:${kam.port};lr>\r\n` +
        `Max-Forwards: 70\r\n` +
        `From: <sip:attacker@127.0.0.1>;tag=a1\r\n` +
        `To: <sip:victim@127.0.0.1>;tag=forged-dialog\r\n` +
        `Call-ID: ${newCallId('in-dialog')}\r\n` +
        `CSeq: 2 BYE\r\n` +
        `Content-Length: 0\r\n\r\n`;
      const replies = await sendSip(kam, 'BYE', { raw });
      expect(replies.at(-1)?.status).toBe(481);
      // Give a relayed request time to arrive: none must.
      await new Promise((r) => setTimeout(r, 1000));
      expect(received).toEqual([]);
    } finally {
      victim.close();
    }
  });

  it('bans an address flooding INVITEs while other callers are still answered', async () => {
    const FLOOD = 600;
    const callers = queuedCallers({
      proxy: site.kamailio.sip,
      service: SALES,
      callerPrefix: OTHER_CALLERS,
      patienceMs: 120_000,
      calls: 10,
      rate: 2,
      port: await freePort(),
      logFile: join(logDir, 'callers-during-flood.log'),
      timeout: '120s',
    });
    // The flood: INVITEs as fast as one socket sends them, from another loopback address.
    const flooder = createSocket('udp4');
    await new Promise<void>((r) => flooder.bind(0, '127.0.0.2', r));
    const answered = new Set<string>();
    flooder.on('message', (m) => {
      const id = /^Call-ID:\s*(.+)$/im.exec(m.toString())?.[1]?.trim();
      if (id) answered.add(id);
    });
    const local = { address: '127.0.0.2', port: flooder.address().port };
    const ids = Array.from(
      { length: FLOOD },
      (_, i) => `flood-${i}-${randomBytes(4).toString('hex')}`,
    );
    for (const callId of ids) {
      const msg = sipRequest(site.kamailio.sip, 'INVITE', { user: SUPPORT, callId, local });
      await new Promise<void>((r) =>
        flooder.send(msg, site.kamailio.sip.port, '127.0.0.1', () => r()),
      );
    }
    const { code, output } = await callers.exited;
    expect(code, output.slice(-1500)).toBe(0);
    // Still banned after the flood: its next INVITE is not answered at all.
    const after = await sendSip(site.kamailio.sip, 'INVITE', {
      user: SUPPORT,
      localAddress: '127.0.0.2',
      waitMs: 1500,
    });
    flooder.close();
    const legit = callerCalls(readSippLog(callers));
    const legitAnswered = legit.filter((c) => c.outcome === 'answered').length;
    const floodAnswered = ids.filter((id) => answered.has(id)).length;
    console.log(
      `INVITE flood from 127.0.0.2: ${FLOOD} sent, ${floodAnswered} answered before the ban, ` +
        `${FLOOD - floodAnswered} dropped; other callers meanwhile: ${legitAnswered} of ${legit.length} answered`,
    );
    expect(floodAnswered).toBeGreaterThan(0);
    expect(FLOOD - floodAnswered).toBeGreaterThan(FLOOD / 2);
    expect(after).toEqual([]);
    expect(legit).toHaveLength(10);
    expect(legitAnswered).toBe(10);
    expect(kamailioLog()).toContain('INVITE flood from 127.0.0.2');
  }, 180_000);

  it('answers an INVITE the site agent cannot read with 400 at once, instead of queueing it', async () => {
    const started = Date.now();
    const replies = await sendSip(site.kamailio.sip, 'INVITE', {
      user: SUPPORT,
      fromUser: '9'.repeat(300),
      waitMs: 5000,
    });
    expect(replies.at(-1)).toMatchObject({ status: 400, reason: 'Bad Request' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses (403) a tenant’s number at a site the routing policy excludes it from', async () => {
    const replies = await sendSip(site.kamailio.sip, 'INVITE', { user: ZENITH });
    expect(replies.at(-1)).toMatchObject({ status: 403, reason: 'Tenant Not Served Here' });
  });

  it('caps a skill’s queue: beyond it, 503 with Retry-After', async () => {
    // The support queue holds the forged calls and the flood's first INVITEs by now.
    const replies = await sendSip(site.kamailio.sip, 'INVITE', { user: SUPPORT });
    expect(replies.at(-1)).toMatchObject({ status: 503, reason: 'Queue Full' });
    expect(replies.at(-1)?.headers['retry-after']).toBe('20');
  });

  it('identifies a caller by their number in the customer directory: tier and customer from the CRM', async () => {
    const run = queuedCallers({
      proxy: site.kamailio.sip,
      service: SALES,
      callerPrefix: DIRECTORY_CALLERS,
      patienceMs: 60_000,
      calls: 2,
      rate: 2,
      port: await freePort(),
      logFile: join(logDir, 'directory-callers.log'),
      timeout: '60s',
    });
    const { code, output } = await run.exited;
    expect(code, output.slice(-1500)).toBe(0);
    for (const [i, call] of callerCalls(readSippLog(run)).entries()) {
      expect(call.outcome).toBe('answered');
      const [offered] = await eventsOf(call.callId, (e) => kinds(e).includes('offered'));
      expect(offered).toMatchObject({
        tier: CustomerTier.CUSTOMER_TIER_VIP,
        customerId: `crm-${i + 1}`,
      });
    }
  });

  it('never writes a caller’s number to Kamailio’s log', () => {
    const log = kamailioLog();
    for (const number of [
      ...callerNumbers(DIRECTORY_CALLERS, 2),
      ...callerNumbers(OTHER_CALLERS, 10),
      '9'.repeat(300),
    ])
      expect(log).not.toContain(number);
  });
});
