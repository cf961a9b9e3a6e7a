// What an outbound attempt tells the rest of the federation, as call events on the request's call
// id: DialAttempted with its outcome (every attempt) and, when a connected one ends,
// DialedCallEnded with its talk time. Not CallAnswered and CallEnded: an outbound call has no
// inbound wait, and those would count it in the inbound service level, ASA and AHT of the call id
// it serves (a callback keeps its queued call's id; the callback's own events say it was served).
// The customer's number is never in an event: the envelope's caller hash is its keyed hash
// (caller-hash.ts), empty when the site has no key.
import { CallParty, CustomerTier, type CallEvent, type EventMeta } from '@ccfed/proto';
import { callerHash } from '../caller-hash.js';
import type { DialRequest } from './port.js';
import type { AttemptNews } from './sip-dialer.js';

type Kind = NonNullable<CallEvent['kind']>;

/** Where one attempt stands, as far as its events need. */
export interface AttemptRecord {
  readonly startedMs: number;
  readonly answeredMs?: number;
}

/**
 * The event kinds `news` produces for `request`, and the attempt's record after it. Pure: the
 * same news of the same attempt always gives the same kinds.
 */
export function dialerEventKinds(
  request: DialRequest,
  record: AttemptRecord,
  news: AttemptNews,
  nowMs: number,
): { readonly kinds: readonly Kind[]; readonly record: AttemptRecord } {
  switch (news.kind) {
    case 'outcome': {
      const o = news.outcome;
      const answeredMs = 'answeredAtMs' in o ? o.answeredAtMs : undefined;
      const attempted: Kind = {
        $case: 'dialAttempted',
        value: {
          attemptId: request.attemptId,
          agentId: request.agentId ?? '',
          order: request.order,
          outcome: o.kind,
          reason: o.kind === 'failed' ? o.reason : '',
          durationMs: Math.max(0, nowMs - record.startedMs),
          customerAnsweredAt: answeredMs === undefined ? undefined : new Date(answeredMs),
        },
      };
      if (o.kind !== 'connected') return { kinds: [attempted], record };
      return { kinds: [attempted], record: { ...record, answeredMs: o.answeredAtMs } };
    }
    case 'ended': {
      if (record.answeredMs === undefined) return { kinds: [], record };
      const ended: Kind = {
        $case: 'dialedCallEnded',
        value: {
          attemptId: request.attemptId,
          agentId: request.agentId ?? '',
          talkMs: Math.max(0, news.atMs - record.answeredMs),
          endedBy:
            news.by === 'customer' ? CallParty.CALL_PARTY_CALLER : CallParty.CALL_PARTY_AGENT,
        },
      };
      return { kinds: [ended], record };
    }
    default:
      return { kinds: [], record };
  }
}

export interface DialerEventsDeps {
  stamp(tenantId: string): EventMeta;
  publish(event: CallEvent): Promise<void>;
  /** The federation's caller-hash key (CCFED_CALLER_HASH_KEY), if the site has one. */
  readonly callerHashKey?: string;
  readonly now: () => number;
  onError(err: unknown): void;
}

/** Follows every attempt's news and publishes its events (SipDialerDeps.onNews). */
export class DialerEvents {
  private readonly records = new Map<string, AttemptRecord>();

  constructor(private readonly deps: DialerEventsDeps) {}

  onNews(request: DialRequest, news: AttemptNews): void {
    const now = this.deps.now();
    const record = this.records.get(request.attemptId) ?? { startedMs: now };
    const { kinds, record: next } = dialerEventKinds(request, record, news, now);
    const finished =
      news.kind === 'ended' || (news.kind === 'outcome' && news.outcome.kind !== 'connected');
    if (finished) this.records.delete(request.attemptId);
    else this.records.set(request.attemptId, next);
    const hash = this.deps.callerHashKey ? callerHash(this.deps.callerHashKey, request.number) : '';
    for (const kind of kinds) {
      const event: CallEvent = {
        meta: this.deps.stamp(request.tenantId),
        callId: request.callId,
        skill: request.skill,
        tier: CustomerTier.CUSTOMER_TIER_UNSPECIFIED,
        customerId: '',
        callerHash: hash,
        arrivalTime: new Date(next.startedMs),
        kind,
      };
      this.deps.publish(event).catch((err: unknown) => this.deps.onError(err));
    }
  }
}
