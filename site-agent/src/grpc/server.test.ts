import { silentLogger } from '@ccfed/common';
import { site } from '@ccfed/proto';
import { createChannel, Status, type Channel } from 'nice-grpc';
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
import { clientFactory, failure, T0, testSite } from './test-support.js';

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
    log,
  });
  cleanup.push(() => server.close());
  return server;
}

function connect(port: number) {
  const channel: Channel = createChannel(`127.0.0.1:${port}`);
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
    const status = await connect(server.port).siteAgent.getStatus({});

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
    const siteAgent = connect(server.port).siteAgent;
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
    const siteAgent = connect(server.port).siteAgent;
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
    expect(await failure(connect(server.port).siteAgent.getStatus({}))).toEqual({
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
    const offer = connect(server.port).siteAgent.offerOverflow({ callId: 'c-1', skill: 'sales' });
    expect(await failure(offer)).toMatchObject({
      code: Status.UNIMPLEMENTED,
      details: expect.stringContaining('overflow offers are not accepted by this version'),
    });
  });
});

describe('startGrpcServer', () => {
  it('serves both services on one port', async () => {
    const server = await start();
    const { siteAgent, agentControl } = connect(server.port);
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
    const { agentControl } = connect(server.port);
    await agentControl.listQueues({});

    await Promise.all([server.close(), server.close()]);
    expect((await failure(agentControl.listQueues({}))).code).toBe(Status.UNAVAILABLE);

    const again = await start(server.port);
    expect(again.port).toBe(server.port);
  });
});
