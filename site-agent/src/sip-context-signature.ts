// The signature on an overflowed call's context (docs/security.md, "SIP"). The origin site agent
// signs what it hands the target site in X-CC-* headers; the target verifies it before it honours
// any of them, so that nobody who can reach a site's SIP port (or sits between two sites on a
// plain link) can queue a call as a VIP, back-date its arrival or book it as an overflow.
//
//   X-CC-Signature: v1;t=<epoch ms>;s=<base64url HMAC-SHA256>
//
// The HMAC key is the federation key (CCFED_FEDERATION_KEY, shared by every site). The signed text
// is, one per line: "ccfed-sip-context-v1", the Call-ID, the dialed number, t, then every other
// X-CC-* header as `<name>=<value>` (name lower-cased without the X-CC- prefix, value trimmed as
// Kamailio hands it over), sorted by name. A header added, removed or changed on the way breaks it.
//
// Bounds: a signature is accepted for SIGNATURE_MAX_AGE_MS after t (and up to
// SIGNATURE_MAX_FUTURE_MS before it, for clock skew between sites), and once: the target remembers
// each signature it accepted for that long (ReplayWindow), so the same INVITE sent again is
// refused. Pure: time is passed in.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_VERSION = 'v1';
/**
 * How old a signature may be when it arrives. An overflow INVITE is signed just before Kamailio
 * relays it, so this only has to cover the WAN, the target's Kamailio and clock skew.
 */
export const SIGNATURE_MAX_AGE_MS = 30_000;
/** How far in the future a signature's time may be: the sites' clocks may differ this much. */
export const SIGNATURE_MAX_FUTURE_MS = 5_000;
/** The shortest federation key accepted: 256 bits, the HMAC-SHA256 output size. */
export const FEDERATION_KEY_MIN_BYTES = 32;

const LABEL = 'ccfed-sip-context-v1';
const SIGNATURE_HEADER = 'signature';
const FORMAT = /^v1;t=(\d{1,15});s=([A-Za-z0-9_-]{43})$/;

/** What a signature covers besides its time. */
export interface SignedContext {
  readonly callId: string;
  readonly dialedNumber: string;
  /** X-CC-* headers, names with or without the X-CC- prefix, any case; a signature is left out. */
  readonly headers: Readonly<Record<string, string>>;
}

export type SignatureVerdict =
  | { readonly ok: true; readonly signature: string; readonly signedAtMs: number }
  | {
      readonly ok: false;
      readonly reason: 'unsigned' | 'malformed' | 'bad signature' | 'stale' | 'from the future';
    };

/** Header name as signed: lower-case, without the X-CC- prefix. */
export function signedName(header: string): string {
  const lower = header.toLowerCase();
  return lower.startsWith('x-cc-') ? lower.slice('x-cc-'.length) : lower;
}

/** The exact text the HMAC is computed over. */
export function canonicalContext(context: SignedContext, signedAtMs: number): string {
  const fields = Object.entries(context.headers)
    .map(([name, value]) => [signedName(name), value.trim()] as const)
    .filter(([name]) => name !== SIGNATURE_HEADER)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`);
  return [LABEL, context.callId, context.dialedNumber, String(signedAtMs), ...fields].join('\n');
}

function mac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/** The X-CC-Signature value for `context`, signed at `nowMs` with `key`. */
export function signContext(key: Buffer, context: SignedContext, nowMs: number): string {
  const t = Math.floor(nowMs);
  return `${SIGNATURE_VERSION};t=${t};s=${mac(key, canonicalContext(context, t)).toString('base64url')}`;
}

/**
 * Checks the signature among `context.headers` against each key (the current federation key and,
 * during a rotation, the previous one) and its age at `nowMs`. Does not check for replays: see
 * ReplayWindow.
 */
export function verifyContext(
  keys: readonly Buffer[],
  context: SignedContext,
  nowMs: number,
): SignatureVerdict {
  const value = Object.entries(context.headers).find(
    ([name]) => signedName(name) === SIGNATURE_HEADER,
  )?.[1];
  if (value === undefined) return { ok: false, reason: 'unsigned' };
  const m = FORMAT.exec(value.trim());
  if (!m) return { ok: false, reason: 'malformed' };
  const signedAtMs = Number(m[1]);
  const given = Buffer.from(m[2]!, 'base64url');
  const text = canonicalContext(context, signedAtMs);
  // Every key is tried, so the time taken does not tell which one (if any) matched.
  let matched = false;
  for (const key of keys) {
    const expected = mac(key, text);
    if (expected.length === given.length && timingSafeEqual(expected, given)) matched = true;
  }
  if (!matched) return { ok: false, reason: 'bad signature' };
  if (signedAtMs < nowMs - SIGNATURE_MAX_AGE_MS) return { ok: false, reason: 'stale' };
  if (signedAtMs > nowMs + SIGNATURE_MAX_FUTURE_MS) return { ok: false, reason: 'from the future' };
  return { ok: true, signature: m[2]!, signedAtMs };
}

/**
 * Signatures accepted within their validity: a signature is accepted once. Entries are kept until
 * their signature could no longer pass the age check, so memory is bounded by the rate of genuine
 * overflows (only a verified signature is ever recorded).
 */
export class ReplayWindow {
  private readonly seen = new Map<string, number>();

  /** True the first time a verified signature is offered; false for a replay. */
  firstUse(verdict: Extract<SignatureVerdict, { ok: true }>, nowMs: number): boolean {
    this.prune(nowMs);
    if (this.seen.has(verdict.signature)) return false;
    this.seen.set(verdict.signature, verdict.signedAtMs + SIGNATURE_MAX_AGE_MS);
    return true;
  }

  /** Signatures remembered right now. */
  get size(): number {
    return this.seen.size;
  }

  private prune(nowMs: number): void {
    // Insertion order is close to expiry order (signatures arrive near their time): stop at the
    // first one still valid, with a little slack for the skew allowed.
    for (const [signature, expiresMs] of this.seen) {
      if (expiresMs + SIGNATURE_MAX_FUTURE_MS >= nowMs) break;
      this.seen.delete(signature);
    }
  }
}

/** The federation keys as the HMAC takes them: the current one first. */
export function federationKeys(current: string, previous?: string): Buffer[] {
  return [current, ...(previous ? [previous] : [])].map((k) => Buffer.from(k, 'utf8'));
}
