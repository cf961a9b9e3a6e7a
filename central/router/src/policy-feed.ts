// The routing policy HQ edits while the federation runs: the router follows the compacted
// routing-policy topic from its beginning and swaps its policy in place for each valid new
// version, keeping site figures and reservations. Until the topic holds a document the router
// goes by the topology file (version 0). Start-up waits until the topic has been read to its end,
// so a restarted router never answers by an older policy than the one in force.
import { followCompactedTopic } from '@ccfed/common';
import type { TopicNames } from '@ccfed/proto';
import { PolicyHolder, type PolicyOffer, type Topology } from '@ccfed/topology';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { routingPolicyOf } from './routing/policy.js';
import type { Router } from './routing/router.js';

/** Applies one message of the routing-policy topic to `router`; never throws for bad input. */
export function applyPolicyMessage(
  holder: PolicyHolder,
  router: Pick<Router, 'setPolicy'>,
  topology: Topology,
  value: Buffer | null,
): PolicyOffer {
  const offer = holder.offer(value);
  if (offer.outcome === 'applied') router.setPolicy(routingPolicyOf(topology, offer.document));
  return offer;
}

export interface PolicyFeedDeps {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly topology: Topology;
  readonly router: Pick<Router, 'setPolicy'>;
  readonly log: Logger;
  readonly groupId: string;
}

/** Follows the routing-policy topic into the router; resolves once it has read the topic's end. */
export async function startPolicyFeed(deps: PolicyFeedDeps): Promise<{ stop(): Promise<void> }> {
  const { kafka, topics, topology, router, log, groupId } = deps;
  const holder = new PolicyHolder(topology);
  const feed = await followCompactedTopic({
    kafka,
    topic: topics.routingPolicy,
    groupId,
    log,
    onMessage: (value, offset) => {
      const offer = applyPolicyMessage(holder, router, topology, value);
      if (offer.outcome === 'applied')
        log.info(
          {
            event: 'routing_policy_applied',
            version: offer.document.version,
            changedBy: offer.document.changedBy,
            changedAt: offer.document.changedAt,
            offset,
          },
          'routing policy applied',
        );
      else if (offer.outcome === 'rejected')
        log.warn(
          { event: 'routing_policy_rejected', offset, reason: offer.reason },
          'ignored a routing policy this router cannot use; the held policy stays',
        );
    },
  });
  await feed.caughtUp;
  log.info(
    { event: 'routing_policy_in_force', version: holder.current.version },
    'routing policy read',
  );
  return feed;
}
