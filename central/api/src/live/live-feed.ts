// Feeds the live picture: site snapshots and agent events from Kafka, today's overflow counts
// from ClickHouse, and tells the open streams when something changed.
//
// Like the router's state feed, this follows the live stream and never replays history: every
// site agent publishes a snapshot at least every second, so within about a second of starting
// the API holds every live site's figures. Each API process reads in its own consumer group
// (every replica needs every message for its own clients), starts at the end of each partition
// and never commits. Agents' states change only now and then, so those are first loaded from
// agent_events in ClickHouse (each agent's newest row of the last day), then kept by Kafka.
import type { Scope } from '@ccfed/analytics/scope';
import { followTopics, processGroupId, type Clock, type Logger } from '@ccfed/common';
import { AgentEvent, SiteSnapshot, type TopicNames } from '@ccfed/proto';
import type { Consumer, Kafka } from 'kafkajs';
import type { RunQuery } from '../clickhouse.js';
import { latestAgentStatesQuery, parseLatestAgentStates } from './agent-seed.js';
import { scopeKey, type LiveState } from './live-state.js';
import { parseTodayCounts, startOfUtcDay, todayCountsQuery } from './today-counts.js';

export interface LiveFeedDeps {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly runQuery: RunQuery;
  readonly state: LiveState;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often today's counts are read again for the scopes with an open stream. */
  readonly pollIntervalMs?: number;
  /** Default: a group of this process only. */
  readonly groupId?: string;
}

/** Called when the picture changed in a way `scope` might see. */
export type ChangeListener = () => void;

interface Subscriber {
  readonly scope: Scope;
  readonly onChange: ChangeListener;
}

export class LiveFeed {
  private consumer: Consumer | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly subscribers = new Set<Subscriber>();
  private readonly lastCounts = new Map<string, string>();

  constructor(private readonly deps: LiveFeedDeps) {}

  get state(): LiveState {
    return this.deps.state;
  }

  /** Joins the group and starts polling; resolves once partitions are assigned. */
  async start(): Promise<void> {
    const { kafka, topics, log } = this.deps;
    const groupId = this.deps.groupId ?? processGroupId('ccfed-api-live');
    this.consumer = await followTopics({
      kafka,
      groupId,
      topics: [topics.siteSnapshots, topics.agentEvents],
      onMessage: ({ topic, partition, offset, value }) => {
        const reason = this.apply(topic, value);
        if (reason) {
          log.warn(
            { event: 'live_message_skipped', topic, partition, offset, reason },
            'skipped a message the live feed cannot use',
          );
        }
      },
    });
    // After joining, so that no change falls between the stored states and the stream; a state
    // from Kafka is newer and wins over the stored one.
    await this.seedAgents();
    this.schedulePoll();
    log.info(
      { event: 'live_feed_started', groupId, topics: [topics.siteSnapshots, topics.agentEvents] },
      'following site snapshots and agent events',
    );
  }

  /** Stops consuming and polling. Idempotent. */
  async stop(): Promise<void> {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }

  /** Registers a stream; its scope's counts are read right away. Returns the unsubscribe. */
  subscribe(scope: Scope, onChange: ChangeListener): () => void {
    const subscriber = { scope, onChange };
    this.subscribers.add(subscriber);
    void this.pollScope(scope);
    return () => void this.subscribers.delete(subscriber);
  }

  /** Starts every agent seen in the last day from its stored state; a failure only logs. */
  private async seedAgents(): Promise<void> {
    try {
      const since = new Date(this.deps.clock.now() - 86_400_000);
      const rows = await this.deps.runQuery(latestAgentStatesQuery({ role: 'hq' }, since));
      let seeded = 0;
      for (const agent of parseLatestAgentStates(rows)) {
        if (this.deps.state.seedAgent(agent)) seeded += 1;
      }
      this.deps.log.info({ event: 'live_agents_seeded', agents: seeded }, 'agent states loaded');
      if (seeded > 0) this.changed(() => true);
    } catch (err) {
      this.deps.log.error(
        { event: 'live_agents_seed_failed', err },
        'could not load stored agent states; agents appear with their next change',
      );
    }
  }

  /** Applies one Kafka message; returns why it was skipped, or undefined. */
  private apply(topic: string, value: Buffer | null): string | undefined {
    if (!value || value.length === 0) return 'empty message value';
    const { topics, state } = this.deps;
    try {
      if (topic === topics.siteSnapshots) {
        if (state.applySnapshot(SiteSnapshot.decode(value))) this.changed(() => true);
        return undefined;
      }
      if (topic === topics.agentEvents) {
        const event = AgentEvent.decode(value);
        if (state.applyAgentEvent(event)) this.changed(() => true);
        return undefined;
      }
    } catch (err) {
      return `not a protobuf message of ${topic}: ${(err as Error).message}`;
    }
    return undefined;
  }

  private changed(concerns: (scope: Scope) => boolean): void {
    for (const s of this.subscribers) if (concerns(s.scope)) s.onChange();
  }

  private schedulePoll(): void {
    this.pollTimer = setTimeout(() => {
      void this.pollAll().finally(() => {
        if (this.pollTimer) this.schedulePoll();
      });
    }, this.deps.pollIntervalMs ?? 3_000);
  }

  private async pollAll(): Promise<void> {
    const scopes = new Map<string, Scope>();
    for (const s of this.subscribers) scopes.set(scopeKey(s.scope), s.scope);
    for (const scope of scopes.values()) await this.pollScope(scope);
  }

  private async pollScope(scope: Scope): Promise<void> {
    const key = scopeKey(scope);
    try {
      const query = todayCountsQuery(scope, startOfUtcDay(this.deps.clock.now()));
      const counts = parseTodayCounts(await this.deps.runQuery(query));
      this.deps.state.setToday(scope, counts);
      const text = JSON.stringify(counts);
      if (this.lastCounts.get(key) !== text) {
        this.lastCounts.set(key, text);
        this.changed((s) => scopeKey(s) === key);
      }
    } catch (err) {
      this.deps.log.error(
        { event: 'live_counts_failed', scope: key, err },
        "could not read today's counts",
      );
    }
  }
}
