// Silent monitoring, the pure part: which live call a supervisor may listen to, which of its
// parties rtpengine copies to them (and in which order), who owns each monitor, and which monitors
// a call's end leaves behind. No I/O: the rtpengine adapter (rtpengine-monitor.ts) and the gRPC
// handlers (grpc/monitor-rpcs.ts) carry out what it decides; whether the supervisor may listen to
// that call at all is authorise.ts.
import type { Clock } from '@ccfed/common';

/** rtpengine's name for the caller's far end, the agent (services/kamailio/ccfed.cfg). */
export const FAR_END_TAG = 'ccfed-far-end';

/** A call an agent of this site is talking on, as monitoring needs it. */
export interface TalkingCall {
  readonly callId: string;
  /** The caller's SIP From tag: rtpengine's name for the caller. */
  readonly callerTag: string;
  readonly agentId: string;
  readonly tenantId: string;
}

/** The parties a monitor hears, in the order of the offer's audio sections. */
export const MONITORED_PARTIES = ['caller', 'agent'] as const;

export interface Monitor {
  readonly id: string;
  readonly callId: string;
  readonly agentId: string;
  readonly tenantId: string;
  /** The principal (its label) that started it: only it answers or stops it. */
  readonly owner: string;
  /** rtpengine's tag for the supervisor's side, one per monitor. */
  readonly toTag: string;
  /** rtpengine's tags of the parties heard, in MONITORED_PARTIES order. */
  readonly fromTags: readonly string[];
  readonly startedMs: number;
  readonly state: 'offered' | 'listening';
}

/** Why a monitor cannot be started, answered or stopped; `code` maps to a gRPC status. */
export class MonitorError extends Error {
  constructor(
    message: string,
    readonly code: 'no_call' | 'no_monitor' | 'not_owner' | 'answered' | 'too_many' | 'bad_sdp',
  ) {
    super(message);
    this.name = 'MonitorError';
  }
}

export interface MonitorLimits {
  /** Supervisors listening to one call at once. */
  readonly perCall: number;
  /** Monitors at the site at once (each holds rtpengine ports and a DTLS session). */
  readonly perSite: number;
}

export const DEFAULT_MONITOR_LIMITS: MonitorLimits = { perCall: 3, perSite: 50 };

const MONITOR_ID = /^mon-[0-9a-f]{32}$/;

export class MonitorBook {
  private readonly monitors = new Map<string, Monitor>();

  constructor(
    private readonly deps: {
      readonly clock: Clock;
      /** 32 lowercase hex digits, unguessable (a monitor id is also its rtpengine tag). */
      readonly randomHex: () => string;
      readonly limits?: MonitorLimits;
    },
  ) {}

  /** Opens a monitor of `call` for `owner`; throws MonitorError when there is no call or too many. */
  open(call: TalkingCall | undefined, callId: string, owner: string): Monitor {
    if (!call)
      throw new MonitorError(`no agent of this site is talking on call ${clip(callId)}`, 'no_call');
    const limits = this.deps.limits ?? DEFAULT_MONITOR_LIMITS;
    const mine = [...this.monitors.values()];
    if (mine.filter((m) => m.callId === call.callId).length >= limits.perCall)
      throw new MonitorError(
        `call ${clip(callId)} already has ${limits.perCall} supervisors listening`,
        'too_many',
      );
    if (mine.length >= limits.perSite)
      throw new MonitorError(`this site already runs ${limits.perSite} monitors`, 'too_many');
    const id = `mon-${this.deps.randomHex()}`;
    const monitor: Monitor = {
      id,
      callId: call.callId,
      agentId: call.agentId,
      tenantId: call.tenantId,
      owner,
      toTag: `ccfed-${id}`,
      fromTags: [call.callerTag, FAR_END_TAG],
      startedMs: this.deps.clock.now(),
      state: 'offered',
    };
    this.monitors.set(id, monitor);
    return monitor;
  }

  /** The monitor `id`, if it is open. */
  get(id: string): Monitor | undefined {
    return MONITOR_ID.test(id) ? this.monitors.get(id) : undefined;
  }

  /** The monitor `owner` may answer: open, its own, not answered yet. */
  answerable(id: string, owner: string): Monitor {
    const m = this.owned(id, owner);
    if (m.state !== 'offered')
      throw new MonitorError(`monitor ${m.id} was answered already`, 'answered');
    return m;
  }

  /** Marks the monitor listening once rtpengine took the answer. */
  listening(id: string): void {
    const m = this.monitors.get(id);
    if (m) this.monitors.set(id, { ...m, state: 'listening' });
  }

  /** Closes the monitor `owner` stops; undefined when it had ended already. */
  close(id: string, owner: string): Monitor | undefined {
    const m = this.get(id);
    if (!m) return undefined;
    if (m.owner !== owner)
      throw new MonitorError(`monitor ${m.id} belongs to another supervisor`, 'not_owner');
    this.monitors.delete(id);
    return m;
  }

  /** Forgets a monitor whatever its owner (its start failed at rtpengine). */
  drop(id: string): void {
    this.monitors.delete(id);
  }

  /** Closes and returns the monitors of calls no agent talks on any more. */
  closeEnded(isTalking: (callId: string) => boolean): Monitor[] {
    const ended = [...this.monitors.values()].filter((m) => !isTalking(m.callId));
    for (const m of ended) this.monitors.delete(m.id);
    return ended;
  }

  /** Every open monitor (for shutdown). */
  all(): Monitor[] {
    return [...this.monitors.values()];
  }

  private owned(id: string, owner: string): Monitor {
    const m = this.get(id);
    if (!m) throw new MonitorError(`no monitor ${clip(id)} is open here`, 'no_monitor');
    if (m.owner !== owner)
      throw new MonitorError(`monitor ${m.id} belongs to another supervisor`, 'not_owner');
    return m;
  }
}

/** The longest SDP answer taken from a browser (Chromium's is about 1.5 KiB for two sections). */
export const MAX_SDP_ANSWER_BYTES = 16 * 1024;

/**
 * Why `sdp` is not an acceptable answer to a monitor's offer, or undefined when it is: plain SDP
 * text within the size limit, `offered` audio sections and nothing else, and none of them sending
 * (listen only: recvonly or inactive).
 */
export function sdpAnswerProblem(sdp: string, offered: number): string | undefined {
  if (Buffer.byteLength(sdp, 'utf8') > MAX_SDP_ANSWER_BYTES)
    return `longer than ${MAX_SDP_ANSWER_BYTES} bytes`;
  const lines = sdp.split(/\r?\n/).filter((l) => l !== '');
  if (lines[0] !== 'v=0') return 'not an SDP body (it must begin with v=0)';
  const bad = lines.findIndex((l) => !/^[a-z]=[\x20-\x7e]*$/.test(l));
  if (bad >= 0) return `line ${bad + 1} is not an SDP line of printable ASCII`;
  const media = lines.filter((l) => l.startsWith('m='));
  if (media.length !== offered)
    return `${media.length} media sections where the offer had ${offered}`;
  if (media.some((m) => !m.startsWith('m=audio ')))
    return 'a media section other than audio (listening needs audio only)';
  if (lines.some((l) => l === 'a=sendrecv' || l === 'a=sendonly'))
    return 'it would send media: a monitor listens only (recvonly)';
  return undefined;
}

function clip(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
