/** Where the time comes from. The domain core never reads the wall clock itself. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: for tests and the routing simulator. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}
  now(): number {
    return this.current;
  }
  /** Moves time forward; refuses to go back, as no real clock the core relies on does. */
  advance(ms: number): void {
    if (ms < 0 || !Number.isFinite(ms)) throw new Error(`cannot advance a clock by ${ms} ms`);
    this.current += ms;
  }
  set(ms: number): void {
    if (ms < this.current)
      throw new Error(`cannot move a clock back from ${this.current} to ${ms}`);
    this.current = ms;
  }
}
