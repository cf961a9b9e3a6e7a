import { randomUUID } from 'node:crypto';
import type { Clock } from '@ccfed/common';
import type { EventMeta } from '@ccfed/proto';

/**
 * Stamps events produced at one site: a fresh id (what makes storage idempotent), the site, the
 * tenant, the time from the injected clock, and a per-process sequence number.
 */
export class EventStamper {
  private sequence = 0;

  constructor(
    private readonly deps: {
      readonly clock: Clock;
      readonly siteId: string;
      readonly newId?: () => string;
    },
  ) {}

  /** Metadata for one new event of `tenantId`; every call gives a new id and sequence. */
  stamp(tenantId: string, traceparent = ''): EventMeta {
    this.sequence += 1;
    return {
      eventId: (this.deps.newId ?? randomUUID)(),
      tenantId,
      siteId: this.deps.siteId,
      eventTime: new Date(this.deps.clock.now()),
      trace: traceparent ? { traceparent, tracestate: '' } : undefined,
      producerSequence: this.sequence,
    };
  }
}
