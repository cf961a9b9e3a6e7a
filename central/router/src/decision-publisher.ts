// Publishes every RouteDecision to the route-decisions topic, keyed by call id, off the RPC path.
//
// A site agent asks the router with a deadline of a few hundred milliseconds and keeps the call
// local when the answer is late, so the answer must never wait for Kafka. publish() only queues
// the event; one loop, lingering a few milliseconds so that a busy router makes tens of produce
// requests a second rather than one per decision, encodes what has queued and sends it in batches
// through an idempotent producer (no duplicates on its own retries). The topic is an audit trail, not part of the call path:
// when Kafka is away the queue is bounded, and a batch that cannot be sent or does not fit is
// logged and dropped instead of slowing decisions down or growing without limit.

import { Partitioners, type Message, type Producer, type ProducerConfig } from 'kafkajs';
import { KAFKA_HEADERS, routing } from '@ccfed/proto';
import type { Logger } from 'pino';

/** How the publisher's producer must be created (`kafka.producer(DECISION_PRODUCER_CONFIG)`). */
export const DECISION_PRODUCER_CONFIG: ProducerConfig = Object.freeze({
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  // Murmur2 on the key, as the Java client: a call's decisions share a partition with its events.
  createPartitioner: Partitioners.DefaultPartitioner,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
});

/** Hands one decision event over for publishing; never blocks, never throws. */
export type PublishDecision = (event: routing.RouteDecision) => void;

export interface DecisionPublisherDeps {
  /** Made with DECISION_PRODUCER_CONFIG; the publisher connects and disconnects it. */
  readonly producer: Pick<Producer, 'connect' | 'send' | 'disconnect'>;
  readonly topic: string;
  readonly log: Logger;
  /** Most events waiting to be sent; more are dropped (and counted in the log). Default 20,000. */
  readonly maxQueued?: number;
  /** Most events per produce request. Default 1,000. */
  readonly maxBatch?: number;
  /** How long the first event of a batch waits for others before the batch is sent. Default 20 ms. */
  readonly lingerMs?: number;
}

export class DecisionPublisher {
  private queue: routing.RouteDecision[] = [];
  private sending: Promise<void> | undefined;
  private dropped = 0;
  private lastDropLogMs = 0;

  constructor(private readonly deps: DecisionPublisherDeps) {}

  async start(): Promise<void> {
    await this.deps.producer.connect();
  }

  /** Queues one event; sending happens in the background. */
  readonly publish: PublishDecision = (event) => {
    if (this.queue.length >= (this.deps.maxQueued ?? 20_000)) {
      this.dropped += 1;
      const now = Date.now();
      if (now - this.lastDropLogMs >= 1_000) {
        this.lastDropLogMs = now;
        this.deps.log.warn(
          { event: 'route_decisions_dropped', dropped: this.dropped },
          'route-decision queue is full (Kafka too slow or away); dropping decision events',
        );
      }
      return;
    }
    this.queue.push(event);
    this.kick();
  };

  /** Events queued and not yet sent. */
  get pending(): number {
    return this.queue.length;
  }

  /** Waits until the queue is empty or timeoutMs passed; resolves whether it emptied. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.sending) && Date.now() < deadline) {
      await Promise.race([this.sending, new Promise((r) => setTimeout(r, 50))]);
    }
    return this.queue.length === 0 && !this.sending;
  }

  /** Sends what it can within timeoutMs, then disconnects. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const emptied = await this.flush(timeoutMs);
    if (!emptied)
      this.deps.log.warn(
        { event: 'route_decisions_unsent', count: this.queue.length },
        'stopping with route-decision events not sent',
      );
    this.queue = [];
    await this.deps.producer.disconnect();
  }

  private kick(): void {
    if (this.sending) return;
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
      // Events queued after the loop's last look go out with the next round.
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    const { producer, topic, log, lingerMs = 20 } = this.deps;
    if (lingerMs > 0) await new Promise((r) => setTimeout(r, lingerMs));
    while (this.queue.length > 0) {
      const batch: Message[] = this.queue.splice(0, this.deps.maxBatch ?? 1_000).map((event) => {
        const traceparent = event.meta?.trace?.traceparent;
        return {
          key: event.request?.callId ?? '',
          value: Buffer.from(routing.RouteDecision.encode(event).finish()),
          // As the sites' events: the ingester's span for this event joins the call's trace.
          ...(traceparent ? { headers: { [KAFKA_HEADERS.traceparent]: traceparent } } : {}),
        };
      });
      try {
        await producer.send({ topic, messages: batch, acks: -1 });
      } catch (err) {
        log.warn(
          {
            event: 'route_decisions_send_failed',
            count: batch.length,
            err: (err as Error).message,
          },
          'could not publish route-decision events; dropped them',
        );
      }
    }
  }
}
