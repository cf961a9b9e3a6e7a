// Kafka's trust boundary tried as an attacker would, against the run's real broker: it takes
// only SCRAM-SHA-512 users over TLS, and each user only what its row of the ACL table grants
// (services/src/kafka/acls.ts). Every refusal is checked to have left every topic as it was.
import { readFileSync } from 'node:fs';
import { siteGroupId } from '@ccfed/common';
import { topicNames, type TopicNames } from '@ccfed/proto';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { certFor } from '../support/security.js';
import { freshTopics, uniqueName, waitFor } from '../support/engines.js';
import {
  adminKafka,
  credentialsFor,
  kafkaAs,
  kafkaBrokers,
  kafkaPassword,
  READER_MAX_WAIT_MS,
} from '../support/kafka.js';

/** Messages ever written to each topic under the test's prefix (sum of partition ends). */
async function ends(topics: TopicNames): Promise<Record<string, number>> {
  const admin = adminKafka('ends').admin();
  await admin.connect();
  try {
    const out: Record<string, number> = {};
    for (const topic of Object.values(topics))
      out[topic] = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** A bare kafkajs client with exactly `config`: no retries, short timeouts. */
const bare = (config: Partial<KafkaConfig>) =>
  new Kafka({
    brokers: kafkaBrokers(),
    clientId: 'attacker',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 3_000,
    requestTimeout: 5_000,
    ...config,
  });

/** What a promise rejected with, or a failure when it did not. */
async function refusal(what: string, p: Promise<unknown>): Promise<Error & { type?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { type?: string };
  }
  throw new Error(`${what} was allowed`);
}

const value = (s: string) => [{ key: 'k', value: Buffer.from(s) }];

/**
 * An error and what it wraps (its causes and parts): kafkajs wraps the broker's answer, e.g. in
 * "Topic creation errors" or after its retries.
 */
function chain(err: unknown): { name: string; type?: string }[] {
  const out: { name: string; type?: string }[] = [];
  const walk = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || depth > 5) return;
    const { name, type, cause, errors } = e as {
      name?: string;
      type?: string;
      cause?: unknown;
      errors?: unknown[];
    };
    out.push({ name: name ?? '', ...(type !== undefined && { type }) });
    walk(cause, depth + 1);
    for (const part of errors ?? []) walk(part, depth + 1);
  };
  walk(err, 0);
  return out;
}

/** The Kafka error codes in an error's chain, e.g. TOPIC_AUTHORIZATION_FAILED. */
const kafkaErrorTypes = (err: unknown) => chain(err).flatMap((e) => (e.type ? [e.type] : []));

describe('Kafka: SASL/SCRAM over TLS and ACLs', () => {
  let prefix: string;
  let topics: TopicNames;
  let before: Record<string, number>;
  const ca = () => readFileSync(inject('kafkaCaFile'));

  beforeAll(async () => {
    ({ prefix, topics } = await freshTopics());
    // Something worth stealing: one CRM event, written by the CRM connector.
    const crm = (await kafkaAs({ role: 'crm' }, prefix)).producer();
    await crm.connect();
    await crm.send({ topic: topics.crmEvents, messages: value('a customer cancelled') });
    await crm.disconnect();
    before = await ends(topics);
  });

  it('refuses a client without credentials, over TLS and in plaintext, and nothing is written', async () => {
    const ways: [string, Partial<KafkaConfig>][] = [
      ['TLS without SASL', { ssl: { ca: [ca()] } }],
      ['plaintext', {}],
    ];
    for (const [how, config] of ways) {
      const producer = bare(config).producer();
      const err = await refusal(
        how,
        (async () => {
          await producer.connect();
          await producer.send({ topic: topics.routingPolicy, messages: value('{"version":9}') });
        })(),
      );
      // The broker hangs up on anything but a SASL handshake over TLS.
      expect(
        chain(err).map((e) => e.name),
        how,
      ).toContain('KafkaJSConnectionClosedError');
      await producer.disconnect().catch(() => undefined);
    }
    expect(await ends(topics)).toEqual(before);
  });

  it('refuses a wrong password and an unknown user as an authentication failure', async () => {
    const tries: [string, string][] = [
      ['site-beijing', 'not-the-password'],
      ['mallory', kafkaPassword('mallory')],
    ];
    for (const [username, password] of tries) {
      const producer = bare({
        ssl: { ca: [ca()] },
        sasl: { mechanism: 'scram-sha-512', username, password },
      }).producer();
      const err = await refusal(`user ${username}`, producer.connect());
      expect(err.name).toBe('KafkaJSSASLAuthenticationError');
      expect(err.message).toContain('Authentication failed');
      await producer.disconnect().catch(() => undefined);
    }
    expect(await ends(topics)).toEqual(before);
  });

  it("refuses a federation certificate on the broker's internal listener any right", async () => {
    // Only the broker's own certificate is a super user there; a site's gets nothing.
    const site = await certFor({ kind: 'site', site: 'beijing' });
    const internal = bare({
      brokers: [inject('kafkaInternalBroker')],
      ssl: { ca: [ca()], cert: readFileSync(site.cert), key: readFileSync(site.key) },
    });
    const producer = internal.producer();
    await producer.connect();
    const err = await refusal(
      'a site certificate writing routing-policy on the internal listener',
      producer.send({ topic: topics.routingPolicy, messages: value('{"version":999}') }),
    );
    expect(kafkaErrorTypes(err)).toContain('TOPIC_AUTHORIZATION_FAILED');
    await producer.disconnect();
    // And without a certificate the TLS handshake itself fails.
    const anonymous = bare({ brokers: [inject('kafkaInternalBroker')], ssl: { ca: [ca()] } });
    await refusal('no certificate on the internal listener', anonymous.admin().connect());
    expect(await ends(topics)).toEqual(before);
  });

  it('refuses a site writing the routing policy: TOPIC_AUTHORIZATION_FAILED, the policy untouched', async () => {
    const site = await kafkaAs({ role: 'site', site: 'beijing' }, prefix);
    const producer = site.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const err = await refusal(
        'site-beijing writing routing-policy',
        producer.send({
          topic: topics.routingPolicy,
          messages: value('{"version":999,"skills":{}}'),
        }),
      );
      expect(err.name).toBe('KafkaJSProtocolError');
      expect(err.type).toBe('TOPIC_AUTHORIZATION_FAILED');
      expect(err.message).toBe('Not authorized to access topics: [Topic authorization failed]');
    } finally {
      await producer.disconnect();
    }
    expect(await ends(topics)).toEqual(before);
  });

  it("refuses a site reading the CRM's events, and creating or deleting topics", async () => {
    const site = await kafkaAs({ role: 'site', site: 'beijing' }, prefix);
    const consumer = site.consumer({ groupId: siteGroupId('beijing', 'steal') });
    const stolen: string[] = [];
    await consumer.connect();
    try {
      const err = await refusal(
        'site-beijing reading crm-events',
        (async () => {
          await consumer.subscribe({ topics: [topics.crmEvents], fromBeginning: true });
          await consumer.run({
            eachMessage: async ({ message }) => void stolen.push(String(message.value)),
          });
        })(),
      );
      expect(kafkaErrorTypes(err)).toContain('TOPIC_AUTHORIZATION_FAILED');
    } finally {
      await consumer.disconnect();
    }
    expect(stolen).toEqual([]);

    const admin = site.admin();
    await admin.connect();
    try {
      const invented = topicNames(uniqueName('t')).callEvents;
      const created = await refusal(
        'site-beijing creating a topic',
        admin.createTopics({ topics: [{ topic: invented }] }),
      );
      expect(kafkaErrorTypes(created)).toEqual(['TOPIC_AUTHORIZATION_FAILED']);
      const deleted = await refusal(
        'site-beijing deleting a topic',
        admin.deleteTopics({ topics: [topics.callEvents] }),
      );
      expect(kafkaErrorTypes(deleted)).toContain('TOPIC_AUTHORIZATION_FAILED');
      // Of this prefix's topics, the brokers show it only those it may use.
      expect((await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`)).sort()).toEqual(
        [
          topics.callEvents,
          topics.agentEvents,
          topics.siteSnapshots,
          topics.recordings,
          topics.routingPolicy,
          topics.customerDirectory,
        ].sort(),
      );
    } finally {
      await admin.disconnect();
    }
    expect(await ends(topics)).toEqual(before);
  });

  it('lets a site write its event topics and read the routing policy the API wrote', async () => {
    // The API, the routing policy's only writer, publishes a version.
    const api = (await kafkaAs({ role: 'api' }, prefix)).producer({ idempotent: true });
    await api.connect();
    await api.send({ topic: topics.routingPolicy, messages: value('{"version":1}') });
    await api.disconnect();

    const site = await kafkaAs({ role: 'site', site: 'beijing' }, prefix);
    const producer = site.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (const topic of [topics.callEvents, topics.agentEvents, topics.siteSnapshots])
      await producer.send({ topic, messages: value(`an event on ${topic}`) });
    await producer.disconnect();
    expect(await ends(topics)).toEqual({
      ...before,
      [topics.routingPolicy]: before[topics.routingPolicy]! + 1,
      [topics.callEvents]: before[topics.callEvents]! + 1,
      [topics.agentEvents]: before[topics.agentEvents]! + 1,
      [topics.siteSnapshots]: before[topics.siteSnapshots]! + 1,
    });

    const consumer = site.consumer({
      groupId: siteGroupId('beijing', 'policy'),
      maxWaitTimeInMs: READER_MAX_WAIT_MS,
    });
    const read: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topics.routingPolicy], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => void read.push(String(message.value)),
      });
      await waitFor('the routing policy read by the site', async () =>
        read.length > 0 ? true : undefined,
      );
    } finally {
      await consumer.disconnect();
    }
    expect(read).toEqual(['{"version":1}']);
  });

  it("refuses a site a consumer group outside its own prefix (another site's)", async () => {
    // kafkajs reports a refused coordinator lookup only as "Failed to find group coordinator"; the
    // broker's reason is in its debug log, which this client keeps.
    const reasons: string[] = [];
    const { username, password } = await credentialsFor({ role: 'site', site: 'beijing' }, prefix);
    const site = new Kafka({
      brokers: kafkaBrokers(),
      clientId: 'site-beijing',
      ssl: { ca: [ca()] },
      sasl: { mechanism: 'scram-sha-512', username, password },
      retry: { retries: 0 },
      logLevel: logLevel.DEBUG,
      logCreator:
        () =>
        ({ log }) => {
          const error = (log as { error?: unknown }).error;
          if (log.message === 'Tried to find group coordinator' && error)
            reasons.push(...kafkaErrorTypes(error), String(error));
        },
    });
    const consumer = site.consumer({ groupId: siteGroupId('shanghai', 'policy') });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topics.routingPolicy], fromBeginning: true });
      // The group is joined once the consumer runs: kafkajs says so, or reports the refusal as
      // a crash.
      const joined = new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.GROUP_JOIN, () => resolve());
        consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      });
      await consumer.run({ eachMessage: async () => undefined });
      const err = await refusal("site-beijing joining a group of site-shanghai's", joined);
      expect(err.name).toBe('KafkaJSGroupCoordinatorNotFound');
      expect(reasons.join(' ')).toMatch(/GROUP_AUTHORIZATION_FAILED|Group authorization failed/);
    } finally {
      await consumer.disconnect();
    }
  });
});
