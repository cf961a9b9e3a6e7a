// A regional center keeps working while its Kafka is away, and loses nothing. The site here has
// its own broker (the shared one must not be stopped), with its data and port kept across
// restarts as a production broker's are:
//   1. the site agent starts while no broker answers: it serves agents and buffers their events;
//   2. the broker comes up: the buffered events arrive, in order;
//   3. the broker is stopped in the middle of call traffic and restarted: every event of every
//      call and agent arrives, in order per key, none twice.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AgentEvent, AgentState, CallEvent, topicNames } from '@ccfed/proto';
import { createKafka, silentLogger } from '@ccfed/common';
import {
  freePort,
  newKafkaPassword,
  openPki,
  provisionKafka,
  startKafka,
  udpPortFree,
  type KafkaInstance,
} from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { groupBy, readTopics, uniqueName, waitFor } from '../support/engines.js';
import { kafkaPassword } from '../support/kafka.js';
import { startSite, type RunningSite } from '../support/running-site.js';
import {
  agentPhone,
  callerCalls,
  queuedCallers,
  readSippLog,
  type LoggedSippRun,
} from '@ccfed/services';

const SALES = '400200100';

describe('a site while its Kafka broker is away', () => {
  let site: RunningSite;
  let kafka: KafkaInstance | undefined;
  let port: number;
  let controllerPort: number;
  const dataDir = () => join(inject('runDir'), 'kafka-outage-broker');
  const prefix = uniqueName('outage');
  const topics = topicNames(prefix);
  const phones: LoggedSippRun[] = [];

  /** This broker's super user, the same across its restarts. */
  const adminPassword = newKafkaPassword();
  const startBroker = async () => {
    kafka = await startKafka({
      dataDir: dataDir(),
      port,
      controllerPort,
      heapMb: 384,
      pki: await openPki(inject('pkiDir')),
      adminPassword,
    });
    // What the local federation's start does: topics, and the site's user with its ACLs (the
    // site agent got that user's name and password when it started, before this broker).
    await provisionKafka({
      brokers: kafka.brokers,
      admin: kafka.admin,
      prefix,
      users: [
        { principal: { role: 'site', site: 'beijing' }, password: kafkaPassword('site-beijing') },
      ],
    });
  };
  const drained = () =>
    waitFor(
      'the outbox drained into Kafka',
      async () => {
        const s = await site.status.getStatus({});
        return s.kafkaConnected && s.bufferedEvents === 0 ? true : undefined;
      },
      90_000,
    );

  /** Everything on a topic of this file's broker, from the beginning. */
  const readAll = <T>(
    topic: string,
    decode: (b: Buffer) => T,
    until: (all: readonly T[]) => boolean,
  ) =>
    readTopics({
      topics: [topic],
      decode,
      until,
      kafka: createKafka({
        brokers: kafka!.brokers,
        clientId: 'outage-reader',
        credentials: kafka!.admin,
        log: silentLogger(),
      }),
    });

  beforeAll(async () => {
    port = await freePort();
    controllerPort = await freePort();
    site = await startSite({
      env: { CCFED_KAFKA_BROKERS: `127.0.0.1:${port}`, CCFED_TOPIC_PREFIX: prefix },
      mutate: (doc) => {
        doc.skills.find((s: { id: string }) => s.id === 'sales').wrapUpSeconds = 0;
      },
    });
  });

  afterAll(async () => {
    for (const p of phones) await p.stop();
    await site?.stop();
    await kafka?.stop();
  });

  it('starts without Kafka, serves agents, and delivers their events in order once Kafka is up', async () => {
    const before = await site.status.getStatus({});
    expect(before.evapiConnected).toBe(true);
    expect(before.kafkaConnected).toBe(false);

    const contactUri = 'sip:bj-002@127.0.0.1:5999';
    expect((await site.control.login({ agentId: 'bj-002', contactUri })).agent?.state).toBe(
      AgentState.AGENT_STATE_NOT_READY,
    );
    await site.control.setReady({ agentId: 'bj-002' });
    await site.control.setNotReady({ agentId: 'bj-002', reasonCode: 'lunch' });
    expect((await site.status.getStatus({})).bufferedEvents).toBeGreaterThanOrEqual(3);

    await startBroker();
    await drained();
    const seen = await readAll(
      topics.agentEvents,
      (b) => AgentEvent.decode(b),
      (all) => all.length >= 3,
    );
    expect(seen.map((e) => [e.agentId, e.toState, e.reasonCode])).toEqual([
      ['bj-002', AgentState.AGENT_STATE_NOT_READY, 'login'],
      ['bj-002', AgentState.AGENT_STATE_READY, ''],
      ['bj-002', AgentState.AGENT_STATE_NOT_READY, 'lunch'],
    ]);
  });

  it('loses no call or agent event when the broker stops mid-traffic: all arrive, in order per key, once', async () => {
    const logDir = join(inject('runDir'), uniqueName('outage-sipp'));
    mkdirSync(logDir, { recursive: true });
    for (const agentId of ['bj-001', 'bj-004', 'bj-006']) {
      const phonePort = await freePort();
      phones.push(
        agentPhone({
          port: phonePort,
          ringMs: 100,
          talkMeanMs: 500,
          logFile: join(logDir, `${agentId}.log`),
        }),
      );
      await waitFor('phone listening', async () =>
        (await udpPortFree(phonePort)) ? undefined : true,
      );
      await site.control.login({ agentId, contactUri: `sip:${agentId}@127.0.0.1:${phonePort}` });
      await site.control.setReady({ agentId });
    }
    const callers = queuedCallers({
      proxy: site.kamailio.sip,
      service: SALES,
      callerPrefix: '86139000',
      patienceMs: 60_000,
      // 20 s of calls: the broker stops a third of the way in and misses the rest, its restart
      // (a JVM start) outlasting most of them. Was 90 calls (30 s): the calls after its return
      // proved nothing the ones during the outage did not.
      calls: 60,
      rate: 3,
      port: await freePort(),
      logFile: join(logDir, 'callers.log'),
    });

    // A third of the way in, the broker goes away for a while, then comes back.
    await waitFor('20 calls placed', async () => {
      const n = callerCalls(readSippLog(callers)).length;
      return n >= 20 ? true : undefined;
    });
    await kafka!.stop();
    await waitFor('events buffering on disk', async () =>
      (await site.status.getStatus({})).bufferedEvents >= 50 ? true : undefined,
    );
    await startBroker();

    const { code, output } = await callers.exited;
    expect(code, output.slice(-2000)).toBe(0);
    const calls = callerCalls(readSippLog(callers));
    expect(calls.filter((c) => c.outcome !== 'answered')).toEqual([]);
    await drained();

    const events = await readAll(
      topics.callEvents,
      (b) => CallEvent.decode(b),
      (all) => all.filter((e) => e.kind?.$case === 'ended').length >= calls.length,
    );
    // None twice: every event id once.
    const ids = events.map((e) => e.meta!.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    // Every call complete, its events in the order the site agent produced them.
    const byCall = groupBy(events, (e) => e.callId);
    expect(new Set(byCall.keys())).toEqual(new Set(calls.map((c) => c.callId)));
    for (const [callId, evs] of byCall) {
      const kinds = evs.map((e) => e.kind?.$case).filter((k) => k !== 'queued');
      expect(kinds, callId).toEqual(['offered', 'answered', 'ended', 'wrapUpDone']);
      const seqs = evs.map((e) => e.meta!.producerSequence);
      expect(seqs, callId).toEqual([...seqs].sort((a, b) => a - b));
    }
    // Agents too: per agent in order, none twice, none missing (each call reserved someone).
    const agentEvents = await readAll(
      topics.agentEvents,
      (b) => AgentEvent.decode(b),
      (all) =>
        all.filter((e) => e.toState === AgentState.AGENT_STATE_RESERVED).length >= calls.length,
    );
    const agentIds = agentEvents.map((e) => e.meta!.eventId);
    expect(new Set(agentIds).size).toBe(agentIds.length);
    for (const [agentId, evs] of groupBy(agentEvents, (e) => e.agentId)) {
      const seqs = evs.map((e) => e.meta!.producerSequence);
      expect(seqs, agentId).toEqual([...seqs].sort((a, b) => a - b));
      // Consecutive events chain: each starts where the previous one ended.
      for (let i = 1; i < evs.length; i++)
        expect(evs[i]!.fromState, `${agentId} event ${i}`).toBe(evs[i - 1]!.toState);
    }
  });
});
