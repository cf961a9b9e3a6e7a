// A site must take calls even when it starts while Kafka is away (a regional center whose link
// to HQ is down): the site agent comes up, serves its agents, keeps every event on disk, and
// delivers them once a broker answers at the configured address.
import { join } from 'node:path';
import { createKafka, silentLogger } from '@ccfed/common';
import { AgentEvent, AgentState, topicNames } from '@ccfed/proto';
import { freePort, startKafka, type KafkaInstance } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName, waitFor } from '../support/engines.js';
import { startSite, type RunningSite } from '../support/running-site.js';

describe('site agent started while Kafka is unreachable', () => {
  let site: RunningSite;
  let kafka: KafkaInstance | undefined;
  let port: number;
  const prefix = uniqueName('absent');

  beforeAll(async () => {
    port = await freePort();
    site = await startSite({
      env: { CCFED_KAFKA_BROKERS: `127.0.0.1:${port}`, CCFED_TOPIC_PREFIX: prefix },
    });
  });

  afterAll(async () => {
    await site?.stop();
    await kafka?.stop();
  });

  it('serves agents meanwhile, buffers their events, and delivers them in order once Kafka is up', async () => {
    const before = await site.status.getStatus({});
    expect(before.evapiConnected).toBe(true);
    expect(before.kafkaConnected).toBe(false);

    const contactUri = 'sip:bj-002@127.0.0.1:5999';
    expect((await site.control.login({ agentId: 'bj-002', contactUri })).agent?.state).toBe(
      AgentState.AGENT_STATE_NOT_READY,
    );
    await site.control.setReady({ agentId: 'bj-002' });
    await site.control.setNotReady({ agentId: 'bj-002', reasonCode: 'lunch' });
    const buffered = (await site.status.getStatus({})).bufferedEvents;
    expect(buffered).toBeGreaterThanOrEqual(3);

    kafka = await startKafka({
      dataDir: join(inject('runDir'), uniqueName('late-kafka')),
      port,
      heapMb: 384,
    });
    await waitFor(
      'the outbox drained into Kafka',
      async () => {
        const s = await site.status.getStatus({});
        return s.kafkaConnected && s.bufferedEvents === 0 ? true : undefined;
      },
      90_000,
    );

    const consumer = createKafka({
      brokers: kafka.brokers,
      clientId: 'late-reader',
      log: silentLogger(),
    }).consumer({ groupId: uniqueName('late') });
    const seen: AgentEvent[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topicNames(prefix).agentEvents, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void seen.push(AgentEvent.decode(message.value!)),
    });
    await waitFor('the three agent events', async () => (seen.length >= 3 ? true : undefined));
    await consumer.disconnect();
    expect(seen.map((e) => [e.agentId, e.toState, e.reasonCode])).toEqual([
      ['bj-002', AgentState.AGENT_STATE_NOT_READY, 'login'],
      ['bj-002', AgentState.AGENT_STATE_READY, ''],
      ['bj-002', AgentState.AGENT_STATE_NOT_READY, 'lunch'],
    ]);
  });
});
