// What a run measured, and the definitions the report states:
//   sl            answered within the threshold / offered; abandons count as offered, not answered
//   asa_s         mean wait (arrival → answer, ring included) of answered calls, 0 s waits included
//   abandon_rate  abandoned / offered
//   overflow_rate calls taken in by another site / offered (federated mode)
//   ewt_mae_ratio mean |EWT predicted when the call was queued − its wait| / mean wait, over calls
//                 queued on arrival at their own site, answered there, never moved or refused
//   ewt_bias_ratio (mean predicted − mean wait) / mean wait, over the same calls
//   ewt_mae_s      mean |predicted − wait| in seconds
// The EWT figures are kept twice: for the forecast announced to the caller (ewt.ts
// WaitCalibration) and for the capacity model routing compares sites by; each overall and per
// band of calls ahead when the call queued (0, 1-2, 3-8, 9+).
// Only calls arriving after the warm-up and before the end count; all of them are followed to
// the end (answer or abandon).

import { CALLS_AHEAD_BANDS, type CallsAheadBand } from '@ccfed/site-agent/acd/ewt';

/** Sums for one predictor over a set of calls. */
export interface EwtTally {
  calls: number;
  absErrMs: number;
  errMs: number;
  waitMs: number;
}

export const emptyEwtTally = (): EwtTally => ({ calls: 0, absErrMs: 0, errMs: 0, waitMs: 0 });

/** Per predictor, per band of calls ahead. */
export type EwtBands = Record<'announced' | 'model', Record<CallsAheadBand, EwtTally>>;

export const emptyEwtBands = (): EwtBands => ({
  announced: Object.fromEntries(CALLS_AHEAD_BANDS.map((b) => [b, emptyEwtTally()])) as Record<
    CallsAheadBand,
    EwtTally
  >,
  model: Object.fromEntries(CALLS_AHEAD_BANDS.map((b) => [b, emptyEwtTally()])) as Record<
    CallsAheadBand,
    EwtTally
  >,
});

/** Adds one call's prediction and wait to a tally. */
export function addEwt(t: EwtTally, predictedMs: number, waitMs: number): void {
  t.calls++;
  t.absErrMs += Math.abs(predictedMs - waitMs);
  t.errMs += predictedMs - waitMs;
  t.waitMs += waitMs;
}

export interface Tally {
  offered: number;
  answered: number;
  withinSl: number;
  waitSumMs: number;
  abandoned: number;
  overflowed: number;
  refused: number;
  /** Callers who took a callback, and of them those the callback did not reach. */
  callbacks: number;
  callbacksUnreached: number;
  /** Callbacks another site served (only when they may be served anywhere). */
  callbacksOverflowed: number;
  ewtCalls: number;
  ewtAbsErrMs: number;
  ewtErrMs: number;
  ewtWaitMs: number;
  /** Mean absolute deviation of the wait a queue position implies, summed: the noise floor. */
  ewtFloorMs: number;
  /** Announced forecast and capacity model, per band of calls ahead. */
  ewtBands: EwtBands;
}

export const emptyTally = (): Tally => ({
  offered: 0,
  answered: 0,
  withinSl: 0,
  waitSumMs: 0,
  abandoned: 0,
  overflowed: 0,
  refused: 0,
  callbacks: 0,
  callbacksUnreached: 0,
  callbacksOverflowed: 0,
  ewtCalls: 0,
  ewtAbsErrMs: 0,
  ewtErrMs: 0,
  ewtWaitMs: 0,
  ewtFloorMs: 0,
  ewtBands: emptyEwtBands(),
});

/** The sum of several runs' tallies (replications over seeds). */
export function addTallies(tallies: readonly Tally[]): Tally {
  const sum = emptyTally();
  for (const t of tallies) {
    for (const k of Object.keys(sum) as (keyof Tally)[]) {
      if (k !== 'ewtBands') sum[k] += t[k];
    }
    for (const p of ['announced', 'model'] as const) {
      for (const b of CALLS_AHEAD_BANDS) {
        const into = sum.ewtBands[p][b];
        const from = t.ewtBands[p][b];
        for (const k of Object.keys(into) as (keyof EwtTally)[]) into[k] += from[k];
      }
    }
  }
  return sum;
}

/** A predictor's figures over some calls: bias and MAE relative to the mean wait, MAE in s. */
export interface EwtFigures {
  readonly calls: number;
  readonly bias_ratio: number;
  readonly mae_ratio: number;
  readonly mae_s: number;
  readonly mean_wait_s: number;
}

export function ewtFigures(t: EwtTally): EwtFigures {
  return {
    calls: t.calls,
    bias_ratio: t.errMs / t.waitMs,
    mae_ratio: t.absErrMs / t.waitMs,
    mae_s: t.absErrMs / t.calls / 1000,
    mean_wait_s: t.waitMs / t.calls / 1000,
  };
}

/** A predictor's figures overall and per band of calls ahead. */
export function ewtReport(bands: Record<CallsAheadBand, EwtTally>): {
  total: EwtFigures;
  bands: Record<CallsAheadBand, EwtFigures>;
} {
  const total = emptyEwtTally();
  for (const b of CALLS_AHEAD_BANDS)
    for (const k of Object.keys(total) as (keyof EwtTally)[]) total[k] += bands[b][k];
  return {
    total: ewtFigures(total),
    bands: Object.fromEntries(CALLS_AHEAD_BANDS.map((b) => [b, ewtFigures(bands[b])])) as Record<
      CallsAheadBand,
      EwtFigures
    >,
  };
}

export interface ModeFigures {
  readonly sl: number;
  readonly asa_s: number;
  readonly abandon_rate: number;
  readonly overflow_rate: number;
  readonly refused_rate: number;
  readonly callback_rate: number;
  readonly callbacks_overflowed_rate: number;
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
    callback_rate: t.callbacks / t.offered,
    callbacks_overflowed_rate: t.callbacksOverflowed / t.offered,
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
