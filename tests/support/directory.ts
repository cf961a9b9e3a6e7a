// The customer directory as the enterprise's CRM connector writes it (principal `crm`): one
// CustomerDirectoryEntry per caller and tenant on the customer-directory topic, keyed
// `<tenant>:<callerHash>`, the caller's number hashed with the federation's caller-hash key.
import { randomUUID } from 'node:crypto';
import { createKafka, silentLogger } from '@ccfed/common';
import {
  CustomerDirectoryEntry,
  customerDirectoryKey,
  type CustomerTier,
  type TopicNames,
} from '@ccfed/proto';
import { callerHash } from '@ccfed/site-agent/caller-hash';
import { kafkaBrokers } from './engines.js';

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
  const producer = createKafka({
    brokers: kafkaBrokers(),
    clientId: 'test-crm',
    log: silentLogger(),
  }).producer();
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
