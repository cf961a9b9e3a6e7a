import { describe, expect, it } from 'vitest';
import {
  failureDetectionProblem,
  kafkaReplication,
  serverProperties,
  type KafkaFailureDetection,
} from './server-properties.js';

/** The properties file as key → value. */
function parse(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const node = (nodeId: number, brokers: number, failureDetection?: KafkaFailureDetection) =>
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
      failureDetection,
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

describe('how soon a silent broker is fenced', () => {
  it("leaves Kafka's own defaults unless asked", () => {
    const p = node(1, 3);
    expect([p.get('broker.session.timeout.ms'), p.get('broker.heartbeat.interval.ms')]).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('writes the session timeout and heartbeat interval it is given', () => {
    const p = node(2, 3, { sessionTimeoutMs: 4000, heartbeatIntervalMs: 500 });
    expect([p.get('broker.session.timeout.ms'), p.get('broker.heartbeat.interval.ms')]).toEqual([
      '4000',
      '500',
    ]);
  });

  it('refuses a timeout too short or a heartbeat too rare to be told apart from a crash', () => {
    expect(failureDetectionProblem({ sessionTimeoutMs: 4000, heartbeatIntervalMs: 500 })).toBe(
      undefined,
    );
    expect(failureDetectionProblem({ sessionTimeoutMs: 500, heartbeatIntervalMs: 100 })).toMatch(
      /sessionTimeoutMs must be .* from 1000 to 600000, got 500/,
    );
    expect(failureDetectionProblem({ sessionTimeoutMs: 3000, heartbeatIntervalMs: 1500 })).toMatch(
      /heartbeatIntervalMs must be .* a third of sessionTimeoutMs \(1000\), got 1500/,
    );
    expect(failureDetectionProblem({ sessionTimeoutMs: 4000.5, heartbeatIntervalMs: 500 })).toMatch(
      /whole number/,
    );
    expect(failureDetectionProblem({ sessionTimeoutMs: 4000, heartbeatIntervalMs: 50 })).toMatch(
      /heartbeatIntervalMs/,
    );
  });
});
