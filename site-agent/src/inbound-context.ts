// Which X-CC-* headers of a new INVITE count, by who sent it (docs/security.md, "SIP"). Kamailio
// classifies the source (services/kamailio/ccfed.cfg, route[SOURCE]) and removes the headers of
// anyone untrusted; this is the site agent's half of the boundary:
//   - a peer site's context counts only with a valid, fresh, first-seen signature, and only if it
//     names the sending site as the origin and arrives while the origin still waits for it
//     (LATE_AFTER_MS); otherwise the call is refused (403), never queued;
//   - a trusted IVR or SBC may say what it knows about the caller (skill, tier, customer, trace),
//     not that the call was overflowed or arrived earlier;
//   - anyone else's headers never count (Kamailio removed them already; this holds if it did not).
// Pure: the time, the keys and the replay window are passed in.

import { SIP_HEADERS } from '@ccfed/proto';
import type { ReplayWindow } from './sip-context-signature.js';
import {
  SIGNATURE_MAX_FUTURE_MS,
  signedName,
  verifyContext,
  type SignatureVerdict,
} from './sip-context-signature.js';

/**
 * How long the origin waits for a provisional reply to an overflow (or transfer) INVITE before
 * it takes the call back and serves it itself: the branch's fr_timer (ccfed.cfg, the relay's
 * t_set_fr). An INVITE that arrives later than that, plus the clock skew allowed between sites,
 * is no longer the origin's to give: one held in a connection's send queue across a WAN cut and
 * delivered when the link heals, say. It is refused, never queued, so no agent here rings for a
 * call the origin is already serving.
 */
export const ORIGIN_NO_REPLY_MS = 5_000;
export const LATE_AFTER_MS = ORIGIN_NO_REPLY_MS + SIGNATURE_MAX_FUTURE_MS;

/** Who sent an INVITE, as Kamailio established it (event field `trust`, and `peer`). */
export type InviteSource =
  | { readonly kind: 'peer'; readonly site: string }
  | { readonly kind: 'trusted' }
  | { readonly kind: 'untrusted' };

export type InboundDecision =
  | {
      readonly ok: true;
      /** The headers to honour (names without X-CC-, as Kamailio gives them). */
      readonly headers: Readonly<Record<string, string>>;
      /** A peer's context whose signature was verified: the call was overflowed here. */
      readonly signed: boolean;
      /** Headers left out, one line each, for the log. */
      readonly ignored: readonly string[];
    }
  | { readonly ok: false; readonly code: 403; readonly reason: string };

/** What an IVR or SBC in front of the site may tell about a caller. */
const IVR_HEADERS = new Set(
  [SIP_HEADERS.skill, SIP_HEADERS.tier, SIP_HEADERS.customer, SIP_HEADERS.traceparent].map(
    signedName,
  ),
);

const REFUSALS: Record<Extract<SignatureVerdict, { ok: false }>['reason'], string> = {
  unsigned: 'unsigned context',
  malformed: 'malformed signature',
  'bad signature': 'bad signature',
  stale: 'stale signature',
  'from the future': 'signature from the future',
};

/** The source named by Kamailio's invite event; anything unexpected counts as untrusted. */
export function inviteSource(trust: string | undefined, peer: string | undefined): InviteSource {
  if (trust === 'peer' && peer) return { kind: 'peer', site: peer };
  if (trust === 'trusted') return { kind: 'trusted' };
  return { kind: 'untrusted' };
}

/** Decides which of an INVITE's X-CC-* headers count, or that it must be refused. */
export function inboundContext(input: {
  readonly source: InviteSource;
  readonly callId: string;
  readonly dialedNumber: string;
  /** X-CC-* headers as Kamailio hands them over: names without the prefix. */
  readonly cc: Readonly<Record<string, string>>;
  readonly keys: readonly Buffer[];
  readonly replay: ReplayWindow;
  readonly nowMs: number;
}): InboundDecision {
  const { source, cc } = input;
  const names = Object.keys(cc);
  if (source.kind === 'untrusted') {
    return {
      ok: true,
      headers: {},
      signed: false,
      ignored: names.length ? [`X-CC-* from an untrusted source ignored: ${names.join(', ')}`] : [],
    };
  }
  if (source.kind === 'trusted') {
    const headers: Record<string, string> = {};
    const ignored: string[] = [];
    for (const [name, value] of Object.entries(cc)) {
      if (IVR_HEADERS.has(signedName(name))) headers[name] = value;
      else ignored.push(`X-CC-${name} from a trusted source ignored: only a peer site may set it`);
    }
    return { ok: true, headers, signed: false, ignored };
  }
  // A peer site that sends no context at all (e.g. its fallback relays a caller here) sends a
  // plain call; any context it does send must be signed.
  if (names.length === 0) return { ok: true, headers: {}, signed: false, ignored: [] };
  const verdict = verifyContext(
    input.keys,
    { callId: input.callId, dialedNumber: input.dialedNumber, headers: cc },
    input.nowMs,
  );
  if (!verdict.ok) return { ok: false, code: 403, reason: REFUSALS[verdict.reason] };
  const origin = Object.entries(cc).find(
    ([name]) => signedName(name) === signedName(SIP_HEADERS.originSite),
  )?.[1];
  if (origin?.trim() !== source.site)
    return { ok: false, code: 403, reason: 'origin is not the sending site' };
  if (verdict.signedAtMs < input.nowMs - LATE_AFTER_MS)
    return { ok: false, code: 403, reason: 'arrived after the origin took the call back' };
  if (!input.replay.firstUse(verdict, input.nowMs))
    return { ok: false, code: 403, reason: 'replayed signature' };
  const headers = Object.fromEntries(
    Object.entries(cc).filter(([name]) => signedName(name) !== signedName(SIP_HEADERS.signature)),
  );
  return { ok: true, headers, signed: true, ignored: [] };
}
