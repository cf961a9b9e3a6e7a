// The customer directory as the enterprise's CRM connector writes it (principal `crm`): one
// CustomerDirectoryEntry per caller and tenant on the customer-directory topic, keyed
// `<tenant>:<callerHash>`, the caller's number hashed with the federation's caller-hash key.
import { randomUUID } from 'node:crypto';
import {
  CustomerDirectoryEntry,
  customerDirectoryKey,
  type CustomerTier,
  TOPIC_SUFFIXES,
  type TopicNames,
} from '@ccfed/proto';
import { callerHash } from '@ccfed/site-agent/caller-hash';
import { kafkaAs } from './kafka.js';

/** The caller-hash key every test site agent gets (CCFED_CALLER_HASH_KEY). */
export const TEST_CALLER_HASH_KEY = 'test-federation-caller-hash-key';

export interface DirectoryCaller {
  readonly tenant: string;
  /** The caller's number, as their From user presents it. */
  readonly number: string;
  readonly customerId: string;
  readonly tier: CustomerTier;
}

/** Publishes directory entries for `callers`, as the CRM connector would. */
export async function publishDirectory(
  topics: TopicNames,
  callers: readonly DirectoryCaller[],
): Promise<void> {
  // As the CRM connector's Kafka user, which alone writes the directory.
  const producer = (
    await kafkaAs(
      { role: 'crm' },
      topics.customerDirectory.slice(0, -TOPIC_SUFFIXES.customerDirectory.length - 1),
      'test-crm',
    )
  ).producer();
  await producer.connect();
  try {
    await producer.send({
      topic: topics.customerDirectory,
      messages: callers.map((c) => {
        const hash = callerHash(TEST_CALLER_HASH_KEY, c.number);
        return {
          key: customerDirectoryKey(c.tenant, hash),
          value: Buffer.from(
            CustomerDirectoryEntry.encode({
              meta: {
                eventId: randomUUID(),
                tenantId: c.tenant,
                siteId: '',
                eventTime: new Date(),
                trace: undefined,
                producerSequence: 0,
              },
              callerHash: hash,
              customerId: c.customerId,
              tier: c.tier,
            }).finish(),
          ),
        };
      }),
    });
  } finally {
    await producer.disconnect();
  }
}
