// Which recordings a site deletes: pure, the clock passed in. A recording expires its tenant's
// retention after it started; with no policy for the tenant any more (the topology dropped it),
// the expiry the recording was stored with holds.

/** What retention needs of a stored recording. */
export interface Retained {
  readonly startedMs: number;
  /** The expiry stored with it (its tenant's retention then). */
  readonly expiresMs: number;
}

/** When `rec` expires under `retentionMs` (the tenant's retention now; undefined: none). */
export function expiryOf(rec: Retained, retentionMs: number | undefined): number {
  return retentionMs === undefined ? rec.expiresMs : rec.startedMs + retentionMs;
}

/** The recordings of `recs` expired at `nowMs`, oldest first. */
export function expiredRecordings<T extends Retained>(
  recs: readonly T[],
  retentionMs: number | undefined,
  nowMs: number,
): T[] {
  return recs
    .filter((r) => expiryOf(r, retentionMs) <= nowMs)
    .sort((a, b) => a.startedMs - b.startedMs);
}

/**
 * Whether the recordings started on `day` (yyyy-mm-dd, UTC) may include expired ones at `nowMs`:
 * the earliest of them started at the day's midnight. Without a retention each recording's own
 * expiry decides, so every day is looked at.
 */
export function dayMayHoldExpired(
  day: string,
  retentionMs: number | undefined,
  nowMs: number,
): boolean {
  if (retentionMs === undefined) return true;
  return Date.parse(`${day}T00:00:00Z`) + retentionMs <= nowMs;
}
