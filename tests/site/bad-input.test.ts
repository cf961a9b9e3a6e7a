// What a running site does with bad input: X-CC-* headers that are malformed, oversized or name
// an unknown skill from a trusted IVR (the call is still served, with safe defaults, and the
// problem logged), a number the federation does not serve, and agent requests the state machine
// refuses. What untrusted sources and bad signatures get is in tests/security/.
import { readFileSync } from 'node:fs';
import { AgentState, CallEvent, CustomerTier } from '@ccfed/proto';
import { Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readTopics } from '../support/engines.js';
import { startSite, TEST_FEDERATION_KEY, type RunningSite } from '../support/running-site.js';
import { sendSip, signedContext } from '../support/sip.js';

describe('bad input at a running site', () => {
  let site: RunningSite;

  /** The IVR in front of Beijing, and Shanghai on a plain link: their X-CC-* headers count. */
  let ivr: number;
  let shanghai: number;

  beforeAll(async () => {
    site = await startSite({
      mutate: (doc) => {
        ivr = doc.sites[0].evapi.port; // a port the test knows is free for UDP: Shanghai's evapi
        shanghai = doc.sites[0].sip.port;
        doc.sites[1].trustedSources = [`127.0.0.1:${ivr}`];
        doc.peerLinks = doc.peerLinks.filter(
          (l: { sites: string[] }) =>
            !(l.sites.includes('shanghai') && l.sites.includes('beijing')),
        );
      },
    });
  });

  afterAll(async () => {
    await site?.stop();
  });

  async function offeredEvents(count: number): Promise<CallEvent[]> {
    const offered = (e: CallEvent) => e.kind?.$case === 'offered';
    const all = await readTopics({
      topics: [site.topics.callEvents],
      decode: (b) => CallEvent.decode(b),
      until: (seen) => seen.filter(offered).length >= count,
    });
    return all.filter(offered);
  }

  it('serves a call whose X-CC-* headers are malformed, oversized or unknown, with defaults, and logs each problem', async () => {
    const replies = await sendSip(site.kamailio.sip, 'INVITE', {
      user: '400200200',
      headers: {
        'X-CC-Skill': 'fraud',
        'X-CC-Tier': 'v'.repeat(300),
        'X-CC-Customer': 'cust 7; DROP TABLE',
      },
      localPort: ivr,
      waitMs: 1500,
    });
    // Nobody is logged in: the call is queued, not refused.
    expect(replies.map((r) => r.status)).toContain(182);
    const [offered] = await offeredEvents(1);
    expect(offered!.kind).toMatchObject({
      $case: 'offered',
      value: {
        dialedNumber: '400200200',
        skill: 'support',
        requestedSkill: 'fraud',
        tier: CustomerTier.CUSTOMER_TIER_STANDARD,
        customerId: '',
      },
    });
    const log = readFileSync(site.agentProcess.logFile, 'utf8');
    const problems = log
      .split('\n')
      .filter((l) => l.includes('"event":"call_context_problem"'))
      .map((l) => JSON.parse(l).msg as string);
    expect(problems).toEqual(
      expect.arrayContaining([
        'X-CC-Tier dropped: 300 characters, over the 128 limit',
        'unknown skill "fraud": using the default skill support',
        'X-CC-Customer dropped: expected 1-64 letters, digits, . _ : -',
      ]),
    );
  });

  it('refuses with 486 a call another site sends when it cannot serve it in time, and takes one with a malformed arrival time at now', async () => {
    /** An INVITE from Shanghai's SIP port, its context signed as Shanghai's site agent would. */
    const fromShanghai = (headers: Record<string, string>, waitMs = 3000) => {
      const callId = `${randomBytes(8).toString('hex')}@shanghai`;
      return sendSip(site.kamailio.sip, 'INVITE', {
        user: '400200100',
        callId,
        headers: signedContext(
          TEST_FEDERATION_KEY,
          { callId, dialedNumber: '400200100' },
          { 'X-CC-Origin-Site': 'shanghai', 'X-CC-Hops': '1', ...headers },
        ),
        localPort: shanghai,
        waitMs,
      });
    };
    // Nobody logged in here: the origin must keep the call.
    const refused = await fromShanghai({});
    expect(refused.at(-1)?.status).toBe(486);

    await site.control.login({ agentId: 'bj-004', contactUri: 'sip:bj-004@127.0.0.1:5998' });
    await site.control.setReady({ agentId: 'bj-004' });
    const taken = await fromShanghai({ 'X-CC-Arrival': 'yesterday' }, 1000);
    // Relayed to bj-004's (absent) phone: no refusal from the site.
    expect(taken.map((r) => r.status).filter((s) => s >= 400)).toEqual([]);
    const log = readFileSync(site.agentProcess.logFile, 'utf8');
    expect(log).toContain('"event":"overflow_refused"');
    expect(log).toContain(
      'X-CC-Arrival \\"yesterday\\" is not a plausible arrival time: using now',
    );
  });

  it('refuses a number the federation does not serve with 404', async () => {
    const replies = await sendSip(site.kamailio.sip, 'INVITE', { user: '999000' });
    expect(replies.at(-1)?.status).toBe(404);
  });

  it('refuses an illegal agent transition with FAILED_PRECONDITION and the reason, changing nothing', async () => {
    const err = await site.control.setReady({ agentId: 'bj-003' }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: Status.FAILED_PRECONDITION,
      details: 'agent bj-003: cannot ready while logged-out: log in first',
    });
    const unknown = await site.control
      .login({ agentId: 'sh-001', contactUri: 'sip:sh-001@127.0.0.1:5000' })
      .catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: Status.NOT_FOUND });
    const badUri = await site.control
      .login({ agentId: 'bj-003', contactUri: 'http://127.0.0.1/' })
      .catch((e: unknown) => e);
    expect(badUri).toMatchObject({ code: Status.INVALID_ARGUMENT });
    const { agents } = await site.control.listAgents({});
    expect(agents.find((a) => a.agentId === 'bj-003')?.state).toBe(
      AgentState.AGENT_STATE_LOGGED_OUT,
    );
  });
});
