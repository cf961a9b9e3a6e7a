// One outbound campaign under a virtual clock, paced by the site agent's own Pacer
// (site-agent/src/dialer/pacing.ts): a discrete-event simulation, seeded, of agents on a daily
// shift, lines dialed, customers who answer, answering machines, and the 2 s rule.
//
// Each dialed line, after a ring, is answered by a person (the answer rate), an answering machine,
// busy, or not answered before the ring timeout. Answering-machine detection drops machines, and
// also drops a share of the people (its false positives): those are abandoned calls, as Ofcom
// counts them, and the pacer sees them only as machine verdicts. A person put through finds a free
// agent, or waits: an agent who frees within 2 s takes them, otherwise they hear the recorded
// message and the call is abandoned. Handle times are exponential. The abandoned-call rate is
// counted exactly, per minute, over every full 24 h window of the run.
import { ManualClock } from '@ccfed/common';
import {
  Pacer,
  type LineOutcome,
  type PacerConfig,
  type PacingMode,
} from '@ccfed/site-agent/dialer/pacing';
import { EventQueue } from '../routing/event-queue.js';
import { Prng } from '../routing/prng.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** How customers' phones behave, beside the answer rate. */
export interface WorldModel {
  /** Share of lines an answering machine answers. */
  readonly machineRate: number;
  /** Share of lines that are busy. */
  readonly busyRate: number;
  /** Share of people answering that AMD takes for a machine (and drops). */
  readonly amdFalsePositiveRate: number;
  /** How long a line rings before it is given up. */
  readonly ringTimeoutMs: number;
  /** A person or machine answers after a ring drawn uniformly in this range. */
  readonly answerDelayMs: readonly [number, number];
  /** AMD's listening time before a machine verdict. */
  readonly amdMs: number;
  /** When a busy line is known. */
  readonly busyMs: number;
  /** How long a connected customer may wait for an agent before the recorded message. */
  readonly connectWithinMs: number;
}

export const WORLD: WorldModel = Object.freeze({
  machineRate: 0.1,
  busyRate: 0.05,
  amdFalsePositiveRate: 0.01,
  ringTimeoutMs: 25_000,
  answerDelayMs: [4_000, 16_000] as const,
  amdMs: 2_500,
  busyMs: 3_000,
  connectWithinMs: 2_000,
});

export interface CampaignConfig {
  readonly mode: PacingMode;
  readonly agents: number;
  /** Share of lines a person answers. */
  readonly answerRate: number;
  readonly averageHandleMs: number;
  /** Days simulated; each has one shift of `shiftHours` from 08:00. */
  readonly days: number;
  readonly shiftHours: number;
  readonly seed: number;
  readonly world?: WorldModel;
  readonly pacer?: Partial<PacerConfig>;
}

export interface CampaignResult {
  readonly mode: PacingMode;
  readonly agents: number;
  readonly answer_rate: number;
  /** Talk time over logged-in time (shift hours × agents). */
  readonly utilization: number;
  /** Highest abandoned-call rate over any full 24 h window of the run (AMD false positives in). */
  readonly abandon_rate_max_24h: number;
  /** Customers put through to an agent per agent-hour logged in. */
  readonly calls_per_agent_hour: number;
  readonly dials: number;
  readonly live_answers: number;
  readonly connected: number;
  readonly abandoned_no_agent: number;
  readonly abandoned_amd: number;
  /** Decisions the pacer took and how many of them predictive fell back at the guard. */
  readonly decisions: number;
  readonly guard_decisions: number;
  readonly lines_per_agent_mean: number;
}

type Outcome = 'live' | 'machine' | 'busy' | 'no_answer';

interface Waiting {
  readonly sinceMs: number;
  done: boolean;
}

type SimEvent =
  | { kind: 'line'; outcome: Outcome }
  | { kind: 'free' }
  | { kind: 'give_up'; customer: Waiting }
  | { kind: 'shift_start' }
  | { kind: 'shift_end' }
  | { kind: 'tick' };

/** Runs one campaign and returns what the issue's `bench:dialer` row reports. */
export function simulateCampaign(cfg: CampaignConfig): CampaignResult {
  const world = cfg.world ?? WORLD;
  const clock = new ManualClock(0);
  const pacer = new Pacer({ clock, config: cfg.pacer });
  const events = new EventQueue<SimEvent>();
  const lines = new Prng(cfg.seed);
  const handles = new Prng(cfg.seed ^ 0x5bd1e995);
  const endMs = cfg.days * DAY;
  const minutes = Math.ceil(endMs / MINUTE);
  const liveByMinute = new Float64Array(minutes + 1);
  const abandonedByMinute = new Float64Array(minutes + 1);

  let onShift = false;
  let shiftStartMs = 0;
  let free = 0;
  let busy = 0;
  let inFlight = 0;
  const waiting: Waiting[] = [];
  let talkMs = 0;
  let handleSum = 0;
  let handled = 0;
  const tally = {
    dials: 0,
    live: 0,
    connected: 0,
    abandonedNoAgent: 0,
    abandonedAmd: 0,
    decisions: 0,
    guard: 0,
    linesTimesMs: 0,
  };
  let lastLinesAt = 0;

  const minuteNow = () => Math.min(minutes, Math.floor(clock.now() / MINUTE));
  const countLive = (abandoned: boolean) => {
    const m = minuteNow();
    liveByMinute[m] = liveByMinute[m]! + 1;
    if (abandoned) abandonedByMinute[m] = abandonedByMinute[m]! + 1;
  };
  const record = (o: LineOutcome) => pacer.record(o);
  const trackLines = () => {
    const now = clock.now();
    if (onShift) tally.linesTimesMs += inFlight * (now - lastLinesAt);
    lastLinesAt = now;
  };

  /** An agent takes a customer now: talk until an exponential handle time has passed. */
  const talk = () => {
    busy += 1;
    tally.connected += 1;
    record('connected');
    countLive(false);
    const handle = handles.exponential(cfg.averageHandleMs);
    handleSum += handle;
    handled += 1;
    // Talk counts only inside the shift: after it, agents finish calls off the clock.
    const shiftEnd = shiftStartMs + cfg.shiftHours * HOUR;
    talkMs += Math.max(0, Math.min(clock.now() + handle, shiftEnd) - clock.now());
    events.push(clock.now() + handle, { kind: 'free' });
  };

  const dial = (n: number) => {
    for (let i = 0; i < n; i++) {
      tally.dials += 1;
      inFlight += 1;
      const u = lines.next();
      const ring = () =>
        world.answerDelayMs[0] + lines.next() * (world.answerDelayMs[1] - world.answerDelayMs[0]);
      if (u < cfg.answerRate) events.push(clock.now() + ring(), { kind: 'line', outcome: 'live' });
      else if (u < cfg.answerRate + world.machineRate)
        events.push(clock.now() + ring() + world.amdMs, { kind: 'line', outcome: 'machine' });
      else if (u < cfg.answerRate + world.machineRate + world.busyRate)
        events.push(clock.now() + world.busyMs, { kind: 'line', outcome: 'busy' });
      else events.push(clock.now() + world.ringTimeoutMs, { kind: 'line', outcome: 'no_answer' });
    }
  };

  const decide = () => {
    if (!onShift) return;
    const d = pacer.decide({
      mode: cfg.mode,
      agentsLoggedIn: cfg.agents,
      agentsFree: free,
      agentsBusy: busy,
      linesInFlight: inFlight,
      // No simulated line holds an agent while in flight: a person put through takes a free agent
      // and leaves flight at once, a waiting one has none yet. Progressive's free − in flight then
      // holds an agent back for every line, as the site's reservation before dialing does.
      linesWithAgent: 0,
      averageHandleMs: handled > 0 ? handleSum / handled : cfg.averageHandleMs,
    });
    tally.decisions += 1;
    if (d.reason === 'guard') tally.guard += 1;
    trackLines();
    dial(d.dial);
  };

  const handle = (ev: SimEvent) => {
    trackLines();
    switch (ev.kind) {
      case 'shift_start':
        onShift = true;
        shiftStartMs = clock.now();
        free = cfg.agents;
        busy = 0;
        events.push(clock.now() + cfg.shiftHours * HOUR, { kind: 'shift_end' });
        events.push(clock.now() + 1_000, { kind: 'tick' });
        break;
      case 'shift_end':
        onShift = false;
        break;
      case 'tick':
        if (onShift) events.push(clock.now() + 1_000, { kind: 'tick' });
        break;
      case 'free': {
        busy -= 1;
        const next = waiting.find((w) => !w.done);
        if (next) {
          next.done = true;
          waiting.splice(waiting.indexOf(next), 1);
          inFlight -= 1;
          talk();
        } else free += 1;
        break;
      }
      case 'give_up': {
        const c = ev.customer;
        if (c.done) break;
        c.done = true;
        waiting.splice(waiting.indexOf(c), 1);
        inFlight -= 1;
        tally.abandonedNoAgent += 1;
        record('abandoned');
        countLive(true);
        break;
      }
      case 'line': {
        if (ev.outcome === 'live') {
          tally.live += 1;
          if (lines.next() < world.amdFalsePositiveRate) {
            // A person AMD hung up on: an abandoned call the pacer only sees as a machine.
            inFlight -= 1;
            tally.abandonedAmd += 1;
            record('machine');
            countLive(true);
          } else if (free > 0) {
            free -= 1;
            inFlight -= 1;
            talk();
          } else {
            const customer: Waiting = { sinceMs: clock.now(), done: false };
            waiting.push(customer);
            events.push(clock.now() + world.connectWithinMs, { kind: 'give_up', customer });
          }
        } else {
          inFlight -= 1;
          record(ev.outcome);
        }
        break;
      }
    }
    decide();
  };

  for (let d = 0; d < cfg.days; d++) events.push(d * DAY + 8 * HOUR, { kind: 'shift_start' });
  for (;;) {
    const next = events.pop();
    if (!next) break;
    clock.set(next.atMs);
    handle(next.event);
  }

  // Every full 24 h window [m − 1440, m) of minutes, for m from one day in to the end.
  let live = 0;
  let abandoned = 0;
  let worst = 0;
  const span = DAY / MINUTE;
  for (let m = 0; m < minutes; m++) {
    live += liveByMinute[m]!;
    abandoned += abandonedByMinute[m]!;
    if (m >= span) {
      live -= liveByMinute[m - span]!;
      abandoned -= abandonedByMinute[m - span]!;
    }
    if (m >= span - 1 && live > 0) worst = Math.max(worst, abandoned / live);
  }

  const agentHours = (cfg.agents * cfg.days * cfg.shiftHours * HOUR) / HOUR;
  const loggedInMs = cfg.agents * cfg.days * cfg.shiftHours * HOUR;
  return {
    mode: cfg.mode,
    agents: cfg.agents,
    answer_rate: cfg.answerRate,
    utilization: talkMs / loggedInMs,
    abandon_rate_max_24h: worst,
    calls_per_agent_hour: tally.connected / agentHours,
    dials: tally.dials,
    live_answers: tally.live,
    connected: tally.connected,
    abandoned_no_agent: tally.abandonedNoAgent,
    abandoned_amd: tally.abandonedAmd,
    decisions: tally.decisions,
    guard_decisions: tally.guard,
    lines_per_agent_mean: tally.linesTimesMs / loggedInMs,
  };
}
