import { createHash, randomUUID } from 'node:crypto';
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

  /**
   * Metadata for one new event of `tenantId`; every call gives a new sequence, and a new id unless
   * `key` names what happened (e.g. a call's answer): the same key at this site gives the same id,
   * so an event published again after a restart is stored once.
   */
  stamp(tenantId: string, traceparent = '', key?: string): EventMeta {
    this.sequence += 1;
    return {
      eventId:
        key === undefined ? (this.deps.newId ?? randomUUID)() : keyedId(this.deps.siteId, key),
      tenantId,
      siteId: this.deps.siteId,
      eventTime: new Date(this.deps.clock.now()),
      trace: traceparent ? { traceparent, tracestate: '' } : undefined,
      producerSequence: this.sequence,
    };
  }
}

/** A UUID-shaped id that is a function of the site and `key` (SHA-256, version nibble 5). */
function keyedId(siteId: string, key: string): string {
  const h = createHash('sha256').update(`${siteId}\u0000${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
