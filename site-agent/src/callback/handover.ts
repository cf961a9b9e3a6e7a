// A callback handed from one site to another (docs/callbacks.md, "Served at another site"). Pure:
// time is passed in, nothing here does I/O. The origin asks the router for a pending callback whose
// turn would come late at home (the same trigger as a queued caller's, overflow/trigger.ts); when
// the router names another site, the origin sends the callback there over the sites' mutual-TLS
// channel (SiteAgent.HandOverCallback), signed with the federation key like an overflowed call's
// SIP context (sip-context-signature.ts), and keeps it until the target says it took it.
//
// The target checks the request (checkHandover), the signature (verifyHandover, plus the replay
// window the SIP side uses), then whether it can serve the callback in time (handoverAcceptance,
// the same rule as for an overflowed caller); it then queues it at its original arrival and tier,
// with the attempts already made, so it takes its place among the target's callers by that time.

import { CustomerTier } from '@ccfed/proto';
import { skillById, type Topology } from '@ccfed/topology';
import { NO_AGENTS_EWT_MS } from '../acd/ewt.js';
import { E164_PATTERN } from '../acd/callbacks.js';
import {
  SIGNATURE_MAX_FUTURE_MS,
  signContext,
  verifyContext,
  type SignatureVerdict,
  type SignedContext,
} from '../sip-context-signature.js';

/** What travels from the origin to the target: the callback as the origin holds it. */
export interface Handover {
  readonly callbackId: string;
  readonly originSiteId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly tier: number;
  /** E.164: only between the two sites, never in an event or a log. */
  readonly number: string;
  readonly callerHash: string;
  readonly customerId: string;
  /** The callback's place: the original arrival, or the scheduled time. */
  readonly arrivalMs: number;
  readonly requestedAtMs: number;
  readonly scheduled: boolean;
  /** Attempts counted at the origin so far. */
  readonly attempts: number;
  readonly notBeforeMs?: number;
  readonly decisionId: string;
  readonly traceparent: string;
}

/** The signed text's purpose: a SIP context's signature never passes for a handover's. */
const PURPOSE = 'callback-handover-v1';

const ID = /^[\x21-\x7e]{1,255}$/;
const CALLER_HASH = /^([0-9a-f]{32})?$/;
const TRACEPARENT = /^(00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})?$/;
const MAX_TEXT = 128;
const TIERS: ReadonlySet<number> = new Set([
  CustomerTier.CUSTOMER_TIER_STANDARD,
  CustomerTier.CUSTOMER_TIER_SILVER,
  CustomerTier.CUSTOMER_TIER_GOLD,
  CustomerTier.CUSTOMER_TIER_VIP,
]);

/** Every field of the handover in the signed form (the number as the "dialed number"). */
function signedContext(h: Handover): SignedContext {
  return {
    callId: h.callbackId,
    dialedNumber: h.number,
    headers: {
      purpose: PURPOSE,
      origin: h.originSiteId,
      tenant: h.tenantId,
      skill: h.skill,
      tier: String(h.tier),
      'caller-hash': h.callerHash,
      customer: h.customerId,
      arrival: String(h.arrivalMs),
      requested: String(h.requestedAtMs),
      scheduled: h.scheduled ? '1' : '0',
      attempts: String(h.attempts),
      'not-before': h.notBeforeMs === undefined ? '' : String(h.notBeforeMs),
      decision: h.decisionId,
      traceparent: h.traceparent,
    },
  };
}

/** The handover's signature, made at `nowMs` with the federation key. */
export function signHandover(key: Buffer, h: Handover, nowMs: number): string {
  return signContext(key, signedContext(h), nowMs);
}

/**
 * Whether `signature` is the federation's over exactly these fields, fresh at `nowMs`: any field
 * changed on the way (a tier raised, an arrival moved ahead, another number) breaks it.
 */
export function verifyHandover(
  keys: readonly Buffer[],
  h: Handover,
  signature: string,
  nowMs: number,
): SignatureVerdict {
  const context = signedContext(h);
  return verifyContext(keys, { ...context, headers: { ...context.headers, signature } }, nowMs);
}

/** A request's fields as they arrive (the gRPC message, times as Dates). */
export interface HandoverFields {
  readonly callbackId: string;
  readonly originSiteId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly tier: number;
  readonly number: string;
  readonly callerHash: string;
  readonly customerId: string;
  readonly arrivalTime: Date | undefined;
  readonly requestedAt: Date | undefined;
  readonly scheduled: boolean;
  readonly attempts: number;
  readonly notBefore: Date | undefined;
  readonly decisionId: string;
  readonly traceparent: string;
}

/**
 * The handover a request describes, or what is wrong with it (the first problem, named): ids and
 * texts bounded, the tenant and skill this topology's (the skill with callbacks), the tier one of
 * the four, the number E.164, times that are neither missing nor ahead of `nowMs` (beyond the
 * clock skew allowed), attempts short of the skill's limit.
 */
export function checkHandover(
  fields: HandoverFields,
  topology: Topology,
  nowMs: number,
): { readonly ok: Handover } | { readonly error: string } {
  const error = (e: string) => ({ error: e });
  if (!ID.test(fields.callbackId)) return error('callback_id: 1-255 printable characters');
  if (!topology.sites.some((s) => s.id === fields.originSiteId))
    return error('origin_site_id: not a site of the federation');
  if (!topology.tenants.some((t) => t.id === fields.tenantId))
    return error('tenant_id: not a tenant of the federation');
  const callback = skillById(topology, fields.skill)?.callback;
  if (!callback)
    return error(`skill: ${JSON.stringify(fields.skill.slice(0, 40))} takes no callbacks`);
  if (!TIERS.has(fields.tier)) return error('tier: not a customer tier');
  if (!E164_PATTERN.test(fields.number)) return error('number: not E.164');
  if (!CALLER_HASH.test(fields.callerHash)) return error('caller_hash: 32 hex digits or empty');
  if (fields.customerId.length > MAX_TEXT)
    return error(`customer_id: at most ${MAX_TEXT} characters`);
  if (!ID.test(fields.decisionId) || fields.decisionId.length > MAX_TEXT)
    return error(`decision_id: 1-${MAX_TEXT} printable characters`);
  if (!TRACEPARENT.test(fields.traceparent)) return error('traceparent: not a W3C traceparent');
  const latest = nowMs + SIGNATURE_MAX_FUTURE_MS;
  const arrivalMs = fields.arrivalTime?.getTime();
  const requestedAtMs = fields.requestedAt?.getTime();
  if (arrivalMs === undefined || !Number.isFinite(arrivalMs) || arrivalMs <= 0)
    return error('arrival_time: missing');
  if (!fields.scheduled && arrivalMs > latest) return error('arrival_time: in the future');
  if (requestedAtMs === undefined || !Number.isFinite(requestedAtMs) || requestedAtMs > latest)
    return error('requested_at: missing or in the future');
  if (!Number.isInteger(fields.attempts) || fields.attempts >= callback.maxAttempts)
    return error(
      `attempts: ${fields.attempts} of at most ${callback.maxAttempts - 1} before another`,
    );
  const notBeforeMs = fields.notBefore?.getTime();
  if (notBeforeMs !== undefined && !Number.isFinite(notBeforeMs))
    return error('not_before: not a time');
  return {
    ok: {
      callbackId: fields.callbackId,
      originSiteId: fields.originSiteId,
      tenantId: fields.tenantId,
      skill: fields.skill,
      tier: fields.tier,
      number: fields.number,
      callerHash: fields.callerHash,
      customerId: fields.customerId,
      arrivalMs,
      requestedAtMs,
      scheduled: fields.scheduled,
      attempts: fields.attempts,
      ...(notBeforeMs === undefined ? {} : { notBeforeMs }),
      decisionId: fields.decisionId,
      traceparent: fields.traceparent,
    },
  };
}

export type HandoverRefusal = 'no capacity' | 'no agents' | 'draining';

/**
 * Whether a site takes a callback another site hands it: not while drained, only when an agent of
 * the tenant with the skill is staffed and the callback's expected wait here (at its own place) is
 * within the skill's overflow threshold in force, the rule an overflowed caller meets.
 */
export function handoverAcceptance(input: {
  /** The callback's expected wait here if it were offered now. */
  readonly expectedWaitMs: number;
  /** The skill's overflow threshold in force; undefined: no limit. */
  readonly thresholdMs: number | undefined;
  readonly drained: boolean;
}): { readonly accept: true } | { readonly accept: false; readonly reason: HandoverRefusal } {
  if (input.drained) return { accept: false, reason: 'draining' };
  if (input.expectedWaitMs >= NO_AGENTS_EWT_MS) return { accept: false, reason: 'no agents' };
  if (input.thresholdMs !== undefined && input.expectedWaitMs > input.thresholdMs)
    return { accept: false, reason: 'no capacity' };
  return { accept: true };
}

// The confirm step (docs/callbacks.md, "Never at two sites"). A target that accepts a handover
// holds the callback provisionally: in its book and on its disk (its place and the number's dedup),
// never dialed. The origin decides once, durably: committed (journaled before anything else
// happens, then the callback leaves the origin) or aborted (it stays). It tells the target
// (SettleCallbackHandover, repeated until answered); a target that heard nothing within
// PROVISIONAL_ASK_AFTER_MS asks (GetCallbackHandoverOutcome). A handover is named by its callback
// id and the router's decision id.

/** The origin's decision on one handover, as it tells the target. */
export interface HandoverSettlement {
  readonly callbackId: string;
  readonly originSiteId: string;
  readonly decisionId: string;
  readonly committed: boolean;
}

/** The target asking the origin what it decided on one handover. */
export interface HandoverQuery {
  readonly callbackId: string;
  readonly targetSiteId: string;
  readonly decisionId: string;
}

/**
 * How long a target remembers a handover it confirmed (journaled): a late copy of its request,
 * fresh for SIGNATURE_MAX_AGE_MS at most, is answered "taken", never taken twice.
 */
export const HANDED_IN_MEMORY_MS = 10 * 60_000;
/** A target asks about a provisional handover it has heard nothing about after this long. */
export const PROVISIONAL_ASK_AFTER_MS = 10_000;
/** The origin tells a target its decision again after this long without an answer. */
export const SETTLE_RETRY_MS = 2_000;

const SETTLE_PURPOSE = 'callback-handover-settle-v1';
const QUERY_PURPOSE = 'callback-handover-outcome-v1';

function settlementContext(s: HandoverSettlement): SignedContext {
  return {
    callId: s.callbackId,
    dialedNumber: '',
    headers: {
      purpose: SETTLE_PURPOSE,
      origin: s.originSiteId,
      decision: s.decisionId,
      committed: s.committed ? '1' : '0',
    },
  };
}

function queryContext(q: HandoverQuery): SignedContext {
  return {
    callId: q.callbackId,
    dialedNumber: '',
    headers: { purpose: QUERY_PURPOSE, target: q.targetSiteId, decision: q.decisionId },
  };
}

/** The settlement's signature, made at `nowMs` with the federation key. */
export function signSettlement(key: Buffer, s: HandoverSettlement, nowMs: number): string {
  return signContext(key, settlementContext(s), nowMs);
}

/** Whether `signature` is the federation's over exactly this settlement, fresh at `nowMs`. */
export function verifySettlement(
  keys: readonly Buffer[],
  s: HandoverSettlement,
  signature: string,
  nowMs: number,
): SignatureVerdict {
  const context = settlementContext(s);
  return verifyContext(keys, { ...context, headers: { ...context.headers, signature } }, nowMs);
}

/** The query's signature, made at `nowMs` with the federation key. */
export function signQuery(key: Buffer, q: HandoverQuery, nowMs: number): string {
  return signContext(key, queryContext(q), nowMs);
}

/** Whether `signature` is the federation's over exactly this query, fresh at `nowMs`. */
export function verifyQuery(
  keys: readonly Buffer[],
  q: HandoverQuery,
  signature: string,
  nowMs: number,
): SignatureVerdict {
  const context = queryContext(q);
  return verifyContext(keys, { ...context, headers: { ...context.headers, signature } }, nowMs);
}

/**
 * What is wrong with a settlement's or a query's ids (the first problem, named), or undefined:
 * the callback id bounded and printable, the site one of the topology's, a decision id present.
 */
export function checkHandoverIds(
  fields: { readonly callbackId: string; readonly decisionId: string },
  site: { readonly field: string; readonly id: string },
  topology: Topology,
): string | undefined {
  if (!ID.test(fields.callbackId)) return 'callback_id: 1-255 printable characters';
  if (!topology.sites.some((s) => s.id === site.id))
    return `${site.field}: not a site of the federation`;
  if (!ID.test(fields.decisionId) || fields.decisionId.length > MAX_TEXT)
    return `decision_id: 1-${MAX_TEXT} printable characters`;
  return undefined;
}

/** What the target holds of a callback id, as the confirm step's rules see it. */
export interface HeldHere {
  /** The site it was taken from; undefined for one of this site's own. */
  readonly handedFrom?: string;
  /** Taken provisionally under this decision, not confirmed yet. */
  readonly provisionalDecision?: string;
}

/**
 * What a target does with a handover request (already checked and verified) given what it holds:
 * `repeat` (the same handover again, or one it already served: answered taken, nothing changes),
 * `replace` (a provisional copy of an earlier handover the origin has since given up: dropped,
 * then this one weighed), `in use` (the id is a call or another site's callback here) or `weigh`
 * (the capacity rule decides). Promises: never two copies of one id at a site.
 */
export function targetOnRequest(
  h: { readonly originSiteId: string; readonly decisionId: string },
  held: HeldHere | undefined,
  served: { readonly originSiteId: string } | undefined,
  idInUse: boolean,
): 'repeat' | 'replace' | 'in use' | 'weigh' {
  if (held?.handedFrom === h.originSiteId) {
    if (held.provisionalDecision === undefined || held.provisionalDecision === h.decisionId)
      return 'repeat';
    return 'replace';
  }
  if (served?.originSiteId === h.originSiteId) return 'repeat';
  if (held || idInUse) return 'in use';
  return 'weigh';
}

/**
 * What a target does with the origin's decision (from a settlement or the answer to its query):
 * `confirm` a provisional copy of that handover (it is served here from now on), `drop` it
 * (aborted: it stays at the origin), or nothing (`known`: already confirmed, or a decision about
 * another handover; `unknown`: no trace of it here). Promises: a callback is confirmed only on
 * the origin's committed decision for exactly that handover.
 */
export function targetOnDecision(
  s: HandoverSettlement,
  held: HeldHere | undefined,
  served: { readonly originSiteId: string; readonly decisionId: string } | undefined,
): 'confirm' | 'drop' | 'known' | 'unknown' {
  if (held?.handedFrom === s.originSiteId) {
    if (held.provisionalDecision === s.decisionId) return s.committed ? 'confirm' : 'drop';
    return 'known';
  }
  if (served?.originSiteId === s.originSiteId && served.decisionId === s.decisionId) return 'known';
  return s.committed ? 'unknown' : 'known';
}

/**
 * What the origin answers a target asking about a handover: committed only when it journaled that
 * very handover to that very target as committed; otherwise aborted, and if that handover is still
 * waiting for the target's answer (`inFlight`), it is stopped first (`stop`), so the answer stays
 * true when the late "accepted" arrives. Promises: "aborted" is never said of a handover the origin
 * committed or may still commit.
 */
export function originOnQuery(
  q: HandoverQuery,
  committed: { readonly decisionId: string; readonly targetSiteId: string } | undefined,
  inFlight: { readonly decisionId: string; readonly targetSiteId: string } | undefined,
): { readonly committed: boolean; readonly stop: boolean } {
  if (committed?.decisionId === q.decisionId && committed.targetSiteId === q.targetSiteId)
    return { committed: true, stop: false };
  const stop = inFlight?.decisionId === q.decisionId && inFlight.targetSiteId === q.targetSiteId;
  return { committed: false, stop };
}
