// Every name that crosses a process boundary lives here: Kafka topics, Kafka headers and the
// SIP X-CC-* headers. Nothing else in ccfed spells these strings.

/** The suffixes of ccfed's Kafka topics; the full name is `<prefix>.<suffix>`. */
export const TOPIC_SUFFIXES = {
  callEvents: 'call-events',
  agentEvents: 'agent-events',
  siteSnapshots: 'site-snapshots',
  surveys: 'surveys',
  crmEvents: 'crm-events',
  routeDecisions: 'route-decisions',
  deadLetter: 'dead-letter',
  /** The routing policy in force: one JSON document per version, compacted to the latest. */
  routingPolicy: 'routing-policy',
  /**
   * Who each caller is (CustomerDirectoryEntry), keyed `<tenant>:<callerHash>`, compacted to the
   * latest entry: written by the CRM connector, read from its beginning by every site agent.
   */
  customerDirectory: 'customer-directory',
  /**
   * The index of the call recordings the sites keep (RecordingEvent: stored, deleted, failed),
   * keyed by recording id: written by the site that holds the recording, landed by the ingester.
   */
  recordings: 'recordings',
} as const;

export type TopicKind = keyof typeof TOPIC_SUFFIXES;
export type TopicNames = { readonly [K in TopicKind]: string };

/**
 * Partitions of each topic when ccfed creates it. Events are keyed (call, agent, site id), so
 * order holds per key whatever the count; more partitions mean more ingesters in parallel.
 */
export const DEFAULT_TOPIC_PARTITIONS = 3;

/** The production prefix. Tests use their own prefix so that each gets fresh topics. */
export const DEFAULT_TOPIC_PREFIX = 'ccfed';

const TOPIC_PREFIX_PATTERN = /^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/;

/** Full topic names under one prefix, e.g. `ccfed.call-events`. */
export function topicNames(prefix: string = DEFAULT_TOPIC_PREFIX): TopicNames {
  if (!TOPIC_PREFIX_PATTERN.test(prefix) || prefix.length > 100) {
    throw new Error(
      `topic prefix ${JSON.stringify(prefix)} is not valid: use letters, digits, '_', '-' and '.' only, at most 100 characters`,
    );
  }
  const entries = Object.entries(TOPIC_SUFFIXES).map(([kind, suffix]) => [
    kind,
    `${prefix}.${suffix}`,
  ]);
  return Object.freeze(Object.fromEntries(entries)) as TopicNames;
}

/** Every topic under one prefix, e.g. for creating them all. */
export function allTopics(names: TopicNames): string[] {
  return (Object.keys(TOPIC_SUFFIXES) as TopicKind[]).map((k) => names[k]);
}

/**
 * Topics that hold current state rather than a stream of events: one partition (so every reader
 * sees every version in the same order) and compacted (Kafka keeps the latest value per key).
 */
export const STATE_TOPICS: readonly TopicKind[] = ['routingPolicy', 'customerDirectory'];

/**
 * Copies of a write a topic with `replicationFactor` copies needs before acks=all acknowledges it
 * (min.insync.replicas): all but one, at most 2. With 3 copies one broker can be lost with no
 * acknowledged write lost and no write refused; with fewer there is no copy to spare.
 */
export function minInsyncReplicasFor(replicationFactor: number): number {
  return replicationFactor >= 3 ? 2 : 1;
}

/** How to create one of ccfed's topics. */
export interface TopicCreation {
  readonly topic: string;
  readonly partitions: number;
  readonly compacted: boolean;
}

/** How to create every topic under one prefix: event topics with `partitions`, state topics compacted with one. */
export function topicCreations(
  names: TopicNames,
  partitions: number = DEFAULT_TOPIC_PARTITIONS,
): TopicCreation[] {
  return (Object.keys(TOPIC_SUFFIXES) as TopicKind[]).map((k) =>
    STATE_TOPICS.includes(k)
      ? { topic: names[k], partitions: 1, compacted: true }
      : { topic: names[k], partitions, compacted: false },
  );
}

/** Kafka headers ccfed sets. */
export const KAFKA_HEADERS = {
  /** Protobuf message type of the value, e.g. `ccfed.events.v1.CallEvent`. */
  messageType: 'ccfed-type',
  /** W3C trace context of the event. */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** On dead-letter messages: why the consumer could not use the original. */
  dlqReason: 'ccfed-dlq-reason',
  dlqSourceTopic: 'ccfed-dlq-source-topic',
  dlqSourcePartition: 'ccfed-dlq-source-partition',
  dlqSourceOffset: 'ccfed-dlq-source-offset',
  dlqConsumer: 'ccfed-dlq-consumer',
} as const;

/**
 * SIP headers carrying a call's context: set by a trusted IVR or SBC in front of a site (tier,
 * customer, skill) and by the origin site when it overflows a call to another site (all of them,
 * signed). From any other source Kamailio removes them (docs/security.md, "SIP").
 */
export const SIP_HEADERS = {
  callId: 'X-CC-Call-Id',
  tenant: 'X-CC-Tenant',
  skill: 'X-CC-Skill',
  tier: 'X-CC-Tier',
  customer: 'X-CC-Customer',
  originSite: 'X-CC-Origin-Site',
  /** Original arrival time at the federation, milliseconds since the Unix epoch. */
  arrival: 'X-CC-Arrival',
  hops: 'X-CC-Hops',
  decision: 'X-CC-Decision',
  /**
   * A transferred call (docs/transfer.md): when the agent transferred it (epoch ms; the target's
   * service-level wait counts from it), and the call id it continues.
   */
  transferredAt: 'X-CC-Transferred-At',
  transferredFrom: 'X-CC-Transferred-From',
  traceparent: 'X-CC-Traceparent',
  /**
   * The origin site's HMAC over the Call-ID, the dialed number, every other X-CC-* header and a
   * timestamp (site-agent/src/sip-context-signature.ts): `v1;t=<epoch ms>;s=<base64url>`.
   */
  signature: 'X-CC-Signature',
} as const;

/** Kafka message key of a customer directory entry. */
export function customerDirectoryKey(tenantId: string, callerHash: string): string {
  return `${tenantId}:${callerHash}`;
}

/** The longest value ccfed accepts in any X-CC-* header; longer ones are refused as malformed. */
export const SIP_HEADER_MAX_LENGTH = 128;

/**
 * OpenTelemetry span names, as traces show them (docs/operations.md, "Telemetry"). One call is one
 * trace: the origin's `call` span, its `RequestRoute` client span, the router's `RequestRoute`
 * server span, the target site's `call` span and an `ingest <topic>` span per event.
 */
export const SPAN_NAMES = {
  call: 'call',
  requestRoute: 'RequestRoute',
  /** Followed by the topic name. */
  ingestPrefix: 'ingest ',
} as const;

/** OpenTelemetry metric names (docs/operations.md, "Telemetry"). */
export const METRIC_NAMES = {
  /** Gauge, per skill: calls waiting in the site's queue. */
  queueLength: 'ccfed.site.queue.length',
  /** Gauge, per skill, ms: expected wait of a new call; absent while no agent is staffed. */
  expectedWait: 'ccfed.site.queue.expected_wait',
  /** Counter, by skill and outcome (answered, abandoned, overflowed, refused, ...): calls that left. */
  calls: 'ccfed.site.calls',
  /**
   * Counter, by router (host:port) and cause (error, no-answer): router questions a site agent
   * also put to the other router of the pair because this one failed or did not answer in time.
   */
  routerFailovers: 'ccfed.site.router_failovers',
  /** Counter, by verdict (stay, overflow) and target site: the router's decisions. */
  routeDecisions: 'ccfed.router.decisions',
  /** Histogram, ms, by verdict: time the router took to decide. */
  routeDecisionDuration: 'ccfed.router.decision.duration',
  /** Counter, by origin site: calls kept at home because their origin held its reservation cap. */
  routeReservationsCapped: 'ccfed.router.reservations_capped',
  /** Gauge, per topic and partition: messages after the ingester's committed offset. */
  consumerLag: 'ccfed.ingester.consumer_lag',
  /** Counter, per topic: events stored in ClickHouse. */
  eventsIngested: 'ccfed.ingester.events',
} as const;
