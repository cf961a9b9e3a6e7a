// The SIP side of overflow, pure: what a site sends when it moves a call to another site, and
// whether a site takes a call another site sent it.
import { CustomerTier, SIP_HEADERS } from '@ccfed/proto';
import { peerSilenceMs, peerSipUri, type Site, type Topology } from '@ccfed/topology';
import { NO_AGENTS_EWT_MS } from '../acd/ewt.js';
import type { CallContext } from '../call-context.js';
import { sipHeaders, type KamailioCommand, type TransactionRef } from '../kamailio/messages.js';
import { signContext } from '../sip-context-signature.js';

const TIER_NAMES: Partial<Record<CustomerTier, string>> = {
  [CustomerTier.CUSTOMER_TIER_STANDARD]: 'standard',
  [CustomerTier.CUSTOMER_TIER_SILVER]: 'silver',
  [CustomerTier.CUSTOMER_TIER_GOLD]: 'gold',
  [CustomerTier.CUSTOMER_TIER_VIP]: 'vip',
};

/**
 * The relay of a suspended INVITE to `target`'s Kamailio (over TLS on a TLS peer link), the same
 * number dialed, with the call's context in fresh X-CC-* headers: origin, skill, tier, customer,
 * original arrival, one more hop, the router's decision and the trace, signed with the federation
 * key at `nowMs` (sip-context-signature.ts) so that the target can trust them.
 */
export function overflowRelay(input: {
  readonly callId: string;
  readonly transaction: TransactionRef;
  readonly dialedNumber: string;
  readonly context: CallContext;
  readonly topology: Topology;
  readonly originSiteId: string;
  readonly target: Site;
  readonly decisionId: string;
  readonly signingKey: Buffer;
  readonly nowMs: number;
}): KamailioCommand {
  const { context, target } = input;
  const { tindex, tlabel, tsS, tsU } = input.transaction;
  const headers: Record<string, string> = {
    [SIP_HEADERS.originSite]: input.originSiteId,
    [SIP_HEADERS.skill]: context.skill,
    [SIP_HEADERS.tier]: TIER_NAMES[context.tier] ?? 'standard',
    ...(context.customerId ? { [SIP_HEADERS.customer]: context.customerId } : {}),
    [SIP_HEADERS.arrival]: String(context.arrivalMs),
    [SIP_HEADERS.hops]: String(context.hops + 1),
    [SIP_HEADERS.decision]: input.decisionId,
    ...(context.traceparent ? { [SIP_HEADERS.traceparent]: context.traceparent } : {}),
    // A transferred call: the target's service-level wait counts from the transfer.
    ...(context.transfer
      ? {
          [SIP_HEADERS.transferredAt]: String(context.transfer.atMs),
          [SIP_HEADERS.transferredFrom]: context.transfer.fromCallId,
        }
      : {}),
  };
  const signature = signContext(
    input.signingKey,
    { callId: input.callId, dialedNumber: input.dialedNumber, headers },
    input.nowMs,
  );
  return {
    action: 'relay',
    tindex,
    tlabel,
    ...(tsS !== undefined && tsU !== undefined ? { tsS, tsU } : {}),
    callid: input.callId,
    agent: `overflow:${target.id}`,
    uri: peerSipUri(input.topology, input.originSiteId, target, input.dialedNumber),
    hdrs: sipHeaders({ ...headers, [SIP_HEADERS.signature]: signature }),
    // The target may queue the call as long as it likes, as long as it says so (see above).
    ringMs: peerSilenceMs(input.topology),
    peer: target.id,
  };
}

/**
 * Whether a site takes a call another site sent it: only if it can still serve it in time, i.e.
 * an agent of the call's tenant is staffed and the call's expected wait here is within the
 * skill's overflow threshold (else this site would want to move it on itself).
 */
export function overflowAcceptance(input: {
  readonly topology: Topology;
  readonly context: CallContext;
  /** The call's expected wait here if it were offered now. */
  readonly expectedWaitMs: number;
  /**
   * Skill → overflow threshold in force (the routing policy HQ edits); the topology's when not
   * given. A skill absent from it has no limit.
   */
  readonly thresholdMs?: ReadonlyMap<string, number>;
}): { readonly accept: boolean; readonly limitMs: number } {
  const skill = input.topology.skills.find((s) => s.id === input.context.skill);
  const limitMs = input.thresholdMs
    ? (input.thresholdMs.get(input.context.skill) ?? Infinity)
    : skill?.overflow
      ? skill.overflow.expectedWaitThresholdSeconds * 1000
      : Infinity;
  return {
    accept: input.expectedWaitMs <= limitMs && input.expectedWaitMs < NO_AGENTS_EWT_MS,
    limitMs,
  };
}
