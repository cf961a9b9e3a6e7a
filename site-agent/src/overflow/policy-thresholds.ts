// Each skill's overflow threshold follows the routing policy HQ edits: the site agent reads the
// compacted routing-policy topic (as the router does) and rewrites the threshold map its overflow
// trigger reads on every tick, so a changed threshold takes effect without a restart. The site
// starts with the topology file's thresholds and never waits for Kafka to take calls: the topic is
// followed in the background, retried until Kafka answers.
import { followCompactedTopic } from '@ccfed/common';
import { PolicyHolder, type PolicyDocument, type Topology } from '@ccfed/topology';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';

/** Skill → threshold (ms) the document sets; skills it does not list never ask the router. */
export function thresholdsOf(doc: PolicyDocument): Map<string, number> {
  return new Map(Object.entries(doc.skills).map(([id, s]) => [id, s.thresholdSeconds * 1000]));
}

/** Skill → wait (ms) after which a call asks whatever its forecast, for skills that set one. */
export function askAftersOf(doc: PolicyDocument): Map<string, number> {
  return new Map(
    Object.entries(doc.skills).flatMap(([id, s]) =>
      s.askAfterWaitingSeconds === undefined
        ? []
        : [[id, s.askAfterWaitingSeconds * 1000] as const],
    ),
  );
}

/** Replaces the maps' contents in place: their readers hold the same Maps. */
export function replaceThresholds(
  target: Map<string, number>,
  doc: PolicyDocument,
  askAfterTarget?: Map<string, number>,
): void {
  target.clear();
  for (const [skill, ms] of thresholdsOf(doc)) target.set(skill, ms);
  if (!askAfterTarget) return;
  askAfterTarget.clear();
  for (const [skill, ms] of askAftersOf(doc)) askAfterTarget.set(skill, ms);
}

export interface PolicyThresholdsDeps {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly topology: Topology;
  /** The maps the overflow trigger reads; rewritten for each new policy version. */
  readonly thresholdMs: Map<string, number>;
  readonly askAfterMs?: Map<string, number>;
  readonly groupId: string;
  readonly log: Logger;
  /** Called with each policy version applied (after the thresholds), e.g. for tenant exclusions. */
  readonly onApplied?: (doc: PolicyDocument) => void;
}

/** Follows the routing-policy topic into `thresholdMs` until stopped, retrying while Kafka is away. */
export function followPolicyThresholds(deps: PolicyThresholdsDeps): { stop(): Promise<void> } {
  const { kafka, topic, topology, thresholdMs, askAfterMs, groupId, log } = deps;
  const holder = new PolicyHolder(topology);
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
          onMessage: (value, offset) => {
            const offer = holder.offer(value);
            if (offer.outcome === 'applied') {
              replaceThresholds(thresholdMs, offer.document, askAfterMs);
              deps.onApplied?.(offer.document);
              log.info(
                {
                  event: 'routing_policy_applied',
                  version: offer.document.version,
                  thresholdsMs: Object.fromEntries(thresholdMs),
                  offset,
                },
                'overflow thresholds follow routing policy',
              );
            } else if (offer.outcome === 'rejected') {
              log.warn(
                { event: 'routing_policy_rejected', offset, reason: offer.reason },
                'ignored a routing policy this site cannot use; the held thresholds stay',
              );
            }
          },
        });
        if (stopped) await feed.stop();
        else following = feed;
        return;
      } catch (err) {
        log.warn(
          { event: 'routing_policy_not_followed', err: (err as Error).message, retryInMs: waitMs },
          'cannot follow the routing policy yet; the held thresholds stay',
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
