// Asks the central router about calls that wait too long, and moves them when it says so. The
// router is advisory: a request that times out or fails leaves the call where it is, so no call
// depends on HQ being reachable.
import type { Clock } from '@ccfed/common';
import type { Logger } from 'pino';
import type { OverflowTrigger, WaitingCall } from './trigger.js';

export interface RouteQuestion extends WaitingCall {
  readonly tenantId: string;
  readonly tier: number;
  readonly waitedMs: number;
  /** The call's trace context (W3C traceparent), '' when it has none. */
  readonly traceparent?: string;
}

export type RouteAnswer = (
  | { readonly verdict: 'stay'; readonly reason: string; readonly decisionId: string }
  | {
      readonly verdict: 'overflow';
      readonly targetSiteId: string;
      readonly decisionId: string;
      readonly reason: string;
    }
) & {
  /** The router that answered (host:port), when there are two. */
  readonly router?: string;
};

export interface OverflowOutboundDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly trigger: OverflowTrigger;
  readonly thresholdMs: ReadonlyMap<string, number>;
  /** Calls waiting at this site now. */
  readonly waiting: () => readonly RouteQuestion[];
  /** Asks the router; rejects on its deadline or any failure. */
  readonly ask: (question: RouteQuestion) => Promise<RouteAnswer>;
  readonly requested: (question: RouteQuestion, thresholdMs: number) => void;
  /** Moves the call; false when it no longer waits here. */
  readonly moveOut: (callId: string, target: { siteId: string; decisionId: string }) => boolean;
  /** How often waiting calls are checked. */
  readonly scanIntervalMs?: number;
}

export class OverflowOutbound {
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private failures = 0;

  constructor(private readonly deps: OverflowOutboundDeps) {}

  start(): void {
    this.timer = setInterval(() => this.scan(), this.deps.scanIntervalMs ?? 250);
  }

  /** Checks the waiting calls once and asks about those due. */
  scan(): void {
    const { trigger, clock, thresholdMs } = this.deps;
    for (const question of trigger.due(this.deps.waiting(), clock.now())) {
      this.deps.requested(question, thresholdMs.get(question.skill) ?? 0);
      const p = this.deps
        .ask(question)
        .then((answer) => this.onAnswer(question, answer))
        .catch((err: unknown) => this.onFailure(question, err))
        .finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  /** Stops asking; waits for the answers already on their way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }

  private onAnswer(question: RouteQuestion, answer: RouteAnswer): void {
    this.failures = 0;
    if (answer.verdict === 'stay') {
      this.deps.log.debug(
        {
          event: 'route_stay',
          callId: question.callId,
          reason: answer.reason,
          router: answer.router,
        },
        'router: stay',
      );
      return;
    }
    const moved = this.deps.moveOut(question.callId, {
      siteId: answer.targetSiteId,
      decisionId: answer.decisionId,
    });
    if (!moved)
      this.deps.log.info(
        { event: 'route_too_late', callId: question.callId, target: answer.targetSiteId },
        'router answered overflow, but the call no longer waits here',
      );
  }

  private onFailure(question: RouteQuestion, err: unknown): void {
    this.failures++;
    // One line per outage, then every 100th failure: an unreachable router must not flood logs.
    if (this.failures === 1 || this.failures % 100 === 0)
      this.deps.log.warn(
        {
          event: 'router_unreachable',
          callId: question.callId,
          failures: this.failures,
          err: (err as Error).message,
        },
        'router did not answer in time: calls stay at this site',
      );
  }
}
