// A customer population over nine months, with a hidden churn process, written as the raw rows
// the ingester writes (call_events, surveys, crm_events), to fit and validate churn models out of
// time: behaviour before an earlier date against churn after it, then a later date likewise.
//
// Each customer has a CRM profile (plan, tenure, charges, payment method, flags) and holdings, and
// a dissatisfaction u that drifts month by month (u' = 0.85 u + 0.53 ε, so it stays N(0, 1)). In
// every month the customer leaves with probability
//   σ(−4.6 + 1.2 u + plan + 0.35 electronic-check + 0.2 senior − 0.45 ln(1 + tenure/6) − 0.1 products)
// with plan +1.1 month-to-month, 0 one-year, −1.2 two-year. u drives calls, waits, abandons,
// overflows, complaints, low CSAT, unresolved issues and cancellation intents; in the 45 days
// before leaving a customer calls, complains and says they will cancel more often (trouble
// escalates). Nothing after a customer leaves. Deterministic: customer i's rows depend only on
// the seed and i, so a population can be written in chunks.
import { formatDateTime } from '@ccfed/common';
import { seededRandom, type RawRow } from './population.js';

const DAY_MS = 86_400_000;
const MONTH_MS = 30 * DAY_MS;
/** History starts this long before asOf: the 90 days before a snapshot 120 days back. */
export const HISTORY_DAYS = 215;
/** Churn is drawn up to this long after asOf, so the scoring at asOf can be checked. */
export const FUTURE_DAYS = 60;

export interface ChurnPopulationOptions {
  readonly asOf: Date;
  readonly seed: number;
  readonly tenants?: readonly string[];
  readonly sites?: readonly string[];
  /** Mean calls a month of an average customer (u = 0); 0.75 by default. */
  readonly callsPerMonth?: number;
}

export interface ChurnCustomer {
  readonly tenantId: string;
  readonly customerId: string;
  readonly homeSite: string;
  readonly plan: string;
  /** When the customer cancelled (ms), or undefined when they stay past asOf + FUTURE_DAYS. */
  readonly churnedAt: number | undefined;
  readonly valueMinor: number;
}

export interface ChurnPopulation {
  readonly customers: ChurnCustomer[];
  readonly callEvents: RawRow[];
  readonly surveys: RawRow[];
  readonly crmEvents: RawRow[];
}

const PLANS = ['month-to-month', 'one-year', 'two-year'] as const;
const PLAN_EFFECT: Record<string, number> = {
  'month-to-month': 1.5,
  'one-year': 0,
  'two-year': -1.5,
};
const PAYMENTS = ['electronic-check', 'mailed-check', 'bank-transfer-auto', 'credit-card-auto'];
const PRODUCTS = ['phone', 'internet', 'security', 'backup', 'support', 'streaming'];
const SKILLS = ['billing', 'support', 'sales'] as const;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Customers [first, first + count) of the population and their rows. */
export function generateChurnPopulation(
  opts: ChurnPopulationOptions,
  first: number,
  count: number,
): ChurnPopulation {
  const tenants = opts.tenants ?? ['t-alpha', 't-beta'];
  const sites = opts.sites ?? ['s-north', 's-south', 's-east'];
  const asOf = opts.asOf.getTime();
  const start = asOf - HISTORY_DAYS * DAY_MS;
  const end = asOf + FUTURE_DAYS * DAY_MS;
  const months = Math.ceil((end - start) / MONTH_MS);
  const callRate = opts.callsPerMonth ?? 1;
  const out: ChurnPopulation = { customers: [], callEvents: [], surveys: [], crmEvents: [] };
  const at = (ms: number) => {
    const text = formatDateTime(new Date(ms));
    return { event_time: text, event_date: text.slice(0, 10) };
  };

  for (let i = first; i < first + count; i++) {
    const rnd = seededRandom(Math.imul(opts.seed ^ 0x9e3779b9, 2654435761) ^ Math.imul(i, 40503));
    const normal = () =>
      Math.sqrt(-2 * Math.log(Math.max(rnd(), 1e-12))) * Math.cos(2 * Math.PI * rnd());
    const poisson = (lambda: number) => {
      const limit = Math.exp(-lambda);
      let k = 0;
      for (let p = rnd(); p > limit; p *= rnd()) k++;
      return k;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    let seq = 0;
    const eventId = () => `e${opts.seed}-${i.toString(36)}-${(seq++).toString(36)}`;

    const tenantId = tenants[i % tenants.length]!;
    const customerId = `c-${i.toString().padStart(7, '0')}`;
    const homeSite = pick(sites);
    const plan = PLANS[rnd() < 0.5 ? 0 : rnd() < 0.5 ? 1 : 2]!;
    const tenureMean = plan === 'month-to-month' ? 10 : plan === 'one-year' ? 28 : 44;
    const tenure0 = Math.min(72, Math.floor(-Math.log(Math.max(rnd(), 1e-9)) * tenureMean));
    const products = PRODUCTS.filter((_, k) => k === 0 || rnd() < 0.45);
    const payment = rnd() < (plan === 'month-to-month' ? 0.5 : 0.2) ? PAYMENTS[0]! : pick(PAYMENTS);
    const senior = rnd() < 0.16;
    const flags = [
      ...(senior ? ['senior'] : []),
      ...(rnd() < 0.5 ? ['partner'] : []),
      ...(rnd() < 0.3 ? ['dependents'] : []),
    ];
    const monthlyMinor = Math.round((18 + 14 * products.length + rnd() * 12) * 100);
    const valueMinor = monthlyMinor * 24;
    const crm = (kind: string, ms: number, extra: RawRow) =>
      void out.crmEvents.push({
        event_id: eventId(),
        tenant_id: tenantId,
        site_id: homeSite,
        customer_id: customerId,
        kind,
        ...at(ms),
        customer_value_minor: valueMinor,
        ...extra,
      });
    const joined = start - 5 * DAY_MS;
    crm('holdings', joined, { product_ids: products });
    crm('profile', joined, {
      tenure_months: tenure0,
      plan,
      monthly_charges_minor: monthlyMinor,
      total_charges_minor: monthlyMinor * tenure0,
      payment_method: payment,
      paperless_billing: rnd() < 0.6 ? 1 : 0,
      flags,
    });

    // Month by month: the drifting u, and whether the customer leaves in it.
    let u = normal();
    const us: number[] = [];
    let churnedAt: number | undefined;
    for (let m = 0; m < months && churnedAt === undefined; m++) {
      if (m > 0) u = 0.85 * u + 0.53 * normal();
      us.push(u);
      const tenure = tenure0 + m;
      const z =
        -3.7 +
        1.5 * u +
        PLAN_EFFECT[plan]! +
        (payment === PAYMENTS[0] ? 0.35 : 0) +
        (senior ? 0.2 : 0) -
        0.6 * Math.log(1 + tenure / 6) -
        0.1 * products.length;
      if (rnd() < sigmoid(z)) churnedAt = start + (m + rnd()) * MONTH_MS;
    }
    const until = Math.min(churnedAt ?? end, end);
    if (churnedAt !== undefined && churnedAt < end)
      crm('cancellation', churnedAt, {
        product_id: products[0]!,
        intent_only: 0,
        cancel_reason: 'left',
      });
    const escalating = (ms: number) =>
      churnedAt !== undefined && ms >= churnedAt - 45 * DAY_MS && ms < churnedAt;

    for (let m = 0; m < us.length; m++) {
      const uM = us[m]!;
      const monthStart = start + m * MONTH_MS;
      if (monthStart >= until) break;
      const escalated = escalating(monthStart + MONTH_MS / 2);
      if (rnd() < sigmoid(-4.2 + 1.3 * uM + (escalated ? 2.5 : 0)))
        crm('cancellation', monthStart + rnd() * MONTH_MS, {
          product_id: products[0]!,
          intent_only: 1,
          cancel_reason: 'asked',
        });
      const calls = poisson(callRate * Math.exp(0.7 * uM) * (escalated ? 3 : 1));
      for (let c = 0; c < calls; c++) {
        const arrival = monthStart + rnd() * MONTH_MS;
        if (arrival >= until) continue;
        writeCall(out, {
          rnd,
          normal,
          pick,
          eventId,
          at,
          tenantId,
          customerId,
          callId: `${customerId}-m${m}-${c}`,
          homeSite,
          sites,
          arrival,
          u: uM + (escalating(arrival) ? 1 : 0),
        });
      }
    }
    out.customers.push({ tenantId, customerId, homeSite, plan, churnedAt, valueMinor });
  }
  return out;
}

interface CallDraw {
  readonly rnd: () => number;
  readonly normal: () => number;
  readonly pick: <T>(xs: readonly T[]) => T;
  readonly eventId: () => string;
  readonly at: (ms: number) => { event_time: string; event_date: string };
  readonly tenantId: string;
  readonly customerId: string;
  readonly callId: string;
  readonly homeSite: string;
  readonly sites: readonly string[];
  readonly arrival: number;
  /** The caller's dissatisfaction at the time of the call. */
  readonly u: number;
}

/** One call's events (offered, maybe overflowed, answered and ended or abandoned) and survey. */
function writeCall(out: ChurnPopulation, d: CallDraw): void {
  const { rnd, u } = d;
  const origin = rnd() < 0.8 ? d.homeSite : d.pick(d.sites);
  const overflowed = d.sites.length > 1 && rnd() < sigmoid(-3 + 0.8 * u);
  const site = overflowed ? d.sites.find((s) => s !== origin)! : origin;
  const skill = d.pick(SKILLS);
  const waitMs = Math.floor(-Math.log(Math.max(rnd(), 1e-9)) * 45_000 * Math.exp(0.45 * u));
  const abandoned = rnd() < sigmoid(-2.2 + 0.9 * u);
  const base = { tenant_id: d.tenantId, call_id: d.callId, skill, tier: 1 };
  const ev = (kind: string, where: string, ms: number, extra: RawRow) =>
    void out.callEvents.push({
      event_id: d.eventId(),
      ...base,
      site_id: where,
      kind,
      ...d.at(ms),
      event_ms: 0,
      customer_id: d.customerId,
      ...extra,
    });
  const arrivalText = formatDateTime(new Date(d.arrival));
  ev('offered', origin, d.arrival, { caller_hash: `h-${d.customerId}`, arrival_time: arrivalText });
  if (overflowed) {
    ev('overflowed_out', origin, d.arrival + 20_000, { peer_site_id: site });
    ev('overflowed_in', site, d.arrival + 21_000, {
      peer_site_id: origin,
      arrival_time: arrivalText,
    });
  }
  const sl = { service_level_ms: 20_000, short_abandon_ms: 5_000 };
  if (abandoned) {
    ev('abandoned', site, d.arrival + waitMs, { wait_ms: waitMs, by_caller: 1, ...sl });
    return;
  }
  const agentId = `${site}-agent-${Math.floor(rnd() * 20)}`;
  const talkMs = Math.floor(60_000 + rnd() * 400_000);
  ev('answered', site, d.arrival + waitMs, { agent_id: agentId, wait_ms: waitMs, ...sl });
  ev('ended', site, d.arrival + waitMs + talkMs, {
    agent_id: agentId,
    talk_ms: talkMs,
    ended_by: 1,
  });
  if (rnd() >= 0.5) return;
  const complained = rnd() < sigmoid(-2.2 + 1.1 * u);
  const severity = complained ? (u + d.normal() > 1.5 ? 4 : u + d.normal() > 0.5 ? 3 : 2) : 1;
  out.surveys.push({
    event_id: d.eventId(),
    tenant_id: d.tenantId,
    site_id: site,
    call_id: d.callId,
    customer_id: d.customerId,
    agent_id: agentId,
    skill,
    ...d.at(d.arrival + waitMs + talkMs + 60_000),
    csat: Math.round(Math.min(5, Math.max(1, 4.1 - 0.9 * u + d.normal() * 0.8))),
    nps: Math.round(Math.min(10, Math.max(0, 8 - 2 * u + d.normal() * 1.5))),
    has_nps: 1,
    resolved: rnd() < sigmoid(-1.8 + 0.9 * u) ? 0 : 1,
    has_resolved: 1,
    complaint_severity: severity,
  });
}
