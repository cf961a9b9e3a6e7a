// Silent monitoring at one site: the book's decisions (monitor-book.ts) carried out on the site's
// rtpengine (rtpengine-monitor.ts), with one log line per start, answer and stop naming the call,
// the agent, the tenant and who listens (never a caller's number). The gRPC handlers authorise
// first (authorise.ts) and call this.
import type { Logger } from 'pino';
import type { MonitorBook } from './monitor-book.js';
import {
  MONITORED_PARTIES,
  MonitorError,
  sdpAnswerProblem,
  type Monitor,
  type TalkingCall,
} from './monitor-book.js';
import type { MonitorMedia } from './rtpengine-monitor.js';

export interface MonitorServiceDeps {
  readonly book: MonitorBook;
  /** rtpengine; undefined when the site has none (every start is then refused). */
  readonly media: MonitorMedia | undefined;
  /** The call `callId` while an agent of this site talks on it (call-flow.ts). */
  readonly talkingCall: (callId: string) => TalkingCall | undefined;
  readonly log: Logger;
}

/** A request the site cannot carry out now (no rtpengine, rtpengine refused). */
export class MonitorUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonitorUnavailable';
  }
}

export class MonitorService {
  constructor(private readonly deps: MonitorServiceDeps) {}

  /** The agent talking on `callId`, for authorisation before anything else is done. */
  agentOf(callId: string): string | undefined {
    return this.deps.talkingCall(callId)?.agentId;
  }

  /** The open monitor `id`'s agent, for authorisation of an answer or a stop. */
  monitorAgent(id: string): string | undefined {
    return this.deps.book.get(id)?.agentId;
  }

  /** Opens a monitor of `callId` for `owner` and returns rtpengine's offer for its browser. */
  async start(
    callId: string,
    owner: string,
  ): Promise<{ monitor: Monitor; sdpOffer: string; parties: readonly string[] }> {
    const media = this.requireMedia();
    const monitor = this.deps.book.open(this.deps.talkingCall(callId), callId, owner);
    let sdpOffer: string;
    try {
      sdpOffer = await media.subscribe(monitor);
    } catch (err) {
      this.deps.book.drop(monitor.id);
      this.deps.log.error(
        { event: 'monitor_start_failed', monitorId: monitor.id, callId, err },
        'rtpengine would not copy the call to a monitor',
      );
      throw new MonitorUnavailable(`the site's rtpengine could not monitor call ${callId}`);
    }
    this.logEvent('monitor_started', monitor, 'a supervisor asked to listen to a call');
    return { monitor, sdpOffer, parties: MONITORED_PARTIES };
  }

  /** Hands the browser's answer to rtpengine: from then on the supervisor hears both parties. */
  async answer(id: string, owner: string, sdp: string): Promise<void> {
    const media = this.requireMedia();
    const monitor = this.deps.book.answerable(id, owner);
    const problem = sdpAnswerProblem(sdp, monitor.fromTags.length);
    if (problem) throw new MonitorError(`sdp_answer: ${problem}`, 'bad_sdp');
    try {
      await media.answer({ callId: monitor.callId, toTag: monitor.toTag, sdp });
    } catch (err) {
      this.deps.log.warn(
        { event: 'monitor_answer_failed', monitorId: id, callId: monitor.callId, err },
        'rtpengine refused a monitor answer',
      );
      throw new MonitorUnavailable(`the site's rtpengine refused the answer of monitor ${id}`);
    }
    this.deps.book.listening(id);
    this.logEvent('monitor_listening', monitor, 'a supervisor is listening to a call');
  }

  /** Stops monitor `id`; false when it had ended already. */
  async stop(id: string, owner: string): Promise<boolean> {
    const monitor = this.deps.book.close(id, owner);
    if (!monitor) return false;
    await this.release(monitor, 'stopped');
    return true;
  }

  /** Ends the monitors of calls that ended (called on every change of the site's calls). */
  sweep(): void {
    const ended = this.deps.book.closeEnded((callId) => !!this.deps.talkingCall(callId));
    for (const monitor of ended) void this.release(monitor, 'call_ended');
  }

  /** Ends every monitor (the site agent stops). */
  async stopAll(): Promise<void> {
    const all = this.deps.book.all();
    for (const m of all) this.deps.book.drop(m.id);
    await Promise.all(all.map((m) => this.release(m, 'site_agent_stopped')));
  }

  private async release(monitor: Monitor, reason: string): Promise<void> {
    try {
      await this.deps.media?.unsubscribe(monitor);
    } catch (err) {
      this.deps.log.warn(
        { event: 'monitor_release_failed', monitorId: monitor.id, callId: monitor.callId, err },
        'rtpengine did not confirm the end of a monitor',
      );
    }
    this.logEvent('monitor_stopped', monitor, 'a supervisor stopped listening to a call', {
      reason,
    });
  }

  private requireMedia(): MonitorMedia {
    if (!this.deps.media)
      throw new MonitorUnavailable('this site runs no rtpengine the site agent can reach');
    return this.deps.media;
  }

  private logEvent(event: string, m: Monitor, msg: string, extra: object = {}): void {
    this.deps.log.info(
      {
        event,
        monitorId: m.id,
        callId: m.callId,
        agentId: m.agentId,
        tenant: m.tenantId,
        by: m.owner,
        ...extra,
      },
      msg,
    );
  }
}
