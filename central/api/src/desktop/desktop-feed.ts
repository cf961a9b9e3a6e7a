// Feeds the agents' desktops: follows agent events, call events and route decisions from Kafka
// (like the live wall, each API process reads everything in a group of its own from the end of
// each partition and never commits), turns them into pushes (desk-events.ts) and delivers each
// push to the streams of the one agent it is about. An offer is pushed with the customer's story:
// one read of customer_story and the next-best-offer look-up, in parallel, for the caller the
// site identified; the time from the site reserving the agent to the push is logged.
import {
  buildCustomerStory,
  customerStoryQuery,
  parseStoryRows,
} from '@ccfed/analytics/customer-story';
import type { CustomerStory } from '@ccfed/analytics/customer-story';
import { nextBestOfferQuery, parseNextBestOfferRows } from '@ccfed/analytics/cross-sell';
import { followTopics, processGroupId, type Clock, type Logger } from '@ccfed/common';
import { AgentEvent, CallEvent, routing, type TopicNames } from '@ccfed/proto';
import type { Consumer, Kafka } from 'kafkajs';
import type { RunQuery } from '../clickhouse.js';
import { DeskEvents, type DecisionNote, type DeskPush, type Offer } from './desk-events.js';

/** An `offer` event as the desktop receives it. */
export interface OfferPush {
  readonly callId: string;
  readonly siteId: string;
  readonly skill: string;
  /** When the site reserved the agent for the call (ISO 8601). */
  readonly offeredAt: string;
  /** How long the caller had waited when offered, from their first arrival anywhere. */
  readonly waitedMs: number;
  readonly customer: { readonly id: string | null; readonly tier: string };
  /** Null for a caller the site could not identify. */
  readonly story: CustomerStory | null;
  readonly nextBestOffer: {
    readonly productId: string;
    readonly because: string;
    readonly confidence: number;
    readonly lift: number;
  } | null;
  /** Set for a call another site overflowed here. */
  readonly overflow: {
    readonly originSiteId: string;
    readonly waitedMs: number;
    readonly routerReason: string | null;
  } | null;
  /** Why parts of the story are missing (a failed read), if they are. */
  readonly unavailable?: string;
}

/** How long a pop waits for the router's decision on an overflowed call at most. */
const DECISION_WAIT_MS = 300;

export type DeskListener = (event: 'offer' | 'state' | 'call', data: unknown) => void;

export interface DesktopFeedDeps {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly runQuery: RunQuery;
  readonly clock: Clock;
  readonly log: Logger;
  /** Default: a group of this process only. */
  readonly groupId?: string;
}

export class DesktopFeed {
  private consumer: Consumer | undefined;
  private readonly events = new DeskEvents();
  private readonly listeners = new Map<string, Set<DeskListener>>();

  constructor(private readonly deps: DesktopFeedDeps) {}

  /** Joins the group and follows the three topics; resolves once partitions are assigned. */
  async start(): Promise<void> {
    const { kafka, topics, log } = this.deps;
    const groupId = this.deps.groupId ?? processGroupId('ccfed-api-desk');
    const followed = [topics.callEvents, topics.agentEvents, topics.routeDecisions];
    this.consumer = await followTopics({
      kafka,
      groupId,
      topics: followed,
      // Call events and agent events are on different partitions: read them side by side, so
      // that a busy call-events partition does not hold back an agent's reservation.
      partitionsConsumedConcurrently: 3,
      onMessage: ({ topic, partition, offset, value }) => {
        const reason = this.apply(topic, value);
        if (reason)
          log.warn(
            { event: 'desk_message_skipped', topic, partition, offset, reason },
            'skipped a message the desktop feed cannot use',
          );
      },
    });
    log.info({ event: 'desk_feed_started', groupId, topics: followed }, 'following the desks');
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }

  /**
   * Registers a desktop stream of one agent; it gets the agent's last known state at once.
   * Returns the unsubscribe.
   */
  subscribe(siteId: string, agentId: string, listener: DeskListener): () => void {
    const key = `${siteId}/${agentId}`;
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    const state = this.events.stateOf(siteId, agentId);
    if (state) listener('state', state.data);
    // A desktop opened (or reloaded) while a call is offered or in progress gets its pop too.
    const offer = this.events.offerOf(siteId, agentId);
    if (offer) void this.popOffer(offer, listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  /** Applies one Kafka message; returns why it was skipped, or undefined. */
  apply(topic: string, value: Buffer | null): string | undefined {
    if (!value || value.length === 0) return 'empty message value';
    const { topics } = this.deps;
    let pushes: DeskPush[];
    try {
      if (topic === topics.agentEvents)
        pushes = this.events.applyAgentEvent(AgentEvent.decode(value));
      else if (topic === topics.callEvents)
        pushes = this.events.applyCallEvent(CallEvent.decode(value));
      else if (topic === topics.routeDecisions) {
        this.events.applyDecision(routing.RouteDecision.decode(value));
        return undefined;
      } else return undefined;
    } catch (err) {
      return `not a protobuf message of ${topic}: ${(err as Error).message}`;
    }
    for (const push of pushes) this.deliver(push);
    return undefined;
  }

  private deliver(push: DeskPush): void {
    if (push.kind === 'offer') {
      const { siteId, agentId } = push.offer;
      // Nobody's desk is open: no story to read.
      if (!this.listeners.has(`${siteId}/${agentId}`)) return;
      void this.popOffer(push.offer);
      return;
    }
    this.emit(push.siteId, push.agentId, push.kind, push.data);
  }

  private emit(siteId: string, agentId: string, event: 'offer' | 'state' | 'call', data: unknown) {
    for (const listener of this.listeners.get(`${siteId}/${agentId}`) ?? []) listener(event, data);
  }

  /**
   * Builds the offer's story and pushes it to the agent's streams (or to `only`, a stream that
   * opened after the offer); logs how long it took.
   */
  private async popOffer(offer: Offer, only?: DeskListener): Promise<void> {
    const { clock, log } = this.deps;
    const { call } = offer;
    const started = clock.now();
    let story: CustomerStory | null = null;
    let nextBestOffer: OfferPush['nextBestOffer'] = null;
    let unavailable: string | undefined;
    if (call.customerId) {
      const [storyRead, offerRead] = await Promise.allSettled([
        this.story(call.tenantId, call.customerId, offer.reservedAtMs),
        this.nextBestOffer(call.tenantId, call.customerId),
      ]);
      if (storyRead.status === 'fulfilled') story = storyRead.value;
      if (offerRead.status === 'fulfilled') nextBestOffer = offerRead.value;
      const failed = [storyRead, offerRead].filter((r) => r.status === 'rejected');
      if (failed.length > 0) {
        unavailable = 'the customer’s history could not be read; try again in a moment';
        log.error(
          {
            event: 'desk_story_failed',
            callId: call.callId,
            err: (failed[0] as PromiseRejectedResult).reason,
          },
          'could not read the customer story',
        );
      }
    }
    const decision = call.overflow ? await this.decision(call.overflow.decisionId) : undefined;
    const waitedMs = Math.max(0, offer.reservedAtMs - call.arrivalMs);
    const data: OfferPush = {
      callId: call.callId,
      siteId: call.siteId,
      skill: call.skill,
      offeredAt: new Date(offer.reservedAtMs).toISOString(),
      waitedMs,
      customer: { id: call.customerId || null, tier: call.tier },
      story,
      nextBestOffer,
      overflow: call.overflow
        ? {
            originSiteId: call.overflow.originSiteId,
            waitedMs,
            routerReason: decision?.reason || null,
          }
        : null,
      ...(unavailable && { unavailable }),
    };
    if (only) {
      only('offer', data);
      return;
    }
    this.emit(offer.siteId, offer.agentId, 'offer', data);
    const pushed = clock.now();
    log.info(
      {
        event: 'desk_offer_pushed',
        callId: call.callId,
        siteId: offer.siteId,
        agentId: offer.agentId,
        tenantId: call.tenantId,
        // From the site reserving the agent to the push: Kafka, the feed and the story read.
        latencyMs: pushed - offer.reservedAtMs,
        storyMs: pushed - started,
      },
      'offer pushed to the desktop',
    );
  }

  /**
   * The router's note on a decision. The router publishes it as it answers, so it is nearly
   * always here before the call reaches its new site; when it is not, wait for it a little.
   */
  private async decision(decisionId: string): Promise<DecisionNote | undefined> {
    const deadline = this.deps.clock.now() + DECISION_WAIT_MS;
    for (;;) {
      const note = this.events.decisionOf(decisionId);
      if (note || this.deps.clock.now() >= deadline) return note;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private story(tenantId: string, customerId: string, atMs: number): Promise<CustomerStory> {
    return readCustomerStory(this.deps.runQuery, tenantId, customerId, atMs);
  }

  private async nextBestOffer(
    tenantId: string,
    customerId: string,
  ): Promise<OfferPush['nextBestOffer']> {
    const rows = parseNextBestOfferRows(
      await this.deps.runQuery(nextBestOfferQuery({ role: 'tenant', tenantId }, { customerId })),
    );
    const best = rows[0];
    return best
      ? {
          productId: best.product_id,
          because: best.antecedent,
          confidence: best.confidence,
          lift: best.lift,
        }
      : null;
  }
}

/** The customer's story as of `atMs`: one read of customer_story (the screen pop's, a preview's). */
export async function readCustomerStory(
  runQuery: RunQuery,
  tenantId: string,
  customerId: string,
  atMs: number,
): Promise<CustomerStory> {
  const asOf = new Date(atMs);
  const rows = await runQuery(customerStoryQuery({ tenantId, customerId, asOf }));
  return buildCustomerStory(customerId, parseStoryRows(rows), asOf);
}
