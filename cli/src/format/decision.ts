import { routing } from '@ccfed/proto';
import { formatDuration } from './duration.js';

/** How many of the best eligible alternatives a decision line names. */
export const BEST_ALTERNATIVES = 3;

/**
 * One routing decision as one line: time, call id, origin → verdict (and target), the router's
 * reason, then the best eligible sites with their expected wait (+ handicap) and the sites it
 * could not use with why. `fallbackTime` (the Kafka message time) is used when the event has none.
 */
export function decisionLine(decision: routing.RouteDecision, fallbackTime?: Date): string {
  const req = decision.request;
  const res = decision.response;
  const time = decision.meta?.eventTime ?? fallbackTime;
  const when = time ? time.toISOString() : '(no time)';
  const callId = req?.callId || '(no call id)';
  const origin = req?.originSiteId || decision.meta?.siteId || '(no origin)';
  const verdict = res ? verdictWord(res) : 'no answer';
  const reason = res?.reason ? `"${res.reason}"` : '(no reason)';
  return [when, callId, `${origin} → ${verdict}`, reason, alternativesText(res?.alternatives ?? [])]
    .filter(Boolean)
    .join('  ');
}

function verdictWord(res: routing.RequestRouteResponse): string {
  switch (res.verdict) {
    case routing.Verdict.VERDICT_OVERFLOW:
      return `overflow ${res.targetSiteId || '(no target)'}`;
    case routing.Verdict.VERDICT_STAY:
      return 'stay';
    default:
      return `verdict ${res.verdict}`;
  }
}

/** `alternatives: beijing 12s, guangzhou 40s+5s; excluded: wuhan (not accepting overflow)`. */
export function alternativesText(alternatives: readonly routing.Alternative[]): string {
  if (alternatives.length === 0) return '';
  const eligible = alternatives
    .filter((a) => a.eligible)
    .sort((a, b) => a.expectedWaitMs + a.handicapMs - (b.expectedWaitMs + b.handicapMs))
    .slice(0, BEST_ALTERNATIVES)
    .map(
      (a) =>
        `${a.siteId} ${formatDuration(a.expectedWaitMs)}${a.handicapMs > 0 ? `+${formatDuration(a.handicapMs)}` : ''}`,
    );
  const excluded = alternatives
    .filter((a) => !a.eligible)
    .map((a) => `${a.siteId} (${a.excludedReason || 'no reason given'})`);
  const parts = [
    eligible.length > 0 ? `alternatives: ${eligible.join(', ')}` : 'alternatives: none eligible',
    ...(excluded.length > 0 ? [`excluded: ${excluded.join(', ')}`] : []),
  ];
  return parts.join('; ');
}
