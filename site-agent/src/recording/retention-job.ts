// The site's retention job: every sweep deletes the recordings whose tenant's retention has run
// out (retention.ts decides which), recording each deletion first as a `deleted` index event, so
// that no recording disappears without a trace in ClickHouse. Publishing goes to the disk outbox:
// a crash between the event and the deletion leaves a file the next sweep deletes (and records)
// again; never a deletion nobody recorded.
import type { Clock } from '@ccfed/common';
import type { Logger } from 'pino';
import type { EventStamper } from '../events/event-meta.js';
import type { PublishRecordingEvent } from './recorder.js';
import type { RecordingStore } from './recording-store.js';
import { dayMayHoldExpired, expiredRecordings } from './retention.js';

export interface RetentionJobDeps {
  readonly store: RecordingStore;
  /** The tenant's retention in force (recording-policy.ts retentionMs); undefined: none set. */
  readonly retentionMs: (tenantId: string) => number | undefined;
  readonly publish: PublishRecordingEvent;
  readonly stamper: EventStamper;
  readonly clock: Clock;
  readonly log: Logger;
  /** Time between sweeps. */
  readonly intervalMs: number;
  /** Also run on every sweep (the recorder's recovery of left-behind recordings). */
  readonly alsoEachSweep?: () => Promise<unknown>;
}

export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: RetentionJobDeps) {}

  /** Sweeps now, then every intervalMs. */
  start(): void {
    this.stopped = false;
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Deletes what has expired now; resolves with how many recordings it deleted. */
  async sweep(): Promise<number> {
    const { store, clock, log } = this.deps;
    const now = clock.now();
    let deleted = 0;
    for (const { tenantId, day } of await store.days()) {
      const retention = this.deps.retentionMs(tenantId);
      if (!dayMayHoldExpired(day, retention, now)) continue;
      for (const rec of expiredRecordings(
        await store.recordingsOf(tenantId, day),
        retention,
        now,
      )) {
        await this.deps.publish({
          meta: this.deps.stamper.stamp(tenantId),
          recordingId: rec.recordingId,
          callId: rec.callId,
          skill: rec.skill,
          agentId: rec.agentId,
          started: new Date(rec.startedMs),
          kind: { $case: 'deleted', value: { reason: 'retention', storagePath: rec.storagePath } },
        });
        await store.delete(rec);
        deleted += 1;
        log.info(
          {
            event: 'recording_deleted',
            recordingId: rec.recordingId,
            callId: rec.callId,
            tenant: tenantId,
            reason: 'retention',
          },
          'recording past its tenant’s retention deleted',
        );
      }
    }
    return deleted;
  }

  private tick(): void {
    this.running = (async () => {
      try {
        await this.deps.alsoEachSweep?.();
        await this.sweep();
      } catch (err) {
        this.deps.log.error(
          { event: 'recording_sweep_failed', err },
          'the recording retention sweep failed; it runs again at the next interval',
        );
      }
    })();
    void this.running.then(() => {
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.deps.intervalMs);
    });
  }
}
