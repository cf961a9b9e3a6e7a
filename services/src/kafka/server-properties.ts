// What each broker of a launched cluster is told (its server.properties), and how the cluster's
// topics are replicated: the settings a broker's behaviour on failure comes from.
import { KAFKA_ADMIN_USER } from '@ccfed/common';
import { minInsyncReplicasFor } from '@ccfed/proto';
import { LOOPBACK } from '../ports.js';

/** The broker's principal on its TLS-only listeners: its certificate's subject (services/src/pki.ts). */
export const BROKER_TLS_PRINCIPAL = 'CN=service:kafka,O=ccfed';

/** How topics are replicated on a cluster of some size. */
export interface KafkaReplication {
  /** Copies of each partition. */
  readonly factor: number;
  /** Copies that must have a write before it is acknowledged (acks=all). */
  readonly minInsyncReplicas: number;
}

/**
 * Replication for `brokers` brokers: 3 copies where there are 3 or more, and a write needs 2 of
 * them, so one broker can be lost with no write refused and no acknowledged write lost; a smaller
 * cluster keeps what it can (a single broker: 1 and 1).
 */
export function kafkaReplication(brokers: number): KafkaReplication {
  const factor = Math.min(3, brokers);
  return { factor, minInsyncReplicas: minInsyncReplicasFor(factor) };
}

/** One broker's server.properties. */
export function serverProperties(p: {
  nodeId: number;
  voters: string;
  single: boolean;
  replication: KafkaReplication;
  port: number;
  controllerPort: number;
  internalPort: number;
  segments: string;
  partitions: number;
  keyStore: string;
  trustStore: string;
}): string {
  const { factor, minInsyncReplicas } = p.replication;
  return `# Written by services/src/kafka/launcher.ts: ${p.single ? 'one broker' : `broker ${p.nodeId} of a cluster`}, KRaft combined mode, loopback only.
process.roles=broker,controller
node.id=${p.nodeId}
controller.quorum.voters=${p.voters}
# Clients: TLS, then SCRAM-SHA-512. Brokers and controllers talk to each other over TLS with the
# brokers' own certificates (client authentication required): no password in this file, and
# only that certificate is a super user there (docs/security.md, "Kafka").
listeners=SASL_SSL://${LOOPBACK}:${p.port},INTERNAL://${LOOPBACK}:${p.internalPort},CONTROLLER://${LOOPBACK}:${p.controllerPort}
advertised.listeners=SASL_SSL://${LOOPBACK}:${p.port},INTERNAL://${LOOPBACK}:${p.internalPort}
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.internal.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=${p.keyStore}
ssl.truststore.type=PEM
ssl.truststore.location=${p.trustStore}
ssl.enabled.protocols=TLSv1.3,TLSv1.2
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# The TLS principal is the certificate's subject: only the brokers' own (CN service:kafka, from
# the federation CA) is a super user; any other certificate on those two ports gets no rights.
super.users=User:${KAFKA_ADMIN_USER};User:${BROKER_TLS_PRINCIPAL}
log.dirs=${p.segments}
num.partitions=${p.partitions}
# Replication (kafkaReplication): with three brokers every partition, the consumer offsets and
# the transaction log included, has 3 copies and takes a write (acks=all) only when 2 have it,
# so one broker can die without losing an acknowledged write or refusing a new one.
default.replication.factor=${factor}
min.insync.replicas=${minInsyncReplicas}
offsets.topic.replication.factor=${factor}
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=${factor}
transaction.state.log.min.isr=${minInsyncReplicas}
transaction.state.log.num.partitions=1
# Only a replica that has every acknowledged write may become leader.
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
# ccfed creates its topics explicitly; a typo in a topic name must fail, not create a topic.
auto.create.topics.enable=false
delete.topic.enable=true
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
# Tests create and drop many topics: remove deleted ones promptly instead of after 60 s.
log.segment.delete.delay.ms=1000
log.initial.task.delay.ms=1000
`;
}
