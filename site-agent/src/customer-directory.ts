// Who a caller is, the way a CTI system identifies a caller: by their number, looked up in the
// customer directory the enterprise's CRM keeps (topic customer-directory, compacted, keyed
// `<tenant>:<callerHash>`). A caller who is not behind a trusted IVR gets their customer id and
// tier from here, never from headers they set themselves. The site follows the topic from its
// beginning in the background and takes calls meanwhile (a caller not found yet is a standard
// caller): retried until Kafka answers, like the routing policy.
import { followCompactedTopic } from '@ccfed/common';
import { CustomerDirectoryEntry, CustomerTier, customerDirectoryKey } from '@ccfed/proto';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';

/** What the directory says about one caller of one tenant. */
export interface DirectoryIdentity {
  readonly customerId: string;
  readonly tier: CustomerTier;
}

const CALLER_HASH = /^[0-9a-f]{32}$/;
const CUSTOMER_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const TIERS = new Set([
  CustomerTier.CUSTOMER_TIER_STANDARD,
  CustomerTier.CUSTOMER_TIER_SILVER,
  CustomerTier.CUSTOMER_TIER_GOLD,
  CustomerTier.CUSTOMER_TIER_VIP,
]);

export type DirectoryUpdate =
  | { readonly outcome: 'set' | 'forgotten'; readonly key: string }
  | { readonly outcome: 'rejected'; readonly reason: string };

/** The directory as this site knows it. Entries are checked: a bad one changes nothing. */
export class CustomerDirectory {
  private readonly entries = new Map<string, DirectoryIdentity>();

  get size(): number {
    return this.entries.size;
  }

  /** The caller `callerHash` of `tenantId`, if the directory knows them. */
  lookup(tenantId: string, callerHash: string): DirectoryIdentity | undefined {
    return this.entries.get(customerDirectoryKey(tenantId, callerHash));
  }

  /** Applies one message of the topic: an entry, or a tombstone (null value) that forgets one. */
  apply(key: Buffer | string | null, value: Buffer | null): DirectoryUpdate {
    const k = key === null ? '' : String(key);
    if (value === null) {
      if (!this.entries.delete(k))
        return { outcome: 'rejected', reason: `no entry ${k} to forget` };
      return { outcome: 'forgotten', key: k };
    }
    let entry: CustomerDirectoryEntry;
    try {
      entry = CustomerDirectoryEntry.decode(value);
    } catch (err) {
      return {
        outcome: 'rejected',
        reason: `not a CustomerDirectoryEntry: ${(err as Error).message}`,
      };
    }
    const tenantId = entry.meta?.tenantId ?? '';
    if (!CALLER_HASH.test(entry.callerHash))
      return { outcome: 'rejected', reason: 'caller_hash is not 32 hex characters' };
    if (k !== customerDirectoryKey(tenantId, entry.callerHash))
      return { outcome: 'rejected', reason: 'key is not <tenant>:<caller_hash> of the entry' };
    if (!CUSTOMER_ID.test(entry.customerId))
      return { outcome: 'rejected', reason: 'customer_id: expected 1-64 letters, digits, . _ : -' };
    if (!TIERS.has(entry.tier))
      return { outcome: 'rejected', reason: `unknown tier ${entry.tier}` };
    this.entries.set(k, { customerId: entry.customerId, tier: entry.tier });
    return { outcome: 'set', key: k };
  }
}

export interface DirectoryFollowerDeps {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly directory: CustomerDirectory;
  readonly groupId: string;
  readonly log: Logger;
}

/** Follows the customer directory topic into `directory` until stopped, retrying while Kafka is away. */
export function followCustomerDirectory(deps: DirectoryFollowerDeps): { stop(): Promise<void> } {
  const { kafka, topic, directory, groupId, log } = deps;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let following: { stop(): Promise<void> } | undefined;
  void (async () => {
    for (let waitMs = 500; !stopped; waitMs = Math.min(waitMs * 2, 10_000)) {
      try {
        const feed = await followCompactedTopic({
          kafka,
          topic,
          groupId,
          log,
          onMessage: (value, offset, key) => {
            const update = directory.apply(key, value);
            if (update.outcome === 'rejected')
              log.warn(
                { event: 'customer_directory_entry_rejected', offset, reason: update.reason },
                'ignored a customer directory entry',
              );
          },
        });
        void feed.caughtUp.then(() =>
          log.info(
            { event: 'customer_directory_caught_up', entries: directory.size },
            'customer directory read to its end; callers are identified by it',
          ),
        );
        if (stopped) await feed.stop();
        else following = feed;
        return;
      } catch (err) {
        log.warn(
          {
            event: 'customer_directory_not_followed',
            err: (err as Error).message,
            retryInMs: waitMs,
          },
          'cannot follow the customer directory yet; callers are served as standard callers',
        );
        await new Promise<void>((r) => (timer = setTimeout(r, waitMs)));
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await following?.stop();
    },
  };
}
