// The site's rtpengine as monitoring uses it (ng, rtpengine 10.5): `subscribe request` on the
// call for both parties' tags gives a sendonly offer with one audio section per party (10.5 does
// not mix them: the browser gets two streams), rewritten for a WebRTC receiver; `subscribe answer`
// with the browser's answer starts the copies; `unsubscribe` stops them and a `delete` of the
// monitor's own tag gives its ports back (with --delete-delay=0, as every site runs it; the call's
// two parties are left as they were, since two tags remain).
import type { NgClient } from '@ccfed/services';

/** What the monitor service needs of rtpengine. */
export interface MonitorMedia {
  /** The WebRTC offer carrying copies of `fromTags`' media, one section each, in that order. */
  subscribe(req: {
    readonly callId: string;
    readonly fromTags: readonly string[];
    readonly toTag: string;
  }): Promise<string>;
  answer(req: {
    readonly callId: string;
    readonly toTag: string;
    readonly sdp: string;
  }): Promise<void>;
  /** Stops the copies and frees the monitor's ports; a call gone already is not an error. */
  unsubscribe(req: { readonly callId: string; readonly toTag: string }): Promise<void>;
}

/**
 * How the supervisor's side is offered: a browser takes only ICE, DTLS-SRTP (no SDES keys in the
 * SDP it would be given) and RTP/RTCP on one port.
 *
 * ICE-lite on rtpengine's side: rtpengine 10.5 makes a subscription's side ICE-controlled although
 * it offers, and the browser answering is controlled too, so every monitor began with a role
 * conflict, settled per section by tie-breakers (rtpengine's one for the whole process, the
 * browser's one per peer connection) while both already ran checks. Now and then one section never
 * settled: rtpengine answered each of the browser's checks with 487, the browser flipped its role
 * back and forth, and that party stayed silent (docs/media.md, Silent monitoring). As a lite agent
 * rtpengine only answers checks and claims no role; the browser, told so (declaredLite), controls
 * and nominates: no conflict to settle.
 */
export const WEBRTC_RECEIVER = {
  ICE: 'force',
  'ICE-lite': 'forward',
  DTLS: 'passive',
  SDES: ['off'],
  'transport-protocol': 'UDP/TLS/RTP/SAVPF',
  'rtcp-mux': ['offer', 'require'],
} as const;

export function rtpengineMonitorMedia(ng: NgClient): MonitorMedia {
  return {
    async subscribe({ callId, fromTags, toTag }) {
      const reply = await ng.request('subscribe request', {
        'call-id': callId,
        'from-tags': fromTags,
        'to-tag': toTag,
        ...WEBRTC_RECEIVER,
      });
      if (reply.result !== 'ok' || typeof reply.sdp !== 'string')
        throw new Error(
          `rtpengine refused to subscribe to call ${callId}: ${String(reply['error-reason'] ?? reply.result)}`,
        );
      return declaredLite(reply.sdp);
    },
    async answer({ callId, toTag, sdp }) {
      const reply = await ng.request('subscribe answer', {
        'call-id': callId,
        'to-tag': toTag,
        sdp,
      });
      if (reply.result !== 'ok')
        throw new Error(
          `rtpengine refused the monitor's answer on call ${callId}: ${String(reply['error-reason'] ?? reply.result)}`,
        );
    },
    async unsubscribe({ callId, toTag }) {
      const gone = (reply: Record<string, unknown>) =>
        reply.result === 'ok' || /unknown call/i.test(String(reply['error-reason'] ?? ''));
      const un = await ng.request('unsubscribe', { 'call-id': callId, 'to-tag': toTag });
      if (!gone(un))
        throw new Error(`rtpengine did not unsubscribe ${toTag}: ${String(un['error-reason'])}`);
      // Only the monitor's own tag: rtpengine keeps the call while two tags remain.
      const del = await ng.request('delete', { 'call-id': callId, 'from-tag': toTag });
      if (!gone(del) && !/not found/i.test(String(del['error-reason'] ?? '')))
        throw new Error(`rtpengine did not free ${toTag}: ${String(del['error-reason'])}`);
    },
  };
}

/**
 * `sdp` with `a=ice-lite` at session level. rtpengine 10.5 acts as a lite agent with `ICE-lite:
 * forward` but writes the attribute only into SDP it rewrites, not into the one it makes for a
 * subscription; a browser not told takes the controlled role and nobody nominates.
 */
export function declaredLite(sdp: string): string {
  if (/^a=ice-lite\r?$/m.test(sdp)) return sdp;
  // Session attributes go after t= (RFC 8866 order: v o s i u e p c b t r z k a, then m=).
  const firstMedia = sdp.search(/^m=/m);
  if (firstMedia < 0) throw new Error('rtpengine offered no media section to monitor');
  return `${sdp.slice(0, firstMedia)}a=ice-lite\r\n${sdp.slice(firstMedia)}`;
}
