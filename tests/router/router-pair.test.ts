// Two routers serving at once, as processes on the real Kafka: they share their reservations
// through the route-decisions topic, so the pair does not send an idle site twice what it can take;
// and the site agent's router client (the real one, in-process) gets its answer within the request
// deadline when one router is hung (SIGSTOP) or killed (SIGKILL).
import { Writable } from 'node:stream';
import { systemClock } from '@ccfed/common';
import { CustomerTier, routing } from '@ccfed/proto';
import { freePort } from '@ccfed/services';
import type { RouteQuestion } from '@ccfed/site-agent/overflow/outbound';
import { routerClient } from '@ccfed/site-agent/overflow/router-client';
import { Partitioners, type Producer } from 'kafkajs';
import { createClient, type Channel } from 'nice-grpc';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTopics, waitFor } from '../support/engines.js';
import { adminKafka, kafkaEnv } from '../support/kafka.js';
import { startService, type ServiceProcess } from '../support/processes.js';
import { ROUTER, routerChannel, tlsAs, tlsEnv } from '../support/security.js';
import { SnapshotFeeder } from '../support/snapshot-feeder.js';
import { writeTopology } from '../support/running-site.js';

const ENTRY = 'central/router/src/index.ts';
const SHANGHAI = { kind: 'site', site: 'shanghai' } as const;
/** The example topology's request deadline: what a site agent waits for a router's answer. */
const DEADLINE_MS = 200;
const HEDGE_MS = 50;

interface RunningRouter {
  readonly id: string;
  readonly address: string;
  readonly process: ServiceProcess;
  readonly channel: Channel;
  readonly client: routing.CentralRouterClient;
}

describe('router pair', () => {
  const routers: RunningRouter[] = [];
  let producer: Producer;
  let feeder: SnapshotFeeder;
  let calls = 0;
  const clientsToClose: { close: () => void }[] = [];

  const request = (over: Partial<routing.RequestRouteRequest> = {}) => ({
    callId: `call-${++calls}`,
    originSiteId: 'shanghai',
    tenantId: 'acme-bank',
    skill: 'support',
    tier: CustomerTier.CUSTOMER_TIER_STANDARD,
    waitedMs: 15_000,
    originExpectedWaitMs: 60_000,
    hopCount: 0,
    ...over,
  });
  /** A question that reserves nothing (staying beats every site) but shows how each site looks. */
  const probe = (r: RunningRouter) =>
    r.client.requestRoute(request({ waitedMs: 600_000, originExpectedWaitMs: 0 }), {
      signal: AbortSignal.timeout(2_000),
    });
  const beijingWait = (res: routing.RequestRouteResponse) =>
    res.alternatives.find((a) => a.siteId === 'beijing');

  const question = (): RouteQuestion => ({
    callId: `call-${++calls}`,
    skill: 'support',
    waitedMs: 15_000,
    expectedWaitMs: 60_000,
    hops: 0,
    tenantId: 'acme-bank',
    tier: CustomerTier.CUSTOMER_TIER_STANDARD,
  });

  /** The site agent's router client for Shanghai, asking `addresses` in that order. */
  async function siteClient(addresses: string[], logLines: string[] = []) {
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString());
          done();
        },
      }),
    );
    const c = routerClient({
      addresses,
      siteId: 'shanghai',
      deadlineMs: DEADLINE_MS,
      hedgeAfterMs: HEDGE_MS,
      tls: await tlsAs(SHANGHAI),
      clock: systemClock,
      log,
    });
    clientsToClose.push(c);
    /** Asks once: the answer (or error) and how long it took. */
    const ask = async () => {
      const started = performance.now();
      const outcome = await c.ask(question()).then(
        (answer) => ({ answer, error: undefined }),
        (err: Error) => ({ answer: undefined, error: err.message }),
      );
      return { ...outcome, tookMs: performance.now() - started };
    };
    return { ask };
  }

  beforeAll(async () => {
    const { prefix, topics } = await freshTopics();
    const { file } = await writeTopology();
    const tls = await tlsEnv(ROUTER);
    const kafka = await kafkaEnv({ role: 'router' }, prefix);
    for (const id of ['router-a', 'router-b']) {
      const port = await freePort();
      const address = `127.0.0.1:${port}`;
      const process = startService(
        ENTRY,
        {
          CCFED_TOPOLOGY: file,
          ...kafka,
          CCFED_TOPIC_PREFIX: prefix,
          CCFED_ROUTER_PORT: String(port),
          CCFED_ROUTER_ID: id,
          ...tls,
        },
        id,
      );
      const channel = await routerChannel(address, SHANGHAI);
      routers.push({
        id,
        address,
        process,
        channel,
        client: createClient(routing.CentralRouterDefinition, channel),
      });
    }
    producer = adminKafka('snapshot-feeder').producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    feeder = new SnapshotFeeder(producer, topics.siteSnapshots);
    // Shanghai is swamped; Beijing has two idle agents and nobody waiting.
    feeder.set('shanghai', { queued: 12, staffed: 4, idle: 0 });
    feeder.set('beijing', { queued: 0, staffed: 2, idle: 2 });
    feeder.start();
    for (const r of routers)
      await waitFor(
        `${r.id} to see beijing idle`,
        async () => (beijingWait(await probe(r))?.eligible ? true : undefined),
        60_000,
      );
  });

  afterAll(async () => {
    for (const c of clientsToClose) c.close();
    feeder?.stop();
    await producer?.disconnect();
    for (const r of routers) {
      r.channel.close();
      // A stopped process would hold SIGTERM until continued.
      if (r.process.child.exitCode === null) r.process.child.kill('SIGCONT');
      await r.process.stop();
    }
  });

  it("holds the other router's reservations: the pair sends an idle site no more calls than it can take", async () => {
    const [a, b] = routers as [RunningRouter, RunningRouter];
    // Router A sends two calls to Beijing's two idle agents.
    for (let i = 0; i < 2; i++) {
      const res = await a.client.requestRoute(request(), { signal: AbortSignal.timeout(2_000) });
      expect(res).toMatchObject({
        verdict: routing.Verdict.VERDICT_OVERFLOW,
        targetSiteId: 'beijing',
      });
    }
    // Router B hears of them through route-decisions: Beijing's agents are spoken for.
    const seen = await waitFor(
      'router B to count router A’s reservations at beijing',
      async () => {
        const bj = beijingWait(await probe(b))!;
        return bj.expectedWaitMs > 0 ? bj : undefined;
      },
      10_000,
    );
    // One call ahead of a new one, on two agents of 180 s average handle time.
    expect(seen.expectedWaitMs).toBe(90_000);
    // So B keeps the next call at its origin instead of sending Beijing a third and fourth.
    const third = await b.client.requestRoute(request(), { signal: AbortSignal.timeout(2_000) });
    expect(third.verdict).toBe(routing.Verdict.VERDICT_STAY);
    // (Beijing's 90 s plus its 5 s handicap in the example routing policy.)
    expect(third.reason).toContain(
      'best site beijing (95.0 s) is not 10.0 s better than staying (60.0 s)',
    );
  });

  it('answers within the deadline when the first router hangs, and later questions go to the other', async () => {
    const [a, b] = routers as [RunningRouter, RunningRouter];
    const logLines: string[] = [];
    const site = await siteClient([a.address, b.address], logLines);
    expect((await site.ask()).answer?.router).toBe(a.address);
    a.process.child.kill('SIGSTOP');
    try {
      const first = await site.ask();
      expect(first.error).toBeUndefined();
      expect(first.answer?.router).toBe(b.address);
      expect(first.tookMs).toBeLessThan(DEADLINE_MS);
      expect(logLines.join('')).toContain(`"event":"router_set_aside","router":"${a.address}"`);
      // Later questions go to B first: A is not waited for again while it is set aside.
      for (let i = 0; i < 5; i++) {
        const later = await site.ask();
        expect(later.answer?.router).toBe(b.address);
        expect(later.tookMs).toBeLessThan(DEADLINE_MS);
      }
      const aside = `"event":"router_set_aside","router":"${a.address}"`;
      expect(logLines.filter((l) => l.includes(aside))).toHaveLength(1);
    } finally {
      a.process.child.kill('SIGCONT');
    }
  });

  it('answers within the deadline when the first router is killed', async () => {
    const [a, b] = routers as [RunningRouter, RunningRouter];
    const site = await siteClient([a.address, b.address]);
    // A answers again once continued: this client asks it first.
    await waitFor('router A to answer again', async () => {
      const r = await site.ask();
      return r.answer?.router === a.address ? r : undefined;
    });
    await a.process.kill();
    const first = await site.ask();
    expect(first.error).toBeUndefined();
    expect(first.answer?.router).toBe(b.address);
    expect(first.tookMs).toBeLessThan(DEADLINE_MS);
    // With both routers gone the call stays at its site, within the deadline too.
    b.process.child.kill('SIGSTOP');
    try {
      const none = await site.ask();
      expect(none.error).toMatch(/^no router answered within 200 ms/);
    } finally {
      b.process.child.kill('SIGCONT');
    }
  });
});
