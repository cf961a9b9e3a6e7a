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

/** Bands of calls ahead (0, 1–2, 3–8, 9+) over which forecasts are calibrated and reported. */
export const CALLS_AHEAD_BANDS = ['0', '1-2', '3-8', '9+'] as const;
export type CallsAheadBand = (typeof CALLS_AHEAD_BANDS)[number];

/** The band of a call with `ahead` calls before it in service order. */
export function callsAheadBand(ahead: number): CallsAheadBand {
  if (ahead <= 0) return '0';
  if (ahead <= 2) return '1-2';
  if (ahead <= 8) return '3-8';
  return '9+';
}

/**
 * The wait a caller is told: the capacity model above, scaled by how long calls in the same band
 * of calls ahead actually waited against what the model said for them.
 *
 * The model is right about capacity (it is what the router compares sites by) but not about a
 * caller's wait: calls ahead that abandon or are overflowed to another site shorten it, and in a
 * federation most of the calls ahead of a long queue are moved away (bench:routing measured the
 * model's bias at +19 % isolated and +174 % federated). Each band's scale is the ratio of two
 * weighted means over answered calls (actual wait, modelled wait), so that the forecasts' mean
 * matches the waits' mean however noisy single calls are. The means are plain over the first
 * 1/weight calls (the model's own word counting as one call) and exponential after, so a quiet
 * site learns its pattern from its first calls and then follows a change within some tens of
 * calls. A band with few calls yet borrows from all bands together: its scale leans on the
 * overall ratio with the weight of `borrow` calls.
 */
export class WaitCalibration {
  private readonly bands = new Map<CallsAheadBand, RatioMean>();
  private readonly all: RatioMean;

  constructor(
    /** Weight of each new call once warmed up; about 1/weight calls make the memory. */
    private readonly weight = 0.02,
    /** How many calls of the overall ratio a band's own calls are weighed against. */
    private readonly borrow = 10,
  ) {
    this.all = new RatioMean(weight);
  }

  /** The scale applied to the model in `band` (1 until calls have been answered). */
  scale(band: CallsAheadBand): number {
    const overall = this.all.ratio();
    const own = this.bands.get(band);
    if (!own) return overall;
    const n = own.count();
    return (n * own.ratio() + this.borrow * overall) / (n + this.borrow);
  }

  /** The wait to announce for a call the model gives `modelMs`, with `ahead` calls before it. */
  forecastMs(modelMs: number, ahead: number): number {
    return Math.round(modelMs * this.scale(callsAheadBand(ahead)));
  }

  /** Folds in one answered call: what the model said when it queued, and what it waited here. */
  observe(modelMs: number, ahead: number, actualMs: number): void {
    if (!(modelMs > 0) || !Number.isFinite(actualMs) || actualMs < 0) return;
    const band = callsAheadBand(ahead);
    let own = this.bands.get(band);
    if (!own) this.bands.set(band, (own = new RatioMean(this.weight)));
    own.add(modelMs, actualMs);
    this.all.add(modelMs, actualMs);
  }
}

/** Weighted means of modelled and actual waits: plain at first, exponential once warm. */
class RatioMean {
  private modelled = 0;
  private actual = 0;
  private seen = 0;

  constructor(private readonly weight: number) {}

  /** actual / modelled; 1 (the model's own word) before any call. */
  ratio(): number {
    return this.seen === 0 ? 1 : this.actual / this.modelled;
  }

  /** How many calls the means stand for (at most 1/weight). */
  count(): number {
    return Math.min(this.seen, 1 / this.weight);
  }

  add(modelMs: number, actualMs: number): void {
    if (this.seen === 0) {
      // The prior: one call's worth of "the model was right".
      this.modelled = modelMs;
      this.actual = modelMs;
    }
    this.seen++;
    const w = Math.max(this.weight, 1 / (this.seen + 1));
    this.modelled += w * (modelMs - this.modelled);
    this.actual += w * (actualMs - this.actual);
  }
}
