// Expected wait time (EWT).
//
// Model: the agents serving a skill release calls, on average, every AHT / N seconds, where N is
// the number of agents staffed on the skill (logged in and not in not-ready) and AHT the skill's
// average handle time (talk + wrap-up), learned from finished calls. With handle times roughly
// exponential, releases form a Poisson stream of rate N / AHT, so the call at position k, with
// I agents idle right now, waits for the (k - I)-th release: E[wait] = (k - I) * AHT / N.
// The estimate ignores calls of higher tier that will arrive later and jump ahead; the routing
// benchmark measures how far off that makes it.

/** Returned when no agent is staffed on the skill: the call cannot be answered here. */
export const NO_AGENTS_EWT_MS = 24 * 3600 * 1000;

export interface EwtInputs {
  /** 1-based position in service order. */
  readonly position: number;
  readonly staffed: number;
  readonly idle: number;
  readonly averageHandleMs: number;
}

/** Expected wait in ms of the call at `position`; NO_AGENTS_EWT_MS when nobody is staffed. */
export function expectedWaitMs({ position, staffed, idle, averageHandleMs }: EwtInputs): number {
  if (staffed <= 0) return NO_AGENTS_EWT_MS;
  const ahead = position - idle;
  if (ahead <= 0) return 0;
  return Math.round((ahead * averageHandleMs) / staffed);
}

/** Exponentially weighted average handle time: recent calls count more, one call never dominates. */
export class HandleTimeAverage {
  constructor(
    private averageMs: number,
    private readonly weight = 0.05,
  ) {}

  get valueMs(): number {
    return this.averageMs;
  }

  /** Folds in one finished call's handle time (talk + wrap-up). */
  add(handleMs: number): void {
    if (!Number.isFinite(handleMs) || handleMs < 0) return;
    this.averageMs += this.weight * (handleMs - this.averageMs);
  }
}
