// How many customer lines a campaign dials now (issue 19). Pure and clock-injected: the site
// agent's dialer and bench:dialer's simulator (bench/dialer/simulate.ts) run this same code.
//
// Progressive dials one line per free agent: a customer who answers always finds their agent.
// A line whose agent is already reserved (a site's progressive and preview lines, a predictive line
// once its answer took one) is matched: its agent is not among the free ones, so only the lines
// still without an agent are set against the free agents, in both modes.
// Predictive dials ahead of free agents from the live answer rate: it picks the most lines whose
// connects, drawn from Binomial(lines, answer rate), exceed the agents free now plus those whose
// calls end within the lines' ring horizon, drawn from Binomial(busy, 1 − e^(−horizon / handle
// time)), with probability at most `overflowProbability`. A connect beyond them is an abandoned
// call (no agent within 2 s: the recorded message), and the campaign's rate over the trailing
// 24 h must stay under the cap (Ofcom: 3 %, counting an estimate of the live people answering
// machine detection hung up on). So predictive narrows its tail probability as the rate nears a
// guard below the cap, falls back to progressive at the guard, and never has more lines beyond
// its free agents than the abandons the window can still absorb under the guard: a burst of
// connects far above the learnt answer rate cannot break the cap inside the counted window.
// docs/pacing.md has the method and the figures bench:dialer measured with it.
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import type { Clock } from '@ccfed/common';

export type PacingMode = 'progressive' | 'predictive';

/** How a dialed line ended, as the dialer learnt it. */
export type LineOutcome =
  /** A person answered and was put through to an agent. */
  | 'connected'
  /** A person answered and no agent took them within 2 s (they heard the recorded message). */
  | 'abandoned'
  /** Answering-machine detection said machine and the line was dropped. */
  | 'machine'
  | 'no_answer'
  | 'busy'
  | 'failed';

export interface PacerConfig {
  /** The abandoned-call cap over any 24 h: 0.03 (Ofcom per 24 h; the US FTC's 3 % is per 30 days). */
  readonly abandonCap: number;
  /** Predictive falls back to progressive once the 24 h rate reaches guard × cap (0.8). */
  readonly guard: number;
  /** Highest probability that a predictive batch's connects exceed the agents available. */
  readonly overflowProbability: number;
  /** Share of people answering that answering-machine detection takes for a machine and drops
   * (Ofcom's reasoned estimate, from the operator's test calls): counted as abandoned calls. */
  readonly amdFalsePositiveRate: number;
  /** Answer rate assumed before any attempt (cold start) and its weight in attempts. */
  readonly priorAnswerRate: number;
  readonly priorWeight: number;
  /** How far back the live answer rate looks. */
  readonly answerRateWindowMs: number;
  /** How far ahead agents finishing their calls are counted for the lines in flight: about the
   * time within which a line dialed now is answered or given up. */
  readonly horizonMs: number;
  /** Most lines in flight per agent logged in, whatever the answer rate says. */
  readonly maxLinesPerAgent: number;
}

export const DEFAULT_PACER_CONFIG: PacerConfig = Object.freeze({
  abandonCap: 0.03,
  guard: 0.8,
  overflowProbability: 0.05,
  amdFalsePositiveRate: 0.015,
  priorAnswerRate: 0.2,
  priorWeight: 50,
  answerRateWindowMs: 3_600_000,
  horizonMs: 20_000,
  maxLinesPerAgent: 8,
});

/** The campaign's agents and lines at the moment of a decision. */
export interface PacingState {
  readonly mode: PacingMode;
  /** Agents logged in to the campaign, free or busy. */
  readonly agentsLoggedIn: number;
  /** Agents free now (not talking, not reserved). */
  readonly agentsFree: number;
  /** Agents talking or in wrap-up. */
  readonly agentsBusy: number;
  /** Lines dialed whose outcome is not known yet. */
  readonly linesInFlight: number;
  /**
   * Of those, the lines whose agent is already reserved, and so not among `agentsFree`: at a site
   * every progressive and preview line (reserved before it is dialed), and a predictive line once
   * its customer's answer took an agent. The rest still need a free agent when they connect.
   */
  readonly linesWithAgent: number;
  /** The current handle-time estimate (talk + wrap-up), for agents soon free. */
  readonly averageHandleMs: number;
}

export interface PacingDecision {
  /** Lines to dial now (0 or more). */
  readonly dial: number;
  /** How this decision was taken: predictive can fall back to progressive. */
  readonly mode: PacingMode;
  readonly reason:
    'progressive' | 'predictive' | 'guard' | 'no_agents' | 'abandon_budget' | 'line_limit';
  /** Answer rate used (prior blended with the recent attempts). */
  readonly answerRate: number;
  /** Abandoned-call rate over the trailing 24 h, AMD estimate included. */
  readonly abandonRate24h: number;
  /** Lines in flight plus those dialed now. */
  readonly targetLines: number;
}

/** Trailing counts the pacer keeps, as the operator's reports show them. */
export interface PacerWindow {
  readonly attempts: number;
  readonly liveAnswers: number;
  /** Over the trailing 24 h: */
  readonly liveCalls24h: number;
  readonly abandoned24h: number;
  readonly machineVerdicts24h: number;
  readonly amdFalsePositivesEstimate24h: number;
  readonly abandonRate24h: number;
}

const DAY_MS = 86_400_000;
const BUCKET_MS = 60_000;

interface Bucket {
  readonly startMs: number;
  attempts: number;
  live: number;
  abandoned: number;
  machine: number;
}

/** One campaign's pacing state: the trailing windows and the binomial search. */
export class Pacer {
  private readonly clock: Clock;
  private readonly config: PacerConfig;
  /** Per-minute counts, oldest first, none older than 24 h (plus a minute). */
  private readonly buckets: Bucket[] = [];
  private day = { live: 0, abandoned: 0, machine: 0 };
  private recent = { attempts: 0, live: 0 };
  /** Index of the oldest bucket still in the answer-rate window. */
  private recentFrom = 0;
  /** Most lines per (free, busy, freeing, answer rate, tail), quantised: searches are costly. */
  private readonly lineCache = new Map<string, number>();

  constructor(deps: { clock: Clock; config?: Partial<PacerConfig> }) {
    this.clock = deps.clock;
    this.config = checkConfig({ ...DEFAULT_PACER_CONFIG, ...deps.config });
  }

  /** Counts one line's outcome at the clock's time into the trailing windows. */
  record(outcome: LineOutcome): void {
    if (!OUTCOMES.has(outcome)) throw new RangeError(`unknown line outcome: ${String(outcome)}`);
    const b = this.bucketNow();
    b.attempts += 1;
    this.recent.attempts += 1;
    if (outcome === 'connected' || outcome === 'abandoned') {
      b.live += 1;
      this.recent.live += 1;
      this.day.live += 1;
    }
    if (outcome === 'abandoned') {
      b.abandoned += 1;
      this.day.abandoned += 1;
    }
    if (outcome === 'machine') {
      b.machine += 1;
      this.day.machine += 1;
    }
  }

  /** The trailing counts at the clock's time. */
  window(): PacerWindow {
    this.expire();
    // People taken for machines: rate / (1 − rate) of those put through, at most every verdict.
    const r = this.config.amdFalsePositiveRate;
    const fp = Math.min(this.day.machine, (this.day.live * r) / (1 - r));
    return {
      attempts: this.recent.attempts,
      liveAnswers: this.recent.live,
      liveCalls24h: this.day.live,
      abandoned24h: this.day.abandoned,
      machineVerdicts24h: this.day.machine,
      amdFalsePositivesEstimate24h: fp,
      abandonRate24h: abandonRate(this.day.abandoned + fp, this.day.live + fp),
    };
  }

  /** Lines to dial now; never more than the abandon budget of the trailing 24 h allows. */
  decide(state: PacingState): PacingDecision {
    checkState(state);
    const cfg = this.config;
    const w = this.window();
    const answerRate =
      (w.liveAnswers + cfg.priorAnswerRate * cfg.priorWeight) / (w.attempts + cfg.priorWeight);
    const free = state.agentsFree;
    const inFlight = state.linesInFlight;
    // Lines still without an agent: each of them, if it connects, needs one of the free agents.
    // A line with its agent reserved is not counted again: its agent already left `free`.
    const unmatched = inFlight - state.linesWithAgent;
    const progressive = Math.max(0, free - unmatched);
    const base = { answerRate, abandonRate24h: w.abandonRate24h };
    const out = (dial: number, mode: PacingMode, reason: PacingDecision['reason']) => ({
      ...base,
      dial,
      mode,
      reason,
      targetLines: inFlight + dial,
    });
    if (state.agentsLoggedIn === 0 || free + state.agentsBusy === 0)
      return out(0, state.mode, 'no_agents');
    if (state.mode === 'progressive') return out(progressive, 'progressive', 'progressive');

    const guardRate = cfg.guard * cfg.abandonCap;
    if (w.abandonRate24h >= guardRate) return out(progressive, 'progressive', 'guard');

    // The connects of every line without an agent, Binomial(lines, answer rate), against the free agents
    // and those whose call ends within the horizon, Binomial(busy, 1 − e^(−horizon / handle)) for
    // exponential handle times. The tail narrows as the rate nears the guard: none at the guard.
    const freeing = 1 - Math.exp(-cfg.horizonMs / state.averageHandleMs);
    const tail = cfg.overflowProbability * (1 - w.abandonRate24h / guardRate);
    let lines = this.mostLines(free, state.agentsBusy, freeing, answerRate, tail);
    let reason: PacingDecision['reason'] = 'predictive';

    // Worst case, every line beyond the free agents connects and abandons. (a + k) / (c + k)
    // stays at or under the guard while k <= (guard c - a) / (1 - guard), AMD estimate in both.
    const fp = w.amdFalsePositivesEstimate24h;
    const budget = Math.max(
      0,
      Math.floor(
        (guardRate * (w.liveCalls24h + fp) - (w.abandoned24h + fp)) / (1 - guardRate) + 1e-9,
      ),
    );
    if (lines > free + budget) {
      lines = free + budget;
      reason = 'abandon_budget';
    }
    // The per-agent limit bounds every line in flight, those with their agent included.
    const maxLines = Math.floor(cfg.maxLinesPerAgent * state.agentsLoggedIn) - state.linesWithAgent;
    if (lines > maxLines) {
      lines = maxLines;
      reason = 'line_limit';
    }
    const dial = Math.max(progressive, lines - unmatched, 0);
    return out(dial, 'predictive', reason);
  }

  /** Largest n with P(Binomial(n, p) > free + Binomial(busy, q)) <= tail (at least `free`). */
  private mostLines(free: number, busy: number, q: number, p: number, tail: number): number {
    // Quantised on the safe side (answer rate up, agents freeing and tail down) so that decisions
    // share searches: the search is the costly part.
    const pq = Math.min(1, Math.ceil(p * 1000) / 1000);
    const qq = Math.floor(q * 1000) / 1000;
    const tq = tail > 0 ? 10 ** (Math.floor(Math.log10(tail) * 20) / 20) : 0;
    if (tq <= 1e-9) return free;
    const key = `${free}/${busy}/${qq}/${pq}/${tq}`;
    const cached = this.lineCache.get(key);
    if (cached !== undefined) return cached;
    // P(Y = y) for the agents freeing, from the CDF; negligible terms dropped.
    const freeingPmf: [number, number][] = [];
    let below = 0;
    for (let y = 0; y <= busy; y++) {
      const upTo = qq > 0 ? binomialCdf(y, busy, qq) : 1;
      const mass = upTo - below;
      below = upTo;
      if (mass > 1e-12) freeingPmf.push([y, mass]);
      if (1 - upTo < 1e-12) break;
    }
    const overflows = (n: number) => {
      let pOver = 0;
      for (const [y, mass] of freeingPmf) pOver += mass * (1 - binomialCdf(free + y, n, pq));
      return pOver > tq;
    };
    // n = free never overflows; find the first n that does by doubling, then bisect.
    // One past the per-agent limit: decide() then knows the limit, not the tail, bound it.
    const ceiling = Math.floor(this.config.maxLinesPerAgent * (free + busy)) + 1;
    let lo = free;
    let hi = Math.min(ceiling, Math.max(free + 1, Math.ceil((free + 1) / pq)));
    while (hi < ceiling && !overflows(hi)) {
      lo = hi;
      hi = Math.min(ceiling, hi * 2);
    }
    if (hi <= lo || !overflows(hi)) lo = Math.max(lo, hi);
    else
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (overflows(mid)) hi = mid;
        else lo = mid;
      }
    if (this.lineCache.size > 50_000) this.lineCache.clear();
    this.lineCache.set(key, lo);
    return lo;
  }

  private bucketNow(): Bucket {
    this.expire();
    const start = Math.floor(this.clock.now() / BUCKET_MS) * BUCKET_MS;
    const last = this.buckets.at(-1);
    if (last && last.startMs === start) return last;
    if (last && last.startMs > start)
      throw new RangeError('the clock went backwards: outcomes must be recorded in time order');
    const b: Bucket = { startMs: start, attempts: 0, live: 0, abandoned: 0, machine: 0 };
    this.buckets.push(b);
    return b;
  }

  /** Drops what left the 24 h window and the answer-rate window from the running sums. */
  private expire(): void {
    const now = this.clock.now();
    while (this.buckets.length > 0 && this.buckets[0]!.startMs + BUCKET_MS <= now - DAY_MS) {
      const b = this.buckets.shift()!;
      this.day.live -= b.live;
      this.day.abandoned -= b.abandoned;
      this.day.machine -= b.machine;
      if (this.recentFrom > 0) this.recentFrom -= 1;
      else {
        this.recent.attempts -= b.attempts;
        this.recent.live -= b.live;
      }
    }
    const recentStart = now - this.config.answerRateWindowMs;
    while (
      this.recentFrom < this.buckets.length &&
      this.buckets[this.recentFrom]!.startMs + BUCKET_MS <= recentStart
    ) {
      const b = this.buckets[this.recentFrom]!;
      this.recent.attempts -= b.attempts;
      this.recent.live -= b.live;
      this.recentFrom += 1;
    }
  }
}

/** The inbound service level a blended agent's outbound work depends on. */
export interface InboundLoad {
  /** Inbound calls waiting now for the blended agents' skills. */
  readonly queued: number;
  /** In the service-level window: inbound calls offered, and of them answered within target. */
  readonly offered: number;
  readonly answeredWithinTarget: number;
  /** The service level to hold, 0..1 (0.8 for 80/20). */
  readonly target: number;
  /** Fewer offered calls than this say nothing yet about the service level. */
  readonly minOffered: number;
}

export type InboundGate =
  | { readonly outbound: true }
  | { readonly outbound: false; readonly reason: 'inbound_waiting' | 'service_level_below_target' };

/** Inbound first: blended agents may take outbound work only while no inbound call waits and
 * the inbound service level in the window holds its target. */
export function inboundFirst(load: InboundLoad): InboundGate {
  count('queued', load.queued);
  count('offered', load.offered);
  count('answeredWithinTarget', load.answeredWithinTarget);
  count('minOffered', load.minOffered);
  share('target', load.target);
  if (load.answeredWithinTarget > load.offered)
    throw new RangeError(
      `answeredWithinTarget (${load.answeredWithinTarget}) exceeds offered (${load.offered})`,
    );
  if (load.queued > 0) return { outbound: false, reason: 'inbound_waiting' };
  if (load.offered >= load.minOffered && load.answeredWithinTarget < load.target * load.offered)
    return { outbound: false, reason: 'service_level_below_target' };
  return { outbound: true };
}

const OUTCOMES: ReadonlySet<string> = new Set([
  'connected',
  'abandoned',
  'machine',
  'no_answer',
  'busy',
  'failed',
]);

const abandonRate = (abandoned: number, live: number) => (live > 0 ? abandoned / live : 0);

function count(name: string, x: number): void {
  if (!Number.isInteger(x) || x < 0)
    throw new RangeError(`${name} must be a whole number >= 0, got ${String(x)}`);
}

function share(name: string, x: number): void {
  if (typeof x !== 'number' || !(x >= 0 && x <= 1))
    throw new RangeError(`${name} must be between 0 and 1, got ${String(x)}`);
}

function positive(name: string, x: number): void {
  if (typeof x !== 'number' || !(x > 0) || !Number.isFinite(x))
    throw new RangeError(`${name} must be a finite number > 0, got ${String(x)}`);
}

function checkConfig(c: PacerConfig): PacerConfig {
  share('abandonCap', c.abandonCap);
  share('guard', c.guard);
  share('overflowProbability', c.overflowProbability);
  share('amdFalsePositiveRate', c.amdFalsePositiveRate);
  if (c.amdFalsePositiveRate >= 1) throw new RangeError('amdFalsePositiveRate must be below 1');
  positive('priorAnswerRate', c.priorAnswerRate);
  share('priorAnswerRate', c.priorAnswerRate);
  positive('priorWeight', c.priorWeight);
  positive('answerRateWindowMs', c.answerRateWindowMs);
  if (c.answerRateWindowMs > DAY_MS)
    throw new RangeError(`answerRateWindowMs must be at most 24 h, got ${c.answerRateWindowMs}`);
  positive('horizonMs', c.horizonMs);
  positive('maxLinesPerAgent', c.maxLinesPerAgent);
  if (c.abandonCap * c.guard >= 1) throw new RangeError('abandonCap × guard must be below 1');
  return Object.freeze({ ...c });
}

function checkState(s: PacingState): void {
  if (s.mode !== 'progressive' && s.mode !== 'predictive')
    throw new RangeError(`mode must be progressive or predictive, got ${String(s.mode)}`);
  count('agentsLoggedIn', s.agentsLoggedIn);
  count('agentsFree', s.agentsFree);
  count('agentsBusy', s.agentsBusy);
  count('linesInFlight', s.linesInFlight);
  count('linesWithAgent', s.linesWithAgent);
  if (s.linesWithAgent > s.linesInFlight)
    throw new RangeError(
      `linesWithAgent (${s.linesWithAgent}) exceed linesInFlight (${s.linesInFlight})`,
    );
  positive('averageHandleMs', s.averageHandleMs);
  if (s.agentsFree + s.agentsBusy > s.agentsLoggedIn)
    throw new RangeError(
      `agentsFree + agentsBusy (${s.agentsFree + s.agentsBusy}) exceed agentsLoggedIn (${s.agentsLoggedIn})`,
    );
}
