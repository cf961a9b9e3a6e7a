// At most `concurrency` scrypt verifications at once, and a short queue behind them. Each one holds
// 32 MiB and a libuv thread for tens of ms: unbounded, a burst of log-ins (or an attacker with
// many addresses, each under its throttle limit) would take the API's memory and the thread pool
// the rest of the process also uses. A queued log-in waits at most `maxWaitMs`; when the queue is
// full or the wait runs out the caller answers 503 with Retry-After: the server is busy, which is
// not the client's fault (429 is kept for "you tried too often"). The queue absorbs the ordinary
// burst (a shift of supervisors logging in at 09:00) without refusing anyone.

export interface WorkGateLimits {
  /** Tasks running at once. */
  readonly concurrency: number;
  /** Tasks waiting at most; beyond, refused at once. */
  readonly queue: number;
  /** How long a task may wait for its turn before it is refused. */
  readonly maxWaitMs: number;
}

/** Two at a time (scrypt at N=2^15 takes one core for its duration), 16 waiting, 2 s at most. */
export const DEFAULT_WORK_GATE: WorkGateLimits = { concurrency: 2, queue: 16, maxWaitMs: 2_000 };

/** The gate refused the task: no room in the queue, or no turn in time. */
export class GateBusyError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('too much work in progress');
    this.name = 'GateBusyError';
  }
}

interface Waiter {
  readonly start: () => void;
  readonly timer: NodeJS.Timeout;
}

export class WorkGate {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: WorkGateLimits = DEFAULT_WORK_GATE) {
    if (!Number.isInteger(limits.concurrency) || limits.concurrency < 1)
      throw new RangeError('work gate: concurrency must be a whole number ≥ 1');
    if (!Number.isInteger(limits.queue) || limits.queue < 0)
      throw new RangeError('work gate: queue must be a whole number ≥ 0');
  }

  /** Runs `task` when a slot is free; throws GateBusyError when it cannot get one in time. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limits.concurrency) await this.turn();
    this.running += 1;
    try {
      return await task();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.start();
    }
  }

  /** Tasks running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private turn(): Promise<void> {
    const retryAfterSeconds = Math.max(1, Math.ceil(this.limits.maxWaitMs / 1000));
    if (this.waiting.length >= this.limits.queue)
      return Promise.reject(new GateBusyError(retryAfterSeconds));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new GateBusyError(retryAfterSeconds));
        }, this.limits.maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }
}
