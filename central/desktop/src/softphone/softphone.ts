// The agent's browser softphone: JsSIP registers the agent's address of record at its site's
// Kamailio over WebSocket with the ephemeral credentials the central API issued
// (GET /api/v1/desktop/sip-credentials), and takes the calls the site offers there. The call's
// media is WebRTC (ICE, DTLS-SRTP, RTP and RTCP on one port) to the site's rtpengine, which
// bridges it to the caller's plain RTP (docs/media.md, "Browser agents").
//
// One call at a time: an agent is offered one call by the ACD; a second offer while one is
// ringing or connected is refused with 486 Busy Here.
import * as JsSIP from 'jssip';
import type { EndEvent, PeerConnectionEvent, RTCSession } from 'jssip/lib/RTCSession';
import type { RTCSessionEvent } from 'jssip/lib/UA';

/** What GET /api/v1/desktop/sip-credentials returns, as the softphone needs it. */
export interface SoftphoneConfig {
  /** The site's Kamailio for SIP over WebSocket (ws://… or wss://…). */
  readonly wsUri: string;
  readonly username: string;
  readonly password: string;
  /** The agent's address of record, sip:<agent id>@<site domain>. */
  readonly aor: string;
  readonly iceServers?: readonly RTCIceServer[];
  /**
   * The microphone's constraints; the browser's defaults (echo cancellation, noise suppression,
   * gain control) when absent. A test tone needs them off: noise suppression removes a steady tone.
   */
  readonly microphone?: MediaTrackConstraints;
  /** Where the caller's audio plays; a hidden <audio> element of the page's when absent. */
  readonly audioElement?: HTMLAudioElement;
}

export type SoftphoneState = 'connecting' | 'registered' | 'ringing' | 'connected' | 'failed';

/** An offered call, as the desktop shows it before the agent answers. */
export interface IncomingCall {
  /** The SIP Call-ID: the call id the site agent and the analytics know the call by. */
  readonly callId: string;
  /**
   * The caller's display name or user part, as the site relays it: often the caller's number, so
   * it may be shown to the agent but never logged or stored (the screen pop names the customer).
   */
  readonly from: string;
}

export interface CallEnded {
  readonly callId: string;
  /** JsSIP's cause (e.g. "Terminated", "Canceled", "Busy"), and who ended it. */
  readonly cause: string;
  readonly by: 'agent' | 'remote' | 'system';
}

export interface InboundAudio {
  /** WebRTC's totalAudioEnergy of the received audio so far (grows while sound arrives). */
  readonly totalAudioEnergy: number;
  /** The received audio's level now, 0..1. */
  readonly audioLevel: number;
  readonly packetsReceived: number;
}

export interface Softphone {
  /** Resolves once registered; rejects with the registrar's status (e.g. "403 Credentials Expired"). */
  readonly registered: Promise<void>;
  state(): SoftphoneState;
  onIncoming(listener: (call: IncomingCall) => void): () => void;
  onEnded(listener: (ended: CallEnded) => void): () => void;
  /** Answers the ringing call; resolves when its media is connected. */
  answer(): Promise<void>;
  /** Ends the ringing (declines) or connected call. */
  hangup(): void;
  /** Puts the call on hold (a sendonly re-INVITE); resolves when the far end accepted it. */
  hold(): Promise<void>;
  resume(): Promise<void>;
  /** Stops sending the microphone (the local track), without any signalling. */
  mute(): void;
  unmute(): void;
  isOnHold(): boolean;
  isMuted(): boolean;
  /** Statistics of the received audio of the current call; undefined without one. */
  inboundAudio(): Promise<InboundAudio | undefined>;
  /** Unregisters and closes the WebSocket. */
  stop(): Promise<void>;
}

/** A softphone registered with `config`'s credentials. */
export function createSoftphone(config: SoftphoneConfig): Softphone {
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(config.wsUri)],
    uri: config.aor,
    authorization_user: config.username,
    password: config.password,
    register: true,
    // rtpengine and Kamailio keep the call; a refresh re-INVITE every few minutes adds nothing
    session_timers: false,
    user_agent: 'ccfed-desktop',
  });
  let state: SoftphoneState = 'connecting';
  let session: RTCSession | undefined;
  const incoming = new Set<(call: IncomingCall) => void>();
  const ended = new Set<(ended: CallEnded) => void>();
  const audio = config.audioElement ?? hiddenAudio();

  const registered = new Promise<void>((resolve, reject) => {
    ua.on('registered', () => {
      if (state === 'connecting' || state === 'failed') state = 'registered';
      resolve();
    });
    ua.on('registrationFailed', (e) => {
      state = 'failed';
      const r = e.response as { status_code?: number; reason_phrase?: string } | undefined;
      reject(
        new Error(
          r?.status_code ? `${r.status_code} ${r.reason_phrase ?? ''}`.trim() : String(e.cause),
        ),
      );
    });
  });
  registered.catch(() => undefined); // the caller decides whether it awaits it

  ua.on('newRTCSession', (e: RTCSessionEvent) => {
    if (e.originator !== 'remote') return;
    const offered = e.session;
    if (session) {
      offered.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      return;
    }
    session = offered;
    state = 'ringing';
    const callId = e.request.getHeader('Call-ID');
    offered.on('peerconnection', ({ peerconnection }: PeerConnectionEvent) => {
      peerconnection.addEventListener('track', (t: RTCTrackEvent) => {
        audio.srcObject = t.streams[0] ?? new MediaStream([t.track]);
        void audio.play().catch(() => undefined);
      });
    });
    const finish = (cause: string, originator: string) => {
      if (session === offered) session = undefined;
      state = 'registered';
      audio.srcObject = null;
      const by = originator === 'local' ? 'agent' : originator === 'remote' ? 'remote' : 'system';
      for (const l of ended) l({ callId, cause, by });
    };
    // rtpengine offers a=setup:actpass, and Chromium as the answerer takes the DTLS client role
    // and starts its handshake the moment ICE connects, which can be before its 200 OK has
    // reached rtpengine; rtpengine then refuses the handshake with a fatal alert and the call
    // has no audio. Read as a=setup:active, the offer makes Chromium the DTLS server: it waits
    // for rtpengine's handshake, which starts only once rtpengine has the answer.
    offered.on('sdp', (x: { originator: string; sdp: string }) => {
      if (x.originator === 'remote') x.sdp = x.sdp.replace(/a=setup:actpass/g, 'a=setup:active');
    });
    offered.on('ended', (x: EndEvent) => finish(x.cause, x.originator));
    offered.on('failed', (x: EndEvent) => finish(x.cause, x.originator));
    const from = e.request.from;
    const call = { callId, from: from.display_name || from.uri.user || '' };
    for (const l of incoming) l(call);
  });
  ua.start();

  const current = (what: string): RTCSession => {
    if (!session) throw new Error(`no call to ${what}`);
    return session;
  };

  return {
    registered,
    state: () => state,
    onIncoming(listener) {
      incoming.add(listener);
      return () => incoming.delete(listener);
    },
    onEnded(listener) {
      ended.add(listener);
      return () => ended.delete(listener);
    },
    answer() {
      const s = current('answer');
      return new Promise<void>((resolve, reject) => {
        s.once('confirmed', () => {
          state = 'connected';
          resolve();
        });
        s.once('failed', (x) => reject(new Error(`the call failed: ${x.cause}`)));
        s.answer({
          mediaConstraints: { audio: config.microphone ?? true, video: false },
          // An INVITE without an offer (the outbound dialer's, docs/dialer.md): JsSIP then makes
          // the offer, and without this leaves the microphone out of it (no audio line at all).
          rtcOfferConstraints: { offerToReceiveAudio: true },
          pcConfig: {
            iceServers: [...(config.iceServers ?? [])],
            // rtpengine's offer has one audio stream and no BUNDLE group: max-bundle would refuse it
            rtcpMuxPolicy: 'require',
          },
        });
      });
    },
    hangup() {
      session?.terminate();
    },
    hold() {
      const s = current('hold');
      return new Promise<void>((resolve, reject) => {
        if (!s.hold({}, resolve)) reject(new Error('the call cannot be held now'));
      });
    },
    resume() {
      const s = current('resume');
      return new Promise<void>((resolve, reject) => {
        if (!s.unhold({}, resolve)) reject(new Error('the call cannot be resumed now'));
      });
    },
    mute() {
      current('mute').mute({ audio: true });
    },
    unmute() {
      current('unmute').unmute({ audio: true });
    },
    isOnHold: () => session?.isOnHold().local ?? false,
    isMuted: () => session?.isMuted().audio ?? false,
    async inboundAudio() {
      const pc = session?.connection;
      if (!pc) return undefined;
      const stats = await pc.getStats();
      let found: InboundAudio | undefined;
      stats.forEach((r: Record<string, unknown>) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') {
          found = {
            totalAudioEnergy: Number(r.totalAudioEnergy ?? 0),
            audioLevel: Number(r.audioLevel ?? 0),
            packetsReceived: Number(r.packetsReceived ?? 0),
          };
        }
      });
      return found;
    },
    async stop() {
      session?.terminate();
      await new Promise<void>((resolve) => {
        if (!ua.isRegistered()) return resolve();
        ua.once('unregistered', () => resolve());
        ua.unregister();
        setTimeout(resolve, 2000);
      });
      ua.stop();
    },
  };
}

function hiddenAudio(): HTMLAudioElement {
  const el = document.createElement('audio');
  el.autoplay = true;
  el.hidden = true;
  document.body.appendChild(el);
  return el;
}
