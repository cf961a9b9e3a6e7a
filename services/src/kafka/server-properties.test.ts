import { describe, expect, it } from 'vitest';
import { kafkaReplication, serverProperties } from './server-properties.js';

/** The properties file as key → value. */
function parse(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const node = (nodeId: number, brokers: number) =>
  parse(
    serverProperties({
      nodeId,
      voters: '1@127.0.0.1:10001,2@127.0.0.1:10011,3@127.0.0.1:10021',
      single: brokers === 1,
      replication: kafkaReplication(brokers),
      port: 10000 + 10 * (nodeId - 1),
      controllerPort: 10001 + 10 * (nodeId - 1),
      internalPort: 10002 + 10 * (nodeId - 1),
      segments: '/data/segments',
      partitions: 3,
      keyStore: '/data/tls/broker.pem',
      trustStore: '/pki/ca.crt',
    }),
  );

describe('Kafka replication by cluster size', () => {
  it('keeps 3 copies and needs 2 for a write from three brokers on, what one broker has alone', () => {
    expect([1, 2, 3, 5].map(kafkaReplication)).toEqual([
      { factor: 1, minInsyncReplicas: 1 },
      { factor: 2, minInsyncReplicas: 1 },
      { factor: 3, minInsyncReplicas: 2 },
      { factor: 3, minInsyncReplicas: 2 },
    ]);
  });

  it('gives every broker of a cluster the same replication defaults, internal topics included, and no unclean election', () => {
    for (const id of [1, 2, 3]) {
      const p = node(id, 3);
      expect({
        node: p.get('node.id'),
        voters: p.get('controller.quorum.voters'),
        rf: p.get('default.replication.factor'),
        minIsr: p.get('min.insync.replicas'),
        offsetsRf: p.get('offsets.topic.replication.factor'),
        txRf: p.get('transaction.state.log.replication.factor'),
        txMinIsr: p.get('transaction.state.log.min.isr'),
        unclean: p.get('unclean.leader.election.enable'),
      }).toEqual({
        node: String(id),
        voters: '1@127.0.0.1:10001,2@127.0.0.1:10011,3@127.0.0.1:10021',
        rf: '3',
        minIsr: '2',
        offsetsRf: '3',
        txRf: '3',
        txMinIsr: '2',
        unclean: 'false',
      });
    }
  });

  it('keeps a single broker writable alone', () => {
    const p = node(1, 1);
    expect([p.get('default.replication.factor'), p.get('min.insync.replicas')]).toEqual(['1', '1']);
  });
});
