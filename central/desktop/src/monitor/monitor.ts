/// <reference lib="dom" />
// Silent monitoring in the supervisor's browser: takes the site's SDP offer (rtpengine's copy of
// the call, one sendonly audio section per party), answers it from an RTCPeerConnection that has
// no microphone and sends nothing (recvonly), plays what it receives, and measures it per party:
// the WebRTC statistics' inbound audio energy and, through an AnalyserNode, the loudest frequency.
// Plain TypeScript with no package dependencies: the desktop app bundles it as it likes.

/** What POST /api/v1/supervisor/calls/{callId}/monitor answers. */
export interface MonitorOffer {
  readonly monitorId: string;
  readonly sdpOffer: string;
  /** Who each audio section of the offer carries, in order: "caller", "agent". */
  readonly parties: readonly string[];
}

/** What one party sounds like to the supervisor so far. */
export interface PartyLevel {
  readonly party: string;
  /** RTP packets received from the site for this party. */
  readonly packetsReceived: number;
  /** WebRTC's totalAudioEnergy: grows while the party makes sound. */
  readonly totalAudioEnergy: number;
  /** The loudest frequency right now (Hz), from an FFT of what plays. */
  readonly dominantHz: number;
  /** Its level (dBFS of that FFT bin). */
  readonly peakDb: number;
}

export interface MonitorOptions {
  /** How long to wait for ICE candidates before answering anyway. Default 3 s. */
  readonly iceGatheringMs?: number;
  /** Play what is heard (default true); measuring works either way. */
  readonly play?: boolean;
}

interface PartyStream {
  readonly party: string;
  readonly mid: string;
  readonly analyser: AnalyserNode;
  readonly element: HTMLAudioElement | undefined;
}

export class CallMonitor {
  private readonly streams: PartyStream[] = [];
  /** rtpengine's ICE candidates, held back until it has taken the answer (see connect()). */
  private candidates: RTCIceCandidateInit[] = [];

  private constructor(
    readonly monitorId: string,
    private readonly pc: RTCPeerConnection,
    private readonly audio: AudioContext,
  ) {}

  /**
   * Answers `offer` listen-only; resolves once ICE gathering is complete (rtpengine takes one
   * answer, not trickled candidates) with the monitor and the SDP to send back. The browser does
   * not reach rtpengine until connect(): a DTLS handshake that arrives before rtpengine has the
   * answer (its fingerprint) fails, and then that stream stays silent.
   */
  static async answer(
    offer: MonitorOffer,
    opts: MonitorOptions = {},
  ): Promise<{ monitor: CallMonitor; sdpAnswer: string }> {
    const pc = new RTCPeerConnection({ bundlePolicy: 'balanced', rtcpMuxPolicy: 'require' });
    const monitor = new CallMonitor(offer.monitorId, pc, new AudioContext());
    pc.ontrack = (e) => monitor.track(e, offer.parties, opts.play ?? true);
    try {
      const { sdp, candidates } = withoutCandidates(offer.sdpOffer);
      monitor.candidates = candidates;
      await pc.setRemoteDescription({ type: 'offer', sdp });
      for (const t of pc.getTransceivers()) t.direction = 'recvonly';
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc, opts.iceGatheringMs ?? 3_000);
      const sdpAnswer = pc.localDescription?.sdp;
      if (!sdpAnswer) throw new Error('the browser made no SDP answer');
      return { monitor, sdpAnswer };
    } catch (err) {
      monitor.close();
      throw err;
    }
  }

  /** Lets the browser reach rtpengine, once the site has taken the answer. */
  async connect(): Promise<void> {
    for (const c of this.candidates.splice(0)) await this.pc.addIceCandidate(c);
  }

  /** The peer connection's state: "connected" once media can flow. */
  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /** What each party sounds like so far. */
  async levels(): Promise<PartyLevel[]> {
    const inbound = new Map<string, { packetsReceived: number; totalAudioEnergy: number }>();
    (await this.pc.getStats()).forEach((r: Record<string, unknown>) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio' && typeof r.mid === 'string')
        inbound.set(r.mid, {
          packetsReceived: Number(r.packetsReceived ?? 0),
          totalAudioEnergy: Number(r.totalAudioEnergy ?? 0),
        });
    });
    return this.streams.map((s) => {
      const bins = new Float32Array(s.analyser.frequencyBinCount);
      s.analyser.getFloatFrequencyData(bins);
      let peak = 1; // bin 0 is DC
      for (let i = 2; i < bins.length; i++) if (bins[i]! > bins[peak]!) peak = i;
      return {
        party: s.party,
        packetsReceived: inbound.get(s.mid)?.packetsReceived ?? 0,
        totalAudioEnergy: inbound.get(s.mid)?.totalAudioEnergy ?? 0,
        dominantHz: (peak * this.audio.sampleRate) / s.analyser.fftSize,
        peakDb: bins[peak] ?? -Infinity,
      };
    });
  }

  /** RTP packets this browser sent to the call: none, ever (it has no track to send). */
  async packetsSent(): Promise<number> {
    let sent = 0;
    (await this.pc.getStats()).forEach((r: Record<string, unknown>) => {
      if (r.type === 'outbound-rtp') sent += Number(r.packetsSent ?? 0);
    });
    return sent;
  }

  /** Stops listening here (the site is told separately: DELETE the monitor). */
  close(): void {
    for (const s of this.streams) {
      s.element?.pause();
      if (s.element) s.element.srcObject = null;
    }
    this.pc.close();
    void this.audio.close();
  }

  private track(e: RTCTrackEvent, parties: readonly string[], play: boolean): void {
    const mid = e.transceiver.mid ?? String(this.streams.length);
    const index = this.pc.getTransceivers().indexOf(e.transceiver);
    const party = parties[index] ?? `party-${index}`;
    const stream = new MediaStream([e.track]);
    // Chromium processes a remote WebRTC track's audio only while something consumes it.
    let element: HTMLAudioElement | undefined;
    if (play) {
      element = new Audio();
      element.srcObject = stream;
      void element.play().catch(() => {});
    }
    const analyser = this.audio.createAnalyser();
    analyser.fftSize = 4096;
    this.audio.createMediaStreamSource(stream).connect(analyser);
    void this.audio.resume().catch(() => {});
    this.streams.push({ party, mid, analyser, element });
  }
}

/** The offer without its ICE candidates, and those candidates by media section. */
function withoutCandidates(sdp: string): { sdp: string; candidates: RTCIceCandidateInit[] } {
  const candidates: RTCIceCandidateInit[] = [];
  let section = -1;
  const kept = sdp.split('\r\n').filter((line) => {
    if (line.startsWith('m=')) section++;
    if (!line.startsWith('a=candidate:')) return true;
    candidates.push({ candidate: line.slice(2), sdpMLineIndex: section });
    return false;
  });
  return { sdp: kept.join('\r\n'), candidates };
}

/** Resolves when `pc` has all its ICE candidates, or after `ms` with what it has. */
function gathered(pc: RTCPeerConnection, ms: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState !== 'complete') return;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The API as the browser reaches it: its base URL (…/api/v1) and the supervisor's token. */
export interface MonitorApi {
  readonly baseUrl: string;
  readonly token: string;
}

/** A monitor running: the site copies the call, the browser plays and measures it. */
export interface RunningMonitor {
  readonly monitor: CallMonitor;
  readonly parties: readonly string[];
  /** Stops listening, here and at the site. */
  stop(): Promise<void>;
}

/** Thrown when the API refuses; `status` is its HTTP status (403: not this supervisor's call). */
export class MonitorRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'MonitorRefused';
  }
}

/** Starts listening to `callId` at `siteId` through the API, as its token's supervisor. */
export async function monitorCall(
  api: MonitorApi,
  callId: string,
  siteId: string,
  opts: MonitorOptions = {},
): Promise<RunningMonitor> {
  const offer = (await call(
    api,
    'POST',
    `/supervisor/calls/${encodeURIComponent(callId)}/monitor`,
    { siteId },
  )) as MonitorOffer;
  const { monitor, sdpAnswer } = await CallMonitor.answer(offer, opts);
  const stop = async () => {
    monitor.close();
    await call(
      api,
      'DELETE',
      `/supervisor/monitors/${offer.monitorId}?siteId=${encodeURIComponent(siteId)}`,
    );
  };
  try {
    await call(api, 'POST', `/supervisor/monitors/${offer.monitorId}/answer`, {
      siteId,
      sdpAnswer,
    });
    await monitor.connect();
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { monitor, parties: offer.parties, stop };
}

async function call(api: MonitorApi, method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${api.token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new MonitorRefused(res.status, json.error ?? `HTTP ${res.status}`);
  return json;
}
