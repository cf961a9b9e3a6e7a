// What a run measured, and the definitions the report states:
//   sl            answered within the threshold / offered; abandons count as offered, not answered
//   asa_s         mean wait (arrival → answer, ring included) of answered calls, 0 s waits included
//   abandon_rate  abandoned / offered
//   overflow_rate calls taken in by another site / offered (federated mode)
//   ewt_mae_ratio mean |EWT predicted when the call was queued − its wait| / mean wait, over calls
//                 queued on arrival at their own site, answered there, never moved or refused
// Only calls arriving after the warm-up and before the end count; all of them are followed to
// the end (answer or abandon).

export interface Tally {
  offered: number;
  answered: number;
  withinSl: number;
  waitSumMs: number;
  abandoned: number;
  overflowed: number;
  refused: number;
  ewtCalls: number;
  ewtAbsErrMs: number;
  ewtErrMs: number;
  ewtWaitMs: number;
  /** Mean absolute deviation of the wait a queue position implies, summed: the noise floor. */
  ewtFloorMs: number;
}

export const emptyTally = (): Tally => ({
  offered: 0,
  answered: 0,
  withinSl: 0,
  waitSumMs: 0,
  abandoned: 0,
  overflowed: 0,
  refused: 0,
  ewtCalls: 0,
  ewtAbsErrMs: 0,
  ewtErrMs: 0,
  ewtWaitMs: 0,
  ewtFloorMs: 0,
});

/** The sum of several runs' tallies (replications over seeds). */
export function addTallies(tallies: readonly Tally[]): Tally {
  const sum = emptyTally();
  for (const t of tallies) for (const k of Object.keys(sum) as (keyof Tally)[]) sum[k] += t[k];
  return sum;
}

export interface ModeFigures {
  readonly sl: number;
  readonly asa_s: number;
  readonly abandon_rate: number;
  readonly overflow_rate: number;
  readonly refused_rate: number;
  readonly ewt_mae_ratio: number;
  readonly ewt_bias_ratio: number;
  readonly ewt_mae_floor_ratio: number;
  readonly offered: number;
}

/** The report's figures from a tally. */
export function figures(t: Tally): ModeFigures {
  return {
    sl: t.withinSl / t.offered,
    asa_s: t.waitSumMs / t.answered / 1000,
    abandon_rate: t.abandoned / t.offered,
    overflow_rate: t.overflowed / t.offered,
    refused_rate: t.refused / t.offered,
    ewt_mae_ratio: t.ewtAbsErrMs / t.ewtWaitMs,
    ewt_bias_ratio: t.ewtErrMs / t.ewtWaitMs,
    ewt_mae_floor_ratio: t.ewtFloorMs / t.ewtWaitMs,
    offered: t.offered,
  };
}

/**
 * Mean absolute deviation of a Gamma(k, scale) wait around its mean k·scale: what even a perfect
 * mean predictor is off by for the k-th release of agents freeing at rate 1/scale.
 */
export function gammaMeanAbsDeviation(k: number, scaleMs: number): number {
  // 2·scale·k^k·e^(−k)/Γ(k), in logs for large k.
  let logGamma = 0;
  for (let i = 2; i < k; i++) logGamma += Math.log(i);
  return 2 * scaleMs * Math.exp(k * Math.log(k) - k - logGamma);
}
