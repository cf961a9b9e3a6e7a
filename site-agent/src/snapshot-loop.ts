import type { SiteSnapshot } from '@ccfed/proto';
import type { Logger } from 'pino';
import type { Acd } from './acd/acd.js';
import type { DayStats } from './acd/day-stats.js';
import type { EventStamper } from './events/event-meta.js';
import type { EventPublisher } from './events/publisher.js';
import { buildSnapshot } from './snapshot.js';

export interface SnapshotLoopDeps {
  readonly acd: Acd;
  readonly dayStats: DayStats;
  readonly publisher: EventPublisher;
  readonly stamper: EventStamper;
  readonly log: Logger;
  /** Longest time between two snapshots when nothing changes. */
  readonly intervalMs: number;
  /** Shortest time between two snapshots when things change fast. */
  readonly minGapMs?: number;
  /** The site's tenant-neutral owner id stamped on snapshots. */
  readonly operatorTenant: string;
  /** Whether the site takes overflow now (false while an operator has drained it). */
  readonly acceptingOverflow?: () => boolean;
}

/** Publishes the site's snapshot when something changed (at most every minGapMs) and at least every intervalMs. */
export class SnapshotLoop {
  private sequence = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private lastSentMs = 0;
  private sending: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SnapshotLoopDeps) {}

  start(): void {
    this.publish();
    this.timer = setInterval(() => this.publish(), this.deps.intervalMs);
  }

  /** Something the router cares about changed: publish soon. */
  changed(): void {
    if (this.pending) return;
    const gap = this.deps.minGapMs ?? 100;
    const wait = Math.max(0, this.lastSentMs + gap - Date.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.publish();
    }, wait);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.pending);
    await this.sending;
  }

  /** The site's snapshot as of now, without publishing it (for the status API). */
  current(): SiteSnapshot {
    return this.build(this.sequence);
  }

  private build(sequence: number): SiteSnapshot {
    return buildSnapshot({
      meta: this.deps.stamper.stamp(this.deps.operatorTenant),
      sequence,
      skills: this.deps.acd.skillStatus(),
      today: (skill) => this.deps.dayStats.forSkill(skill),
      acceptingOverflow: this.deps.acceptingOverflow?.() ?? true,
    });
  }

  private publish(): void {
    this.lastSentMs = Date.now();
    this.sequence += 1;
    const snapshot = this.build(this.sequence);
    this.sending = this.sending
      .then(() => this.deps.publisher.siteSnapshot(snapshot))
      .catch((err: unknown) =>
        this.deps.log.warn(
          { event: 'snapshot_publish_failed', err },
          'could not publish site snapshot',
        ),
      );
  }
}
