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
  if (fields.decisionId.length > MAX_TEXT)
    return error(`decision_id: at most ${MAX_TEXT} characters`);
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
