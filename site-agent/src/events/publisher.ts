import {
  AgentEvent,
  CallEvent,
  KAFKA_HEADERS,
  RecordingEvent,
  SiteSnapshot,
  type TopicNames,
} from '@ccfed/proto';
import type { Outbox } from './outbox.js';

export interface EventPublisherDeps {
  readonly topics: TopicNames;
  /** Events are written to this outbox; an OutboxSender delivers them to Kafka. */
  readonly outbox: Outbox;
}

/**
 * Publishes a site's events as protobuf, keyed as ARCHITECTURE.md "Events" says. A call returns
 * once the event is in the outbox file, whether Kafka is reachable or not. It rejects only when
 * the event could not be stored: OutboxFullError when the outbox is at its size limit,
 * OutboxError when the disk write failed.
 */
export class EventPublisher {
  constructor(private readonly deps: EventPublisherDeps) {}

  /** Keyed by call id: one call's events stay in order. */
  async callEvent(event: CallEvent): Promise<void> {
    await this.send(
      this.deps.topics.callEvents,
      event.callId,
      CallEvent.encode(event).finish(),
      'ccfed.events.v1.CallEvent',
      event.meta?.trace?.traceparent,
    );
  }

  /** Keyed by agent id: one agent's transitions stay in order. */
  async agentEvent(event: AgentEvent): Promise<void> {
    await this.send(
      this.deps.topics.agentEvents,
      event.agentId,
      AgentEvent.encode(event).finish(),
      'ccfed.events.v1.AgentEvent',
    );
  }

  /** Keyed by site id. */
  async siteSnapshot(snapshot: SiteSnapshot): Promise<void> {
    await this.send(
      this.deps.topics.siteSnapshots,
      snapshot.meta?.siteId ?? '',
      SiteSnapshot.encode(snapshot).finish(),
      'ccfed.events.v1.SiteSnapshot',
    );
  }

  /** Keyed by recording id: a recording's storing comes before its deletion. */
  async recordingEvent(event: RecordingEvent): Promise<void> {
    await this.send(
      this.deps.topics.recordings,
      event.recordingId,
      RecordingEvent.encode(event).finish(),
      'ccfed.events.v1.RecordingEvent',
    );
  }

  private async send(
    topic: string,
    key: string,
    value: Uint8Array,
    type: string,
    traceparent?: string,
  ): Promise<void> {
    const headers: Record<string, string> = { [KAFKA_HEADERS.messageType]: type };
    if (traceparent) headers[KAFKA_HEADERS.traceparent] = traceparent;
    this.deps.outbox.append({ topic, key, value, headers });
  }
}
