// A small seeded PRNG (mulberry32) and the draws the simulator needs. Deterministic: the same
// seed gives the same run on any machine, so results can be reproduced and compared.

/** Uniform numbers in [0, 1) from a 32-bit seed; the same seed always gives the same stream. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Exponential draw with the given mean (never exactly 0 or infinite). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Lognormal draw with the given mean and coefficient of variation. */
  lognormal(mean: number, cv: number): number {
    const sigma2 = Math.log(1 + cv * cv);
    const mu = Math.log(mean) - sigma2 / 2;
    // Box-Muller; 1 - u keeps the log finite.
    const z = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return Math.exp(mu + Math.sqrt(sigma2) * z);
  }

  /** An independent stream for a sub-part of the model (one site's arrivals, say). */
  fork(): Prng {
    return new Prng(Math.floor(this.next() * 4294967296));
  }
}
