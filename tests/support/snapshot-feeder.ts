// Site snapshots as site agents publish them, for tests that run the router without sites: each
// site's support figures for tenant acme-bank, every 500 ms, until stopped.
import { SiteSnapshot, type SkillSnapshot } from '@ccfed/proto';
import type { Producer } from 'kafkajs';
import { uniqueName } from './engines.js';

export interface SupportFigures {
  readonly queued: number;
  readonly staffed: number;
  readonly idle: number;
}

/** Publishes a support snapshot of each site every 500 ms, as site agents do, until stopped. */
export class SnapshotFeeder {
  private readonly sites = new Map<string, SupportFigures>();
  private readonly lastSent = new Map<string, number>();
  private sequence = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  set(siteId: string, figures: SupportFigures | undefined): void {
    if (figures) this.sites.set(siteId, figures);
    else this.sites.delete(siteId);
  }

  lastSentAt(siteId: string): number | undefined {
    return this.lastSent.get(siteId);
  }

  start(): void {
    const tick = async () => {
      const messages = [...this.sites].map(([siteId, f]) => ({
        key: siteId,
        value: Buffer.from(SiteSnapshot.encode(snapshot(siteId, ++this.sequence, f)).finish()),
      }));
      if (messages.length > 0) {
        // Stamped before sending: the router cannot have received a snapshot before this.
        const now = Date.now();
        for (const m of messages) this.lastSent.set(m.key, now);
        await this.producer.send({ topic: this.topic, messages });
      }
      this.timer = setTimeout(() => void tick().catch(() => undefined), 500);
    };
    void tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.sites.clear();
  }
}

function snapshot(siteId: string, sequence: number, f: SupportFigures): SiteSnapshot {
  const support: SkillSnapshot = {
    skill: 'support',
    queued: f.queued,
    oldestWaitMs: 0,
    agentsStaffed: f.staffed,
    agentsIdle: f.idle,
    expectedWaitMs: 0,
    offeredToday: 0,
    answeredWithinThresholdToday: 0,
    answeredToday: 0,
    abandonedToday: 0,
    inboundOverflowPending: 0,
    averageHandleMs: 180_000,
    tenants: [
      {
        tenantId: 'acme-bank',
        queued: f.queued,
        agentsStaffed: f.staffed,
        agentsIdle: f.idle,
        expectedWaitMs: 0,
      },
    ],
  };
  return {
    meta: {
      eventId: uniqueName('snap'),
      tenantId: '',
      siteId,
      eventTime: new Date(),
      trace: undefined,
      producerSequence: sequence,
    },
    sequence,
    skills: [support],
    acceptingOverflow: true,
  };
}
