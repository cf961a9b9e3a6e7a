// What a call brings with it: from the dialed number (skill, tenant), from the X-CC-* headers
// that count for its source (a trusted IVR, or the site that overflowed the call here:
// inbound-context.ts decides which), and from the customer directory for a caller no header
// identifies. Pure: time is passed in. Header values are still checked: anything malformed or
// oversized is dropped and reported, and the call is still served with safe defaults.

import { CustomerTier, SIP_HEADER_MAX_LENGTH, SIP_HEADERS } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import type { DirectoryIdentity } from './customer-directory.js';

export interface CallContext {
  readonly tenantId: string;
  readonly skill: string;
  /** The skill the call asked for when it was unknown here and the default was used instead. */
  readonly requestedSkill: string;
  readonly tier: CustomerTier;
  readonly customerId: string;
  /** Original arrival at the federation (epoch ms): now, unless another site sent the call. */
  readonly arrivalMs: number;
  readonly originSite: string;
  readonly hops: number;
  /** The router's decision that sent the call here (X-CC-Decision), when overflowed in. */
  readonly decisionId: string;
  readonly traceparent: string;
  /**
   * A call an agent transferred here (docs/transfer.md): the call it continues, the site it was
   * transferred at, and when. Its service-level wait counts from `atMs`; `arrivalMs` stays the
   * caller's first arrival.
   */
  readonly transfer?: CallTransfer;
  /** What was wrong with the headers, one line each, for the log. */
  readonly problems: readonly string[];
}

export interface CallTransfer {
  readonly fromCallId: string;
  readonly fromSiteId: string;
  readonly atMs: number;
}

export type ContextResult =
  | { readonly ok: true; readonly context: CallContext }
  | { readonly ok: false; readonly sipCode: 404; readonly reason: string };

const TIERS: Record<string, CustomerTier> = {
  standard: CustomerTier.CUSTOMER_TIER_STANDARD,
  silver: CustomerTier.CUSTOMER_TIER_SILVER,
  gold: CustomerTier.CUSTOMER_TIER_GOLD,
  vip: CustomerTier.CUSTOMER_TIER_VIP,
};

const CUSTOMER_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const MAX_HOPS = 5;
/** A SIP Call-ID as a transfer names it: printable, no white space. */
const CALL_ID = /^[\x21-\x7e]{1,256}$/;
/** An overflowed call's arrival time may be this old at most; older means a bad header. */
const MAX_ARRIVAL_AGE_MS = 3600_000;
const MAX_CLOCK_SKEW_MS = 5_000;

/** Header name (without X-CC-) as Kamailio hands it over, lower-cased. */
const key = (header: string) => header.slice('X-CC-'.length).toLowerCase();

/**
 * Works out a call's context. `headers` maps X-CC-* header names without the prefix (any case) to
 * values. Refuses only a number the federation does not serve; every header problem is reported
 * in `problems` and replaced by a safe default.
 */
export function callContext(input: {
  readonly topology: Topology;
  readonly siteId: string;
  readonly dialedNumber: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly nowMs: number;
  /**
   * Who the caller is by their number, for the number's tenant (the customer directory): used
   * when no header says who the caller is (neither tier nor customer).
   */
  readonly identify?: (tenantId: string) => DirectoryIdentity | undefined;
}): ContextResult {
  const { topology, nowMs } = input;
  const number = topology.sites
    .flatMap((s) => s.numbers)
    .find((n) => n.number === input.dialedNumber);
  if (!number) return { ok: false, sipCode: 404, reason: 'Not a contact-center number' };

  const problems: string[] = [];
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(input.headers)) {
    const k = name.toLowerCase();
    if (value.length > SIP_HEADER_MAX_LENGTH) {
      problems.push(
        `X-CC-${name} dropped: ${value.length} characters, over the ${SIP_HEADER_MAX_LENGTH} limit`,
      );
    } else {
      headers.set(k, value.trim());
    }
  }
  const get = (header: string) => headers.get(key(header));

  let skill = number.skill;
  let requestedSkill = '';
  const askedSkill = get(SIP_HEADERS.skill);
  if (askedSkill !== undefined) {
    if (topology.skills.some((s) => s.id === askedSkill)) {
      skill = askedSkill;
    } else {
      requestedSkill = askedSkill.slice(0, 32);
      skill = topology.defaultSkill;
      problems.push(
        `unknown skill ${JSON.stringify(requestedSkill)}: using the default skill ${skill}`,
      );
    }
  }

  let tier = CustomerTier.CUSTOMER_TIER_STANDARD;
  const askedTier = get(SIP_HEADERS.tier);
  if (askedTier !== undefined) {
    const t = TIERS[askedTier.toLowerCase()];
    if (t) tier = t;
    else
      problems.push(
        `X-CC-Tier ${JSON.stringify(askedTier)} is not one of standard, silver, gold, vip: using standard`,
      );
  }

  let customerId = '';
  const askedCustomer = get(SIP_HEADERS.customer);
  if (askedCustomer !== undefined) {
    if (CUSTOMER_ID.test(askedCustomer)) customerId = askedCustomer;
    else problems.push('X-CC-Customer dropped: expected 1-64 letters, digits, . _ : -');
  }

  // A caller no header names is identified by their number, as a CTI system does.
  if (askedTier === undefined && askedCustomer === undefined) {
    const known = input.identify?.(number.tenant);
    if (known) {
      tier = known.tier;
      customerId = known.customerId;
    }
  }

  let originSite = '';
  const askedOrigin = get(SIP_HEADERS.originSite);
  if (askedOrigin !== undefined) {
    if (askedOrigin !== input.siteId && topology.sites.some((s) => s.id === askedOrigin))
      originSite = askedOrigin;
    else
      problems.push(
        `X-CC-Origin-Site ${JSON.stringify(askedOrigin.slice(0, 32))} is not another site of the federation: ignored`,
      );
  }

  let arrivalMs = nowMs;
  const askedArrival = get(SIP_HEADERS.arrival);
  if (askedArrival !== undefined) {
    const t = /^\d{1,15}$/.test(askedArrival) ? Number(askedArrival) : Number.NaN;
    if (t >= nowMs - MAX_ARRIVAL_AGE_MS && t <= nowMs + MAX_CLOCK_SKEW_MS)
      arrivalMs = Math.min(t, nowMs);
    else
      problems.push(
        `X-CC-Arrival ${JSON.stringify(askedArrival.slice(0, 20))} is not a plausible arrival time: using now`,
      );
  }

  let hops = 0;
  const askedHops = get(SIP_HEADERS.hops);
  if (askedHops !== undefined) {
    if (/^\d$/.test(askedHops) && Number(askedHops) <= MAX_HOPS) hops = Number(askedHops);
    else {
      hops = MAX_HOPS;
      problems.push(
        `X-CC-Hops ${JSON.stringify(askedHops.slice(0, 10))} is malformed: treating the call as not movable`,
      );
    }
  }

  let decisionId = '';
  const askedDecision = get(SIP_HEADERS.decision);
  if (askedDecision !== undefined) {
    if (/^[A-Za-z0-9-]{1,64}$/.test(askedDecision)) decisionId = askedDecision;
    else problems.push('X-CC-Decision dropped: expected 1-64 letters, digits or -');
  }

  let traceparent = '';
  const askedTrace = get(SIP_HEADERS.traceparent);
  if (askedTrace !== undefined) {
    if (TRACEPARENT.test(askedTrace)) traceparent = askedTrace;
    else problems.push('X-CC-Traceparent is not a W3C traceparent: starting a new trace');
  }

  // A transfer is told only by the site that transferred the call (a signed peer context).
  let transfer: CallTransfer | undefined;
  const askedTransferAt = get(SIP_HEADERS.transferredAt);
  const askedTransferFrom = get(SIP_HEADERS.transferredFrom);
  if (askedTransferAt !== undefined || askedTransferFrom !== undefined) {
    const atMs = /^\d{1,15}$/.test(askedTransferAt ?? '') ? Number(askedTransferAt) : Number.NaN;
    if (
      originSite !== '' &&
      askedTransferFrom !== undefined &&
      CALL_ID.test(askedTransferFrom) &&
      atMs >= arrivalMs &&
      atMs <= nowMs + MAX_CLOCK_SKEW_MS
    )
      transfer = {
        fromCallId: askedTransferFrom,
        fromSiteId: originSite,
        atMs: Math.min(atMs, nowMs),
      };
    else
      problems.push(
        'X-CC-Transferred-At/-From dropped: expected both, from the site that transferred the call, after its arrival',
      );
  }

  return {
    ok: true,
    context: {
      ...(transfer ? { transfer } : {}),
      tenantId: number.tenant,
      skill,
      requestedSkill,
      tier,
      customerId,
      arrivalMs,
      originSite,
      hops,
      decisionId,
      traceparent,
      problems,
    },
  };
}
