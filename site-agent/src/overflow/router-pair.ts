// Asking a pair of central routers, so that one router down costs a call nothing but a few tens of
// milliseconds. Two routers serve at once and share their reservations (central/router,
// state-feed.ts), so either may answer any question.
//
// One question, within one deadline (the topology's requestDeadlineMs):
//   - the routers are asked in the configured order, except that one which failed or was hedged
//     over in the last SET_ASIDE_MS is asked last (a dead router must not cost every call a
//     hedge delay);
//   - an error (refused connection, UNAVAILABLE, ...) fails over to the next router at once;
//   - no answer within hedgeAfterMs (a hung router, a lost packet) asks the next one as well;
//   - the first answer wins and the other attempts are cancelled;
//   - an error every router would give alike (the request itself refused: `isFinal`) ends the
//     question at once, and sets nothing aside;
//   - nothing by the deadline: the question fails and the call stays at its site, as it does
//     when there is no router at all.
// A hedged question may be decided by both routers. The second decision's reservation is held
// by both routers until the call arrives at the other target or the reservation expires: a few
// seconds of capacity counted twice, the safe direction.
//
// Timers are the process's (setTimeout); time for "set aside until" is the injected clock.

import type { Clock } from '@ccfed/common';
import type { Logger } from 'pino';

/** How long a question waits for the first router before asking the other too, by default. */
export const DEFAULT_HEDGE_AFTER_MS = 50;

/** How long a router that failed or was hedged over is asked last. */
export const SET_ASIDE_MS = 5_000;

export interface RouterPairDeps<Q, A> {
  /** host:port of each router, in the order they are preferred. */
  readonly addresses: readonly string[];
  /** Asks one router; must stop (and reject) when `signal` aborts. */
  readonly ask: (address: string, question: Q, signal: AbortSignal) => Promise<A>;
  /** Time to wait for one router before asking the next one too. */
  readonly hedgeAfterMs: number;
  /** The whole question's deadline, every router included. */
  readonly deadlineMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** An error the next router would repeat (a refused request): no failover. Default: none. */
  readonly isFinal?: (err: unknown) => boolean;
  /** Called each time a question moves on from `address` to the next router (for metrics). */
  readonly onFailover?: (address: string, cause: FailoverCause) => void;
}

/** Why a question was also put to the next router. */
export type FailoverCause = 'error' | 'no-answer';

export class RouterPair<Q, A> {
  /** address → until when it is asked last. */
  private readonly asideUntil = new Map<string, number>();

  constructor(private readonly deps: RouterPairDeps<Q, A>) {
    if (deps.addresses.length === 0) throw new Error('RouterPair needs at least one address');
  }

  /** The order the next question asks the routers in. */
  order(): string[] {
    const now = this.deps.clock.now();
    const aside = (a: string) => this.asideUntil.get(a) ?? 0;
    // Stable: the configured order among the available, then the set-aside, soonest back first.
    return [...this.deps.addresses].sort((a, b) => {
      const ua = aside(a) > now ? aside(a) : 0;
      const ub = aside(b) > now ? aside(b) : 0;
      return ua - ub;
    });
  }

  /** The first answer any router gives within the deadline; rejects when none does. */
  ask(question: Q): Promise<A> {
    const { deadlineMs, hedgeAfterMs, isFinal = () => false } = this.deps;
    const order = this.order();
    return new Promise<A>((resolve, reject) => {
      /** One per router asked; `done` once it answered or failed (nothing left to cancel). */
      const attempts: { readonly controller: AbortController; done: boolean }[] = [];
      const errors: string[] = [];
      let settled = false;
      let hedge: NodeJS.Timeout | undefined;
      const finish = (settle: () => void) => {
        settled = true;
        clearTimeout(hedge);
        clearTimeout(deadline);
        for (const a of attempts) if (!a.done) a.controller.abort();
        settle();
      };
      const launch = () => {
        if (settled || attempts.length >= order.length) return;
        const address = order[attempts.length]!;
        const attempt = { controller: new AbortController(), done: false };
        attempts.push(attempt);
        clearTimeout(hedge);
        if (attempts.length < order.length)
          hedge = setTimeout(() => {
            this.setAside(address, `no answer within ${hedgeAfterMs} ms`);
            this.deps.onFailover?.(address, 'no-answer');
            launch();
          }, hedgeAfterMs);
        this.deps.ask(address, question, attempt.controller.signal).then(
          (answer) => {
            attempt.done = true;
            if (settled) return;
            this.answered(address);
            finish(() => resolve(answer));
          },
          (err: unknown) => {
            attempt.done = true;
            if (settled) return;
            const message = err instanceof Error ? err.message : String(err);
            if (isFinal(err)) {
              finish(() => reject(err));
              return;
            }
            this.setAside(address, message);
            errors.push(`${address}: ${message}`);
            if (attempts.length < order.length) {
              this.deps.onFailover?.(address, 'error');
              launch();
            } else if (errors.length === order.length)
              finish(() => reject(new Error(`no router answered: ${errors.join('; ')}`)));
          },
        );
      };
      const deadline = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `no router answered within ${deadlineMs} ms (asked ${order
                  .slice(0, attempts.length)
                  .join(', ')}${errors.length ? `; ${errors.join('; ')}` : ''})`,
              ),
            ),
          ),
        deadlineMs,
      );
      launch();
    });
  }

  private setAside(address: string, reason: string): void {
    if (this.deps.addresses.length < 2) return;
    const now = this.deps.clock.now();
    const wasAside = (this.asideUntil.get(address) ?? 0) > now;
    this.asideUntil.set(address, now + SET_ASIDE_MS);
    // One line when a router starts failing, and again every SET_ASIDE_MS while it still fails.
    if (!wasAside)
      this.deps.log.warn(
        { event: 'router_set_aside', router: address, reason, forMs: SET_ASIDE_MS },
        'router failed or was slow: asking the other router first',
      );
  }

  private answered(address: string): void {
    if (!this.asideUntil.delete(address)) return;
    this.deps.log.info({ event: 'router_answering', router: address }, 'router answers again');
  }
}
