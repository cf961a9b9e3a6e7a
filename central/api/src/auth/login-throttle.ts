// How many password guesses a source address and a user name get: a token bucket per source and
// one per user name. An attempt takes a token from both before any scrypt work is done; a right
// password gives them back, so only failures count and a user who types their password right is
// never slowed down. Pure: the caller passes the time.
//
// Both limits exist because each alone has a gap: per source alone lets a botnet try one user
// from a thousand addresses; per user alone lets one address try a thousand users. The user
// limit is the larger, so one source reaches its own limit long before it empties a user's
// bucket: the user still logs in from elsewhere (only an attacker with many addresses can lock
// a user out, and then each address has spent its own guesses too).

/** A bucket of `burst` attempts that gets one back every `refillSeconds`. */
export interface BucketLimit {
  readonly burst: number;
  readonly refillSeconds: number;
}

export interface LoginLimits {
  readonly perSource: BucketLimit;
  readonly perUser: BucketLimit;
  /** Buckets kept at most (sources and user names together); the oldest go first beyond it. */
  readonly maxKeys?: number;
}

/** 10 failures per address, 20 per user name, one more of each every 30 s. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perSource: { burst: 10, refillSeconds: 30 },
  perUser: { burst: 20, refillSeconds: 30 },
  maxKeys: 100_000,
};

/** An attempt that went ahead; hand it back with `succeeded` when the password was right. */
export interface LoginTicket {
  readonly sourceKey: string;
  readonly userKey: string;
}

export type AttemptVerdict =
  | { readonly allowed: true; readonly ticket: LoginTicket }
  | {
      readonly allowed: false;
      /** Whole seconds until the next attempt may go ahead (Retry-After). */
      readonly retryAfterSeconds: number;
      readonly limitedBy: 'source' | 'user';
    };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms. */
  at: number;
}

export class LoginThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;

  constructor(private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
    for (const [name, b] of [
      ['perSource', limits.perSource],
      ['perUser', limits.perUser],
    ] as const) {
      if (!Number.isInteger(b.burst) || b.burst < 1)
        throw new RangeError(`login limits: ${name}.burst must be a whole number ≥ 1`);
      if (!(b.refillSeconds > 0))
        throw new RangeError(`login limits: ${name}.refillSeconds must be > 0`);
    }
    this.maxKeys = limits.maxKeys ?? DEFAULT_LOGIN_LIMITS.maxKeys!;
  }

  /**
   * Takes one attempt for `source` and `username` at `now` (ms) if both have one left; otherwise
   * says when the next one may go ahead, taking nothing.
   */
  attempt(source: string, username: string, now: number): AttemptVerdict {
    this.sweep(now);
    const sourceKey = `s:${source}`;
    const userKey = `u:${username}`;
    const s = this.level(sourceKey, this.limits.perSource, now);
    const u = this.level(userKey, this.limits.perUser, now);
    if (s.tokens < 1 || u.tokens < 1) {
      const wait = (b: Bucket, limit: BucketLimit) =>
        b.tokens >= 1 ? 0 : (1 - b.tokens) * limit.refillSeconds;
      const bySource = wait(s, this.limits.perSource);
      const byUser = wait(u, this.limits.perUser);
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil(Math.max(bySource, byUser))),
        limitedBy: bySource >= byUser ? 'source' : 'user',
      };
    }
    s.tokens -= 1;
    u.tokens -= 1;
    this.store(sourceKey, s);
    this.store(userKey, u);
    return { allowed: true, ticket: { sourceKey, userKey } };
  }

  /** The attempt was a success (or was never tried): its tokens go back. */
  refund(ticket: LoginTicket, now: number): void {
    for (const [key, limit] of [
      [ticket.sourceKey, this.limits.perSource],
      [ticket.userKey, this.limits.perUser],
    ] as const) {
      const b = this.buckets.get(key);
      if (!b) continue;
      const level = this.level(key, limit, now);
      level.tokens = Math.min(limit.burst, level.tokens + 1);
      // A full bucket is the same as none: forget it.
      if (level.tokens >= limit.burst) this.buckets.delete(key);
      else this.buckets.set(key, level);
    }
  }

  /** Buckets held now (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /** The bucket of `key` refilled up to `now`, full when unknown. */
  private level(key: string, limit: BucketLimit, now: number): Bucket {
    const b = this.buckets.get(key);
    if (!b) return { tokens: limit.burst, at: now };
    const refilled = Math.max(0, now - b.at) / 1000 / limit.refillSeconds;
    return { tokens: Math.min(limit.burst, b.tokens + refilled), at: Math.max(now, b.at) };
  }

  /** Forgets the least recently used buckets that have filled up again by `now`. */
  private sweep(now: number): void {
    for (let i = 0; i < 2; i++) {
      const next = this.buckets.keys().next();
      if (next.done) return;
      const key = next.value;
      const limit = key.startsWith('s:') ? this.limits.perSource : this.limits.perUser;
      if (this.level(key, limit, now).tokens < limit.burst) return;
      this.buckets.delete(key);
    }
  }

  private store(key: string, bucket: Bucket): void {
    // Re-inserting moves the key to the end: the map stays ordered from least recently used.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}
