// Blind transfer of a live call to a skill at any site, pure (docs/transfer.md). The site where the
// agent talks sends the caller a REFER (Kamailio's dialog module) whose Refer-To is this site's own
// address, the number the caller dialed, and a transfer token: the caller's phone INVITEs it, the
// token tells this site agent which call it continues, and the call's context (tenant, customer,
// tier, caller hash, original arrival) is restored from what this site kept of it. The new INVITE
// is queued here, or relayed to the target site like an overflow with its context in signed
// X-CC-* headers.
//
//   Refer-To: <sip:<dialed number>@<site host>:<port>;ccxfer=<nonce>.<expires ms>.<signature>>
//
// The token names nothing about the customer (the caller's phone and its carrier see it): only a
// random nonce and its expiry, with an HMAC (the federation key) over them, the transferred
// call's Call-ID and its original arrival, which only this site knows. It is accepted once, within
// TRANSFER_TOKEN_TTL_MS; a token that does not verify is ignored and the INVITE is an ordinary
// new call to the number (the caller is served either way; nothing is gained by forging one).

import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Site, type Topology } from '@ccfed/topology';
import type { CallContext } from '../call-context.js';

/** How long the caller's phone has to INVITE the Refer-To after the transfer. */
export const TRANSFER_TOKEN_TTL_MS = 30_000;
/** The Refer-To URI parameter that carries the token (ccfed.cfg hands it over as `xfer`). */
export const TRANSFER_URI_PARAM = 'ccxfer';

const LABEL = 'ccfed-transfer-v1';
const TOKEN = /^([A-Za-z0-9_-]{22})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

/** What a site keeps of a call it transferred, until the caller's new INVITE claims it. */
export interface TransferGrant {
  /** The transferred call's Call-ID (its call id in the events). */
  readonly callId: string;
  readonly arrivalMs: number;
  readonly transferredAtMs: number;
  readonly targetSiteId: string;
  readonly skill: string;
  readonly fromAgentId: string;
  /** What the call brings with it (tenant, customer, tier, arrival…), restored at the new INVITE. */
  readonly context: CallContext;
  readonly callerHash: string;
}

/** Why a transfer request is refused: a bad target, or a call that cannot be transferred now. */
export class TransferError extends Error {
  constructor(
    message: string,
    readonly kind: 'invalid_target' | 'not_transferable',
  ) {
    super(message);
    this.name = 'TransferError';
  }
}

/**
 * The site a call may be transferred to for `skill`: `siteId` (empty: `fromSiteId`) must be a site
 * of the federation with an agent who has the skill. Throws TransferError (invalid_target).
 */
export function transferTarget(
  topology: Topology,
  req: { readonly skill: string; readonly siteId: string; readonly fromSiteId: string },
): Site {
  const siteId = req.siteId || req.fromSiteId;
  if (!topology.skills.some((s) => s.id === req.skill))
    throw new TransferError(`unknown skill ${clip(req.skill)}`, 'invalid_target');
  const site = topology.sites.find((s) => s.id === siteId);
  if (!site) throw new TransferError(`unknown site ${clip(siteId)}`, 'invalid_target');
  if (!site.agents.some((a) => req.skill in a.skills))
    throw new TransferError(`site ${site.id} does not serve skill ${req.skill}`, 'invalid_target');
  return site;
}

function mac(key: Buffer, grant: TransferGrant, nonce: string, expiresMs: number): Buffer {
  const text = [LABEL, grant.callId, String(grant.arrivalMs), nonce, String(expiresMs)].join('\n');
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/** The token for `grant`: `nonce` is 16 random bytes (base64url) the caller draws. */
export function transferToken(key: Buffer, grant: TransferGrant, nonce: string): string {
  const expiresMs = grant.transferredAtMs + TRANSFER_TOKEN_TTL_MS;
  return `${nonce}.${expiresMs}.${mac(key, grant, nonce, expiresMs).toString('base64url')}`;
}

/** The Refer-To the caller is sent: this site, the number it dialed, the token. */
export function referTo(site: Site, dialedNumber: string, token: string): string {
  return `sip:${dialedNumber}@${site.sip.host}:${site.sip.port};${TRANSFER_URI_PARAM}=${token}`;
}

/**
 * The calls this site transferred whose callers have not come back yet, by token nonce. A token
 * is claimed once; grants are forgotten when their tokens expire.
 */
export class PendingTransfers {
  private readonly grants = new Map<string, { grant: TransferGrant; expiresMs: number }>();

  /** Remembers `grant` under `nonce`; returns its token. */
  add(key: Buffer, grant: TransferGrant, nonce: string): string {
    this.grants.set(nonce, { grant, expiresMs: grant.transferredAtMs + TRANSFER_TOKEN_TTL_MS });
    return transferToken(key, grant, nonce);
  }

  /**
   * The grant `token` claims, once: its nonce is pending, its HMAC holds with one of `keys` (the
   * federation key, or the previous one during a rotation) and it has not expired at `nowMs`.
   * Otherwise why not.
   */
  claim(
    keys: readonly Buffer[],
    token: string,
    nowMs: number,
  ):
    | { readonly ok: true; readonly grant: TransferGrant }
    | { readonly ok: false; readonly reason: string } {
    this.prune(nowMs);
    const m = TOKEN.exec(token);
    if (!m) return { ok: false, reason: 'malformed transfer token' };
    const [, nonce, expires, signature] = m;
    const pending = this.grants.get(nonce!);
    if (!pending)
      return { ok: false, reason: 'no pending transfer for this token (used or expired)' };
    const given = Buffer.from(signature!, 'base64url');
    let matched = false;
    for (const key of keys) {
      const expected = mac(key, pending.grant, nonce!, Number(expires));
      if (expected.length === given.length && timingSafeEqual(expected, given)) matched = true;
    }
    if (!matched || Number(expires) !== pending.expiresMs)
      return { ok: false, reason: 'transfer token does not verify' };
    this.grants.delete(nonce!);
    return { ok: true, grant: pending.grant };
  }

  /** Transfers waiting for their callers. */
  get size(): number {
    return this.grants.size;
  }

  private prune(nowMs: number): void {
    for (const [nonce, { expiresMs }] of this.grants)
      if (expiresMs < nowMs) this.grants.delete(nonce);
  }
}

/**
 * The context of a transferred call's new INVITE at `siteId` (where it was transferred): the
 * call's own (tenant, customer, tier, first arrival), for the skill chosen, with the transfer.
 */
export function transferredContext(grant: TransferGrant, siteId: string): CallContext {
  return {
    ...grant.context,
    skill: grant.skill,
    requestedSkill: '',
    originSite: '',
    decisionId: '',
    problems: [],
    transfer: { fromCallId: grant.callId, fromSiteId: siteId, atMs: grant.transferredAtMs },
  };
}

function clip(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
