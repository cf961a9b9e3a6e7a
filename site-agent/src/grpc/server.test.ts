import { silentLogger, type Principal } from '@ccfed/common';
import { site } from '@ccfed/proto';
import { ChannelCredentials, createChannel, Status } from 'nice-grpc';
import { pino } from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DrainSwitch } from '../drain.js';
import { DayStats } from '../acd/day-stats.js';
import { buildSnapshot } from '../snapshot.js';
import type { SiteStatusProvider } from './site-status.js';
import { startGrpcServer, type GrpcServer } from './server.js';
import {
  channelAs,
  clientFactory,
  failure,
  OPERATOR,
  PHONES,
  SHANGHAI,
  SITE,
  SUPERVISOR,
  T0,
  testSite,
  tlsAs,
} from './test-support.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A status provider over the test site's real ACD, as the process would build one. */
function statusOf(
  s: ReturnType<typeof testSite>,
  drain = new DrainSwitch(join(mkdtempSync(join(tmpdir(), 'ccfed-drain-')), 'drain.json')),
): SiteStatusProvider {
  const dayStats = new DayStats(s.clock, 'Asia/Shanghai');
  return {
    snapshot: () =>
      buildSnapshot({
        meta: {
          eventId: 'e-1',
          tenantId: '',
          siteId: 'shanghai',
          eventTime: new Date(s.clock.now()),
          trace: undefined,
          producerSequence: 7,
        },
        sequence: 7,
        skills: s.acd.skillStatus(),
        today: (skill) => dayStats.forSkill(skill),
        acceptingOverflow: !drain.current.drained,
      }),
    evapiConnected: () => true,
    kafkaConnected: () => false,
    bufferedEvents: () => 42,
    drain: () => drain.current,
    setDrained: (drained, reason) => drain.set(drained, reason, s.clock.now()),
  };
}

async function start(
  port = 0,
  status?: SiteStatusProvider,
  log = silentLogger(),
): Promise<GrpcServer> {
  const s = testSite();
  const server = await startGrpcServer({
    host: '127.0.0.1',
    port,
    desk: s.desk,
    status: status ?? statusOf(s),
    site: SITE,
    phoneNetwork: PHONES,
    tls: await tlsAs(SHANGHAI),
    log,
  });
  cleanup.push(() => server.close());
  return server;
}

/** Clients of both services on `port`, as `principal` (an operator unless said otherwise). */
async function connect(port: number, principal: Principal = OPERATOR) {
  const channel = await channelAs(port, principal);
  cleanup.push(() => channel.close());
  return {
    siteAgent: clientFactory.create(site.SiteAgentDefinition, channel),
    agentControl: clientFactory.create(site.AgentControlDefinition, channel),
  };
}

describe('SiteAgent service', () => {
  it('reports the snapshot, the links and the buffered events', async () => {
    const s = testSite();
    s.desk.login('sh-002', 'sip:sh-002@127.0.0.1:5091');
    s.desk.ready('sh-002');
    const server = await start(0, statusOf(s));
    const status = await (await connect(server.port)).siteAgent.getStatus({});

    expect(status.evapiConnected).toBe(true);
    expect(status.kafkaConnected).toBe(false);
    expect(status.bufferedEvents).toBe(42);
    expect(status.snapshot).toMatchObject({
      meta: { siteId: 'shanghai', eventTime: new Date(T0), producerSequence: 7 },
      sequence: 7,
      acceptingOverflow: true,
    });
    expect(status.snapshot?.skills.map((k) => [k.skill, k.agentsStaffed, k.agentsIdle])).toEqual([
      ['sales', 0, 0],
      ['support', 1, 1],
    ]);
  });

  it('drains the site: snapshots stop offering overflow, the status says why, a restart keeps it', async () => {
    const s = testSite();
    const file = join(mkdtempSync(join(tmpdir(), 'ccfed-drain-')), 'drain.json');
    const server = await start(0, statusOf(s, new DrainSwitch(file)));
    const siteAgent = (await connect(server.port)).siteAgent;
    expect(await siteAgent.setDraining({ drained: true, reason: 'switch maintenance' })).toEqual({
      drained: true,
      wasDrained: false,
    });
    const status = await siteAgent.getStatus({});
    expect(status).toMatchObject({ drained: true, drainReason: 'switch maintenance' });
    expect(status.snapshot?.acceptingOverflow).toBe(false);
    // The site agent restarts during the maintenance: still drained.
    expect(new DrainSwitch(file).current).toMatchObject({
      drained: true,
      reason: 'switch maintenance',
    });

    expect(await siteAgent.setDraining({ drained: false, reason: '' })).toEqual({
      drained: false,
      wasDrained: true,
    });
    expect((await siteAgent.getStatus({})).snapshot?.acceptingOverflow).toBe(true);
  });

  it('refuses a drain reason longer than 200 characters, and changes nothing', async () => {
    const s = testSite();
    const server = await start(0, statusOf(s));
    const siteAgent = (await connect(server.port)).siteAgent;
    expect(
      await failure(siteAgent.setDraining({ drained: true, reason: 'x'.repeat(201) })),
    ).toEqual({
      code: Status.INVALID_ARGUMENT,
      details: 'reason is 201 characters long; at most 200 allowed',
    });
    expect((await siteAgent.getStatus({})).drained).toBe(false);
  });

  it('answers INTERNAL with a generic message when the status cannot be read, and logs why', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const broken: SiteStatusProvider = {
      ...statusOf(testSite()),
      snapshot: () => {
        throw new Error('day stats timezone missing');
      },
    };
    const server = await start(0, broken, log);
    expect(await failure((await connect(server.port)).siteAgent.getStatus({}))).toEqual({
      code: Status.INTERNAL,
      details: 'GetStatus failed inside the site agent; see its log',
    });
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({
        event: 'grpc_internal_error',
        rpc: 'GetStatus',
        err: expect.objectContaining({ message: 'day stats timezone missing' }),
      }),
    );
  });

  it('says plainly that overflow offers are not accepted yet', async () => {
    const server = await start();
    const beijing = await connect(server.port, { kind: 'site', site: 'beijing' });
    const offer = beijing.siteAgent.offerOverflow({ callId: 'c-1', skill: 'sales' });
    expect(await failure(offer)).toMatchObject({
      code: Status.UNIMPLEMENTED,
      details: expect.stringContaining('overflow offers are not accepted by this version'),
    });
  });
});

describe('who may call SiteAgent', () => {
  it('drains for an operator only: a supervisor is refused, changes nothing, and is logged', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const server = await start(0, undefined, log);
    const supervisor = (await connect(server.port, SUPERVISOR)).siteAgent;
    expect(await failure(supervisor.setDraining({ drained: true, reason: 'mine now' }))).toEqual({
      code: Status.PERMISSION_DENIED,
      details:
        'supervisor:shanghai may not call SetDraining at site shanghai: only operators drain a site',
    });
    expect((await supervisor.getStatus({})).drained).toBe(false);
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({
        level: 40,
        event: 'grpc_permission_denied',
        peer: 'supervisor:shanghai',
        rpc: 'SetDraining',
      }),
    );

    const operator = (await connect(server.port, OPERATOR)).siteAgent;
    expect(await operator.setDraining({ drained: true, reason: 'switch maintenance' })).toEqual({
      drained: true,
      wasDrained: false,
    });
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({ event: 'site_drained', by: 'operator:li' }),
    );
  });

  it('tells the status to the router and other sites, not to an agent or a tenant supervisor', async () => {
    const server = await start();
    for (const p of [
      { kind: 'service', service: 'router' },
      { kind: 'site', site: 'beijing' },
    ] as const)
      expect((await (await connect(server.port, p)).siteAgent.getStatus({})).bufferedEvents).toBe(
        42,
      );
    for (const p of [
      { kind: 'agent', site: 'shanghai', agent: 'sh-001' },
      { kind: 'supervisor', site: 'shanghai', tenant: 'acme-bank' },
      { kind: 'service', service: 'api' },
    ] as const)
      expect((await failure((await connect(server.port, p)).siteAgent.getStatus({}))).code).toBe(
        Status.PERMISSION_DENIED,
      );
  });

  it('takes overflow offers from other sites only', async () => {
    const server = await start();
    for (const p of [SHANGHAI, OPERATOR] as const)
      expect(
        (await failure((await connect(server.port, p)).siteAgent.offerOverflow({ callId: 'c-1' })))
          .code,
      ).toBe(Status.PERMISSION_DENIED);
  });

  it('refuses a client without a certificate, and one from another CA, before any call', async () => {
    const server = await start();
    const ca = (await tlsAs(OPERATOR)).ca;
    const anonymous = createChannel(
      `127.0.0.1:${server.port}`,
      ChannelCredentials.createSsl(ca, null, null, { checkServerIdentity: () => undefined }),
      { 'grpc.ssl_target_name_override': 'ccfed.peer' },
    );
    cleanup.push(() => anonymous.close());
    const noCert = clientFactory.create(site.SiteAgentDefinition, anonymous).getStatus({});
    expect((await failure(noCert)).code).toBe(Status.UNAVAILABLE);

    const plain = createChannel(`127.0.0.1:${server.port}`);
    cleanup.push(() => plain.close());
    const insecure = clientFactory.create(site.AgentControlDefinition, plain).listAgents({});
    expect((await failure(insecure)).code).toBe(Status.UNAVAILABLE);
  });
});

describe('startGrpcServer', () => {
  it('serves both services on one port', async () => {
    const server = await start();
    const { siteAgent, agentControl } = await connect(server.port);
    expect((await agentControl.listAgents({})).agents).toHaveLength(2);
    expect((await siteAgent.getStatus({})).bufferedEvents).toBe(42);
  });

  it('names the address when the port is in use', async () => {
    const first = await start();
    await expect(start(first.port)).rejects.toThrow(
      `gRPC server cannot listen on 127.0.0.1:${first.port}: the address is already in use`,
    );
  });

  it('closes once, stops answering, and frees the port', async () => {
    const server = await start();
    const { agentControl } = await connect(server.port);
    await agentControl.listQueues({});

    await Promise.all([server.close(), server.close()]);
    expect((await failure(agentControl.listQueues({}))).code).toBe(Status.UNAVAILABLE);

    const again = await start(server.port);
    expect(again.port).toBe(server.port);
  });
});
