// The callers of a scenario, drawn once per seed so that every mode (isolated, federated,
// pooled) serves exactly the same calls: common random numbers make the comparison sharper.
import { Prng } from './prng.js';

export interface SiteLoad {
  readonly siteId: string;
  readonly agents: number;
  /** Calls per second offered to this site. */
  readonly ratePerS: number;
  /** A window [fromMs, toMs) during which the site gets `ratePerS` instead. */
  readonly surge?: { readonly fromMs: number; readonly toMs: number; readonly ratePerS: number };
}

export interface CallerModel {
  readonly averageHandleMs: number;
  /** 'exponential' keeps Erlang exact; 'lognormal' (cv 1) is closer to real talk times. */
  readonly handle: 'exponential' | 'lognormal';
  readonly averagePatienceMs: number;
}

export interface Caller {
  readonly callId: string;
  readonly siteId: string;
  readonly arrivalMs: number;
  /** Talk time once answered. */
  readonly handleMs: number;
  /** The caller hangs up after waiting this long unanswered. */
  readonly patienceMs: number;
}

/** Poisson arrivals per site (thinned for the surge window), each with its handle and patience. */
export function drawCallers(
  sites: readonly SiteLoad[],
  model: CallerModel,
  durationMs: number,
  seed: number,
): Caller[] {
  const root = new Prng(seed);
  const callers: Caller[] = [];
  for (const site of sites) {
    const times = root.fork();
    const draws = root.fork();
    const peak = Math.max(site.ratePerS, site.surge?.ratePerS ?? 0);
    const rateAt = (t: number) =>
      site.surge && t >= site.surge.fromMs && t < site.surge.toMs
        ? site.surge.ratePerS
        : site.ratePerS;
    let t = 0;
    let n = 0;
    for (;;) {
      t += times.exponential(1000 / peak);
      if (t >= durationMs) break;
      if (times.next() * peak >= rateAt(t)) continue;
      const handleMs =
        model.handle === 'exponential'
          ? draws.exponential(model.averageHandleMs)
          : draws.lognormal(model.averageHandleMs, 1);
      callers.push({
        callId: `${site.siteId}-${n++}`,
        siteId: site.siteId,
        arrivalMs: Math.round(t),
        handleMs: Math.max(1, Math.round(handleMs)),
        patienceMs: Math.max(1, Math.round(draws.exponential(model.averagePatienceMs))),
      });
    }
  }
  return callers.sort((a, b) => a.arrivalMs - b.arrivalMs || (a.callId < b.callId ? -1 : 1));
}
