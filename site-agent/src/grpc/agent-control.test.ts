import { silentLogger, type Principal } from '@ccfed/common';
import { AgentState, CustomerTier, site } from '@ccfed/proto';
import { Status } from 'nice-grpc';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AcdError } from '../acd/acd.js';
import type { SiteStatusProvider } from './site-status.js';
import { startGrpcServer } from './server.js';
import {
  AcdTestDesk,
  channelAs,
  clientFactory,
  failure,
  PHONES,
  SHANGHAI,
  SITE,
  SUPERVISOR,
  T0,
  testSite,
  tlsAs,
} from './test-support.js';

const PHONE = 'sip:sh-001@127.0.0.1:5090';

// AgentControl tests do not ask for status; a provider that says so if they ever do.
const noStatus: SiteStatusProvider = {
  snapshot: () => {
    throw new Error('not used by AgentControl tests');
  },
  evapiConnected: () => false,
  kafkaConnected: () => false,
  bufferedEvents: () => 0,
  drain: () => ({ drained: false, reason: '' }),
  setDrained: () => {
    throw new Error('not used by AgentControl tests');
  },
};

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The test site's AgentControl, called as `principal` (its supervisor unless said otherwise). */
async function serve(desk: AcdTestDesk, log = silentLogger(), principal: Principal = SUPERVISOR) {
  const server = await startGrpcServer({
    host: '127.0.0.1',
    port: 0,
    desk,
    status: noStatus,
    site: SITE,
    phoneNetwork: PHONES,
    sipDomain: 'shanghai.ccfed.invalid',
    tls: await tlsAs(SHANGHAI),
    log,
  });
  cleanup.push(() => server.close());
  /** A client of the server as `who`. */
  const as = async (who: Principal) => {
    const channel = await channelAs(server.port, who);
    cleanup.push(() => channel.close());
    return clientFactory.create(site.AgentControlDefinition, channel);
  };
  return Object.assign(await as(principal), { as });
}

async function started(log = silentLogger()) {
  const s = testSite();
  return { ...s, client: await serve(s.desk, log) };
}

describe('AgentControl', () => {
  it('carries an agent through login, ready, not-ready and logout, as ListAgents sees it', async () => {
    const { clock, client } = await started();
    const states = async () =>
      (await client.listAgents({})).agents.map((a) => [a.agentId, a.state, a.reasonCode]);

    expect(await states()).toEqual([
      ['sh-001', AgentState.AGENT_STATE_LOGGED_OUT, ''],
      ['sh-002', AgentState.AGENT_STATE_LOGGED_OUT, ''],
    ]);

    const login = await client.login({ agentId: 'sh-001', contactUri: PHONE });
    expect(login.agent).toEqual({
      agentId: 'sh-001',
      tenantId: 'acme-bank',
      state: AgentState.AGENT_STATE_NOT_READY,
      reasonCode: 'login',
      callId: '',
      stateSince: new Date(T0),
      skills: [
        { skill: 'sales', proficiency: 8 },
        { skill: 'support', proficiency: 5 },
      ],
    });
    expect(await states()).toEqual([
      ['sh-001', AgentState.AGENT_STATE_NOT_READY, 'login'],
      ['sh-002', AgentState.AGENT_STATE_LOGGED_OUT, ''],
    ]);

    clock.advance(60_000);
    const ready = await client.setReady({ agentId: 'sh-001' });
    expect(ready.agent?.state).toBe(AgentState.AGENT_STATE_READY);
    expect(ready.agent?.stateSince).toEqual(new Date(T0 + 60_000));
    expect(await states()).toContainEqual(['sh-001', AgentState.AGENT_STATE_READY, '']);

    clock.advance(60_000);
    const lunch = await client.setNotReady({ agentId: 'sh-001', reasonCode: 'lunch' });
    expect(lunch.agent).toMatchObject({
      state: AgentState.AGENT_STATE_NOT_READY,
      reasonCode: 'lunch',
      stateSince: new Date(T0 + 120_000),
    });
    expect(await states()).toContainEqual(['sh-001', AgentState.AGENT_STATE_NOT_READY, 'lunch']);

    const logout = await client.logout({ agentId: 'sh-001' });
    expect(logout.agent?.state).toBe(AgentState.AGENT_STATE_LOGGED_OUT);
    const all = (await client.listAgents({})).agents;
    expect(all.map((a) => a.state)).toEqual([
      AgentState.AGENT_STATE_LOGGED_OUT,
      AgentState.AGENT_STATE_LOGGED_OUT,
    ]);
    // Never logged in since start: no timestamp rather than the epoch.
    expect(all[1]?.stateSince).toBeUndefined();
  });

  it('lists only the agents with a skill, and refuses an unknown or malformed skill', async () => {
    const { client } = await started();
    expect((await client.listAgents({ skill: 'sales' })).agents.map((a) => a.agentId)).toEqual([
      'sh-001',
    ]);
    expect((await client.listAgents({ skill: 'support' })).agents.map((a) => a.agentId)).toEqual([
      'sh-001',
      'sh-002',
    ]);
    expect(await failure(client.listAgents({ skill: 'billing' }))).toEqual({
      code: Status.INVALID_ARGUMENT,
      details: 'unknown skill billing at this site',
    });
    expect(await failure(client.listAgents({ skill: 'Sales!' }))).toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringContaining('skill "Sales!" is malformed'),
    });
  });

  it('lists the queues with their calls in service order', async () => {
    const { desk, client } = await started();
    // Nobody is ready: both calls wait, the VIP ahead of the earlier standard caller.
    desk.offer({ callId: 'c-1', tenantId: 'acme-bank', skill: 'support', tier: 1, arrivalMs: T0 });
    desk.offer({ callId: 'c-2', tenantId: 'acme-bank', skill: 'support', tier: 4, arrivalMs: T0 });

    const { queues } = await client.listQueues({});
    expect(queues.map((q) => q.skill)).toEqual(['sales', 'support']);
    expect(queues[0]?.calls).toEqual([]);
    const calls = queues[1]?.calls ?? [];
    expect(calls.map((c) => [c.callId, c.tier])).toEqual([
      ['c-2', CustomerTier.CUSTOMER_TIER_VIP],
      ['c-1', CustomerTier.CUSTOMER_TIER_STANDARD],
    ]);
    expect(calls[0]?.arrivalTime).toEqual(new Date(T0));
    expect(calls[0]?.expectedWaitMs).toBe(desk.acd.expectedWaitOf('c-2'));
  });

  it('refuses a request without agent_id, or with a malformed one, as INVALID_ARGUMENT', async () => {
    const { client } = await started();
    const required = { code: Status.INVALID_ARGUMENT, details: 'agent_id is required' };
    expect(await failure(client.login({ contactUri: PHONE }))).toEqual(required);
    expect(await failure(client.setReady({}))).toEqual(required);
    expect(await failure(client.setNotReady({ reasonCode: 'lunch' }))).toEqual(required);
    expect(await failure(client.logout({}))).toEqual(required);

    expect(await failure(client.setReady({ agentId: 'SH 001' }))).toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringContaining('agent_id "SH 001" is malformed'),
    });
  });

  it('refuses a contact that is not a sip: URI with a host, and changes nothing', async () => {
    const { client } = await started();
    const bad = [
      ['', 'contact_uri is required'],
      ['http://x', 'is not a sip: URI with a host'],
      ['sip:', 'is not a sip: URI with a host'],
      ['sip:sh-001@', 'is not a sip: URI with a host'],
      ['sips:sh-001@127.0.0.1:5061', 'is not a sip: URI with a host'],
      ['sip:sh-001@127.0.0.1:70000', 'is not a sip: URI with a host'],
      ['sip:sh-001@127.0.0.1\r\nX-Evil: 1', 'is not a sip: URI with a host'],
      [`sip:sh-001@${'a'.repeat(260)}.example`, 'at most 256 allowed'],
    ];
    for (const [contactUri, why] of bad) {
      const f = await failure(client.login({ agentId: 'sh-001', contactUri }));
      expect(f.code, contactUri).toBe(Status.INVALID_ARGUMENT);
      expect(f.details, contactUri).toContain(why);
    }
    const [agent] = (await client.listAgents({ skill: 'sales' })).agents;
    expect(agent?.state).toBe(AgentState.AGENT_STATE_LOGGED_OUT);
  });

  it('accepts contacts without a user, with an IPv6 host, a host name and parameters', async () => {
    const { client } = await started();
    for (const contactUri of [
      'sip:127.0.0.1:5090',
      'sip:sh-001@[::1]:5090;transport=udp',
      'sip:sh-001@phone-1.sh.example.com',
    ]) {
      await client.login({ agentId: 'sh-001', contactUri });
      await client.logout({ agentId: 'sh-001' });
    }
  });

  it('answers NOT_FOUND for an agent the site does not have', async () => {
    const { client } = await started();
    expect(await failure(client.login({ agentId: 'sh-999', contactUri: PHONE }))).toEqual({
      code: Status.NOT_FOUND,
      details: 'unknown agent sh-999 at this site',
    });
    expect((await failure(client.setReady({ agentId: 'sh-999' }))).code).toBe(Status.NOT_FOUND);
  });

  it('passes the state machine’s refusals on as FAILED_PRECONDITION', async () => {
    const { desk, client } = await started();
    expect(await failure(client.setReady({ agentId: 'sh-001' }))).toEqual({
      code: Status.FAILED_PRECONDITION,
      details: 'agent sh-001: cannot ready while logged-out: log in first',
    });

    await client.login({ agentId: 'sh-001', contactUri: PHONE });
    expect(await failure(client.login({ agentId: 'sh-001', contactUri: PHONE }))).toEqual({
      code: Status.FAILED_PRECONDITION,
      details: 'agent sh-001: cannot login while not-ready: already logged in',
    });

    await client.setReady({ agentId: 'sh-001' });
    const offered = desk.offer({
      callId: 'c-1',
      tenantId: 'acme-bank',
      skill: 'sales',
      tier: 1,
      arrivalMs: T0,
    });
    expect(offered.kind).toBe('assigned');
    const [reserved] = (await client.listAgents({ skill: 'sales' })).agents;
    expect(reserved).toMatchObject({ state: AgentState.AGENT_STATE_RESERVED, callId: 'c-1' });

    expect(await failure(client.logout({ agentId: 'sh-001' }))).toEqual({
      code: Status.FAILED_PRECONDITION,
      details: 'agent sh-001: cannot logout while reserved: the agent is handling a call',
    });
    desk.acd.answered('c-1');
    expect(await failure(client.logout({ agentId: 'sh-001' }))).toEqual({
      code: Status.FAILED_PRECONDITION,
      details: 'agent sh-001: cannot logout while on-call: the agent is handling a call',
    });
    const [onCall] = (await client.listAgents({ skill: 'sales' })).agents;
    expect(onCall).toMatchObject({ state: AgentState.AGENT_STATE_ON_CALL, callId: 'c-1' });
  });

  it('refuses a malformed reason code as INVALID_ARGUMENT, whatever the agent’s state', async () => {
    const { client } = await started();
    const bad = ['', 'Lunch Break', 'x'.repeat(33)];
    // Logged out, then logged in: the answer is the same, since no state would make it valid.
    for (const loggedIn of [false, true]) {
      if (loggedIn) await client.login({ agentId: 'sh-001', contactUri: PHONE });
      for (const reasonCode of bad) {
        const f = await failure(client.setNotReady({ agentId: 'sh-001', reasonCode }));
        expect(f.code, reasonCode).toBe(Status.INVALID_ARGUMENT);
        expect(f.details, reasonCode).toMatch(/^reason_code (is required|.* is malformed)/);
      }
    }
  });

  it('refuses a reason code the topology does not list, and any wrap-up the agent is not doing', async () => {
    const { client } = await started();
    await client.login({ agentId: 'sh-001', contactUri: PHONE });
    const f = await failure(client.setNotReady({ agentId: 'sh-001', reasonCode: 'nap' }));
    expect(f.code).toBe(Status.INVALID_ARGUMENT);
    expect(f.details).toMatch(/"nap" is not one of the topology's notReadyReasons \(break, lunch/);
    const wrap = {
      agentId: 'sh-001',
      callId: 'c-1',
      disposition: 'resolved',
      resolvedFirstContact: true,
      complaintSeverity: 1,
      note: '',
    };
    // Only the agent itself records its wrap-up; its supervisor may not.
    expect((await failure(client.completeWrapUp(wrap))).code).toBe(Status.PERMISSION_DENIED);
    const me = await client.as({ kind: 'agent', site: 'shanghai', agent: 'sh-001' });
    // The agent's own, but this test server has no call flow: not in wrap-up.
    expect((await failure(me.completeWrapUp(wrap))).code).toBe(Status.FAILED_PRECONDITION);
    expect(await failure(me.completeWrapUp({ ...wrap, disposition: 'won' }))).toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringMatching(/disposition "won" is not one of the topology's/),
    });
    expect(
      await failure(me.completeWrapUp({ ...wrap, note: 'call me on 13800138000' })),
    ).toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/phone/) });
  });

  it('answers INTERNAL with a generic message for a failure of its own, and logs it', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    class FaultyDesk extends AcdTestDesk {
      override queues(): never {
        throw new Error('queue ledger corrupt at /var/lib/ccfed/x');
      }
      override ready(): never {
        // The call flow and the ACD disagreeing about a call is our bug, not the caller's.
        throw new AcdError('unknown call c-77');
      }
    }
    const { acd, clock } = testSite();
    const client = await serve(new FaultyDesk(acd, clock), log);

    const queues = await failure(client.listQueues({}));
    expect(queues).toEqual({
      code: Status.INTERNAL,
      details: 'ListQueues failed inside the site agent; see its log',
    });
    expect((await failure(client.setReady({ agentId: 'sh-001' }))).code).toBe(Status.INTERNAL);

    const logged = lines.map((l) => JSON.parse(l));
    expect(logged).toContainEqual(
      expect.objectContaining({
        event: 'grpc_internal_error',
        rpc: 'ListQueues',
        err: expect.objectContaining({ message: 'queue ledger corrupt at /var/lib/ccfed/x' }),
      }),
    );
    expect(logged).toContainEqual(
      expect.objectContaining({ event: 'grpc_internal_error', rpc: 'SetReady', agentId: 'sh-001' }),
    );
  });
});

describe('AgentControl authorisation', () => {
  const agent = (id: string): Principal => ({ kind: 'agent', site: 'shanghai', agent: id });

  it('lets an agent log itself in and out, list only itself, and touch no one else', async () => {
    const { client } = await started();
    const me = await client.as(agent('sh-001'));
    expect((await me.login({ agentId: 'sh-001', contactUri: PHONE })).agent?.state).toBe(
      AgentState.AGENT_STATE_NOT_READY,
    );
    expect((await me.listAgents({})).agents.map((a) => a.agentId)).toEqual(['sh-001']);
    for (const call of [
      me.login({ agentId: 'sh-002', contactUri: PHONE }),
      me.setReady({ agentId: 'sh-002' }),
      me.setNotReady({ agentId: 'sh-002', reasonCode: 'lunch' }),
      me.logout({ agentId: 'sh-002' }),
    ])
      expect(await failure(call)).toMatchObject({
        code: Status.PERMISSION_DENIED,
        details: expect.stringContaining(
          'agent:shanghai/sh-001 may not call', // ... an agent acts only on itself, not on "sh-002"
        ),
      });
    const [other] = (await client.listAgents({ skill: 'support' })).agents.filter(
      (a) => a.agentId === 'sh-002',
    );
    expect(other?.state).toBe(AgentState.AGENT_STATE_LOGGED_OUT);
    // An agent of another site with the same id is not this site's sh-001.
    const namesake = await client.as({ kind: 'agent', site: 'beijing', agent: 'sh-001' });
    expect((await failure(namesake.logout({ agentId: 'sh-001' }))).code).toBe(
      Status.PERMISSION_DENIED,
    );
    expect((await client.listAgents({ skill: 'sales' })).agents[0]?.state).toBe(
      AgentState.AGENT_STATE_NOT_READY,
    );
  });

  it("limits a tenant's supervisor to that tenant's agents and calls", async () => {
    const { desk, client } = await started();
    desk.offer({
      callId: 'c-acme',
      tenantId: 'acme-bank',
      skill: 'support',
      tier: 1,
      arrivalMs: T0,
    });
    desk.offer({
      callId: 'c-zen',
      tenantId: 'zenith-telecom',
      skill: 'support',
      tier: 1,
      arrivalMs: T0,
    });
    const zenith = await client.as({
      kind: 'supervisor',
      site: 'shanghai',
      tenant: 'zenith-telecom',
    });
    expect(await failure(zenith.login({ agentId: 'sh-001', contactUri: PHONE }))).toEqual({
      code: Status.PERMISSION_DENIED,
      details:
        'supervisor:shanghai/zenith-telecom may not call Login at site shanghai: a supervisor of zenith-telecom acts only on zenith-telecom\'s agents, and "sh-001" is not one',
    });
    expect((await zenith.listAgents({})).agents).toEqual([]);
    const queued = (q: { queues: { calls: { callId: string }[] }[] }) =>
      q.queues.flatMap((x) => x.calls.map((c) => c.callId));
    expect(queued(await zenith.listQueues({}))).toEqual(['c-zen']);

    const acme = await client.as({ kind: 'supervisor', site: 'shanghai', tenant: 'acme-bank' });
    expect((await acme.login({ agentId: 'sh-002', contactUri: PHONE })).agent?.agentId).toBe(
      'sh-002',
    );
    expect((await acme.listAgents({})).agents.map((a) => a.agentId)).toEqual(['sh-001', 'sh-002']);
    expect(queued(await acme.listQueues({}))).toEqual(['c-acme']);
    expect(queued(await client.listQueues({})).sort()).toEqual(['c-acme', 'c-zen']);
  });

  it("refuses another site's supervisor and principals that are not people at this site", async () => {
    const { client } = await started();
    for (const p of [
      { kind: 'supervisor', site: 'beijing' },
      { kind: 'site', site: 'shanghai' },
      { kind: 'service', service: 'router' },
    ] as const) {
      const other = await client.as(p);
      expect((await failure(other.login({ agentId: 'sh-001', contactUri: PHONE }))).code).toBe(
        Status.PERMISSION_DENIED,
      );
      expect((await failure(other.listAgents({}))).code).toBe(Status.PERMISSION_DENIED);
    }
  });

  it('lets an agent log in at its own browser address of record, never at another agent’s', async () => {
    const { client } = await started();
    // the site's domain lies outside its phone network: the browser registers there over WebSocket
    const own = 'sip:sh-001@shanghai.ccfed.invalid';
    expect((await client.login({ agentId: 'sh-001', contactUri: own })).agent?.state).toBe(
      AgentState.AGENT_STATE_NOT_READY,
    );
    expect(
      await failure(
        client.login({ agentId: 'sh-002', contactUri: 'sip:sh-001@shanghai.ccfed.invalid' }),
      ),
    ).toEqual({
      code: Status.PERMISSION_DENIED,
      details:
        'contact_uri "sip:sh-001@shanghai.ccfed.invalid" is not agent sh-002\'s own address of record at site shanghai (sip:sh-002@shanghai.ccfed.invalid)',
    });
  });

  it("refuses a phone outside the site's phone network, naming it, and logs the attempt", async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { client } = await started(log);
    expect(
      await failure(client.login({ agentId: 'sh-001', contactUri: 'sip:sh-001@203.0.113.9:5060' })),
    ).toEqual({
      code: Status.PERMISSION_DENIED,
      details:
        'contact_uri host "203.0.113.9" is outside site shanghai\'s phone network (127.0.0.0/8, ::1/128, *.sh.example.com; the topology\'s sites[].phoneNetwork)',
    });
    for (const contactUri of ['sip:sh-001@phone.attacker.example', 'sip:sh-001@[2001:db8::1]'])
      expect(
        (await failure(client.login({ agentId: 'sh-001', contactUri }))).code,
        contactUri,
      ).toBe(Status.PERMISSION_DENIED);
    expect((await client.listAgents({ skill: 'sales' })).agents[0]?.state).toBe(
      AgentState.AGENT_STATE_LOGGED_OUT,
    );
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({
        level: 40,
        event: 'agent_contact_refused',
        agentId: 'sh-001',
        host: '203.0.113.9',
      }),
    );
  });
});
