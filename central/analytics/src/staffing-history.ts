// Generated contact-centre history for the forecast and staffing plan: per tenant, site, skill
// and 15-minute interval, the rows the rollup views would hold (call_rollup_15m, agent_rollup_15m)
// for calls drawn from a known demand with weekly and daily seasonality and a trend:
//   λ(t) = base · (1 + trend · weeks) · weekday[d] · intraday(t)
// offered ~ Poisson(λ), AHT ≈ 240 s · (1.1 in the evening), some calls abandoned, and agents
// logged in close to what the demand needs, short in some intervals. Pure and deterministic.
import { formatDateTime } from '@ccfed/common';
import { seededRandom } from './population.js';
import type { StaffingTopology } from './staffing-plan.js';

const INTERVAL_MS = 900_000;
/** Monday … Sunday: weekdays busy, Saturday half, Sunday a third. */
const WEEKDAY = [1.05, 1, 1, 0.98, 0.95, 0.5, 0.35];

/** The share of a day's calls in each hour (UTC here): a morning and an afternoon peak. */
function hourly(hour: number): number {
  if (hour < 7 || hour >= 22) return 0.08;
  if (hour < 8) return 0.5;
  if ((hour >= 10 && hour < 12) || (hour >= 14 && hour < 16)) return 1.3;
  if (hour >= 19) return 0.55;
  return 1;
}

export interface HistorySeries {
  readonly tenantId: string;
  readonly siteId: string;
  readonly skill: string;
  /** Calls in a busiest weekday interval at the start, before seasonality. */
  readonly base: number;
  /** Growth per week, e.g. 0.01 for 1 %. */
  readonly trend?: number;
}

export interface HistoryOptions {
  /** A Monday 00:00 UTC. */
  readonly start: Date;
  readonly weeks: number;
  readonly seed: number;
  readonly series: readonly HistorySeries[];
  /** Agents per series are the offered load × this, floored at 1 while calls are expected. */
  readonly staffing?: number;
}

/** The demand the generator draws from: expected calls of the series in the interval at `ms`. */
export function expectedOffered(s: HistorySeries, start: Date, ms: number): number {
  const weeks = (ms - start.getTime()) / (7 * 86_400_000);
  const d = new Date(ms);
  const weekday = (d.getUTCDay() + 6) % 7;
  return s.base * (1 + (s.trend ?? 0) * weeks) * WEEKDAY[weekday]! * hourly(d.getUTCHours());
}

/** The AHT of the series in the interval at `ms`: longer calls in the evening. */
export function expectedAhtS(ms: number): number {
  return new Date(ms).getUTCHours() >= 18 ? 264 : 240;
}

export function generateStaffingHistory(opts: HistoryOptions): {
  callRollup: Record<string, string | number>[];
  agentRollup: Record<string, string | number>[];
} {
  const rnd = seededRandom(opts.seed);
  const poisson = (lambda: number) => {
    // Knuth's method for small means, a rounded normal approximation for large ones.
    if (lambda > 60) {
      const z = Math.sqrt(-2 * Math.log(Math.max(rnd(), 1e-12))) * Math.cos(2 * Math.PI * rnd());
      return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
    }
    const limit = Math.exp(-lambda);
    let k = 0;
    for (let p = rnd(); p > limit; p *= rnd()) k++;
    return k;
  };
  const callRollup: Record<string, string | number>[] = [];
  const agentRollup: Record<string, string | number>[] = [];
  const intervals = (opts.weeks * 7 * 86_400_000) / INTERVAL_MS;
  for (const s of opts.series) {
    for (let i = 0; i < intervals; i++) {
      const ms = opts.start.getTime() + i * INTERVAL_MS;
      const bucket = formatDateTime(new Date(ms));
      const offered = poisson(expectedOffered(s, opts.start, ms));
      const abandoned = Math.round(offered * 0.06 * rnd() * 2);
      const answered = offered - abandoned;
      const aht = expectedAhtS(ms) * (0.9 + 0.2 * rnd());
      if (offered > 0)
        callRollup.push({
          bucket,
          tenant_id: s.tenantId,
          site_id: s.siteId,
          skill: s.skill,
          offered,
          answered,
          answered_in_sl: Math.round(answered * 0.8),
          answer_wait_ms: answered * 15_000,
          abandoned,
          abandon_wait_ms: abandoned * 40_000,
          handled: answered,
          talk_ms: Math.round(answered * aht * 850),
          wrapped: answered,
          wrap_up_ms: Math.round(answered * aht * 150),
        });
      // Agents logged in for the whole interval, about what the load needs.
      const load = (expectedOffered(s, opts.start, ms) * expectedAhtS(ms)) / 900;
      const agents = load > 0.05 ? Math.max(1, Math.round(load * (opts.staffing ?? 1.15))) : 0;
      for (let a = 0; a < agents; a++)
        agentRollup.push({
          bucket,
          tenant_id: s.tenantId,
          site_id: s.siteId,
          agent_id: agentId(s, a),
          ready_ms: 200_000,
          on_call_ms: 600_000,
          wrap_up_ms: 100_000,
        });
    }
  }
  return { callRollup, agentRollup };
}

/** The n-th generated agent of a series. */
export function agentId(s: HistorySeries, n: number): string {
  return `${s.siteId}-${s.tenantId}-${s.skill}-${String(n).padStart(3, '0')}`;
}

/**
 * The topology a staffing run is given for generated history: every series' agents (up to
 * `agentsPerSeries`, more than any interval logs in) with the series' skill as their only one, and
 * each skill's service level.
 */
export function historyTopology(
  series: readonly HistorySeries[],
  opts: {
    agentsPerSeries: number;
    serviceLevel?: { thresholdSeconds: number; targetPercent: number };
  },
): StaffingTopology {
  const sites = [...new Set(series.map((s) => s.siteId))];
  return {
    skills: [...new Set(series.map((s) => s.skill))].map((id) => ({
      id,
      serviceLevel: opts.serviceLevel ?? { thresholdSeconds: 20, targetPercent: 80 },
    })),
    sites: sites.map((id) => ({
      id,
      agents: series
        .filter((s) => s.siteId === id)
        .flatMap((s) =>
          Array.from({ length: opts.agentsPerSeries }, (_, n) => ({
            id: agentId(s, n),
            tenant: s.tenantId,
            skills: { [s.skill]: 5 },
          })),
        ),
    })),
  };
}
