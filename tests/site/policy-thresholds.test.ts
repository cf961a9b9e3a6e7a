// A site agent's overflow thresholds follow the routing-policy topic on real Kafka: the adapter
// the site agent runs (followPolicyThresholds) rewrites the very Map its overflow trigger reads
// when a new version is published, skips messages it cannot use, and starts
// following even when it was started before the topic existed.
import { ensureTopics, siteGroupId, silentLogger } from '@ccfed/common';
import { topicNames } from '@ccfed/proto';
import { followPolicyThresholds } from '@ccfed/site-agent/overflow/policy-thresholds';
import { encodePolicyDocument, loadTopology, policyFromTopology } from '@ccfed/topology';
import { describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from '../support/engines.js';
import { adminKafka, kafkaAs } from '../support/kafka.js';
import { EXAMPLE_TOPOLOGY } from '../support/topology.js';

describe('site agent thresholds from the routing-policy topic', () => {
  it("rewrites the trigger's thresholds for each valid new version and survives bad messages", async () => {
    const topology = loadTopology(EXAMPLE_TOPOLOGY);
    const prefix = uniqueName('t');
    const topic = topicNames(prefix).routingPolicy;
    // The follower reads as the site does; the versions come from the API, its only writer.
    const kafka = await kafkaAs({ role: 'site', site: 'beijing' }, prefix, 'site-policy');
    const api = await kafkaAs({ role: 'api' }, prefix, 'api-policy');
    const thresholdMs = new Map([
      ['sales', 30_000],
      ['support', 30_000],
      ['complaints', 45_000],
    ]);
    // Started before the topic exists, as a site that comes up before the router: it retries.
    const follower = followPolicyThresholds({
      kafka,
      topic,
      topology,
      thresholdMs,
      groupId: siteGroupId('beijing', 'policy'),
      log: silentLogger(),
    });
    const producer = api.producer();
    try {
      await new Promise((r) => setTimeout(r, 300));
      await ensureTopics(adminKafka(), [{ topic, partitions: 1, compacted: true }]);
      await producer.connect();
      const publish = (version: number, supportSeconds: number) => {
        const doc = structuredClone({
          ...policyFromTopology(topology),
          version,
          changedBy: 'li.wei',
          changedAt: new Date().toISOString(),
        });
        doc.skills.support!.thresholdSeconds = supportSeconds;
        return producer.send({
          topic,
          messages: [{ key: 'routing-policy', value: encodePolicyDocument(doc) }],
        });
      };
      await publish(1, 90);
      await waitFor('support threshold 90 s', async () =>
        thresholdMs.get('support') === 90_000 ? true : undefined,
      );
      // Messages this site cannot use (out of range, not JSON) are skipped without stopping it.
      await publish(2, 99_999);
      await producer.send({ topic, messages: [{ key: 'routing-policy', value: 'garbage' }] });
      await publish(3, 120);
      await waitFor('support threshold 120 s', async () =>
        thresholdMs.get('support') === 120_000 ? true : undefined,
      );
      expect(Object.fromEntries(thresholdMs)).toEqual({
        sales: 30_000,
        support: 120_000,
        complaints: 45_000,
      });
    } finally {
      await producer.disconnect();
      await follower.stop();
    }
  }, 60_000);
});
