// A synthetic customer population with a hidden, known churn model, written as the raw rows the
// ingester would write (call_events, surveys, crm_events), to validate the churn score against
// labels drawn from the truth. Each customer has a latent propensity u ~ N(0, 1); u drives how
// often they call, how long they wait and how often they hang up, their complaints, CSAT and NPS,
// whether the CRM records a cancellation intent, and finally whether they churn after `asOf`:
//   P(churn) = 1 / (1 + e^-(churnIntercept + churnSlope · u)).
// The score never sees u, only the behaviour: the AUC measures how well behaviour recovers it.
// Pure and deterministic for a given seed.
import { formatDateTime } from '@ccfed/common';

export interface PopulationOptions {
  readonly customers: number;
  readonly asOf: Date;
  readonly seed: number;
  readonly tenants?: readonly string[];
  readonly sites?: readonly string[];
  /** Share of customers who had already churned before asOf (never on a call-back list). */
  readonly churnedBefore?: number;
  readonly churnIntercept?: number;
  readonly churnSlope?: number;
}

export interface PopulationCustomer {
  readonly tenantId: string;
  readonly customerId: string;
  readonly latent: number;
  readonly homeSite: string;
  readonly churnedBeforeAsOf: boolean;
  /** Drawn from the hidden model: cancels in the 60 days after asOf. */
  readonly churnsAfterAsOf: boolean;
  readonly products: readonly string[];
  readonly valueMinor: number;
}

export type RawRow = Record<string, string | number | readonly string[]>;

export interface Population {
  readonly customers: readonly PopulationCustomer[];
  readonly callEvents: readonly RawRow[];
  readonly surveys: readonly RawRow[];
  readonly crmEvents: readonly RawRow[];
}

/** Products, their value to the business, and how holding one makes holding another likelier. */
export const PRODUCTS = ['checking', 'savings', 'card', 'mortgage', 'insurance', 'invest'] as const;
const PRODUCT_VALUE_MINOR: Record<string, number> = {
  checking: 20_000,
  savings: 40_000,
  card: 30_000,
  mortgage: 250_000,
  insurance: 60_000,
  invest: 120_000,
};

const DAY_MS = 86_400_000;
const SKILLS = ['billing', 'support', 'sales'] as const;

/** Mulberry32: a small, fast, seedable PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Generates the population and its raw rows; the same options always give the same rows. */
export function generatePopulation(opts: PopulationOptions): Population {
  const rnd = seededRandom(opts.seed);
  const normal = (): number => {
    const u1 = Math.max(rnd(), 1e-12);
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rnd());
  };
  const poisson = (lambda: number): number => {
    const limit = Math.exp(-lambda);
    let k = 0;
    for (let p = rnd(); p > limit; p *= rnd()) k++;
    return k;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const tenants = opts.tenants ?? ['t-alpha', 't-beta'];
  const sites = opts.sites ?? ['s-north', 's-south', 's-east'];
  const asOf = opts.asOf.getTime();
  const churnIntercept = opts.churnIntercept ?? -2;
  const churnSlope = opts.churnSlope ?? 2.2;

  const customers: PopulationCustomer[] = [];
  const callEvents: RawRow[] = [];
  const surveys: RawRow[] = [];
  const crmEvents: RawRow[] = [];
  let eventSeq = 0;
  const eventId = (): string => `ev-${opts.seed}-${(eventSeq++).toString(36)}`;
  const at = (ms: number) => {
    const d = new Date(ms);
    return { event_time: formatDateTime(d), event_date: formatDateTime(d).slice(0, 10) };
  };

  for (let i = 0; i < opts.customers; i++) {
    const tenantId = tenants[i % tenants.length]!;
    const customerId = `c-${i.toString().padStart(6, '0')}`;
    const u = normal();
    const homeSite = pick(sites);
    const products = drawHoldings(rnd);
    const valueMinor =
      products.reduce((sum, p) => sum + PRODUCT_VALUE_MINOR[p]!, 0) + Math.floor(rnd() * 10_000);
    const churnedBeforeAsOf = rnd() < (opts.churnedBefore ?? 0.03);
    const churnsAfterAsOf = !churnedBeforeAsOf && rnd() < sigmoid(churnIntercept + churnSlope * u);
    customers.push({
      tenantId,
      customerId,
      latent: u,
      homeSite,
      churnedBeforeAsOf,
      churnsAfterAsOf,
      products,
      valueMinor,
    });

    const crm = (kind: string, ms: number, extra: RawRow): void =>
      void crmEvents.push({
        event_id: eventId(),
        tenant_id: tenantId,
        site_id: homeSite,
        customer_id: customerId,
        kind,
        ...at(ms),
        customer_value_minor: valueMinor,
        ...extra,
      });
    crm('holdings', asOf - (100 + rnd() * 200) * DAY_MS, { product_ids: products });
    if (churnedBeforeAsOf)
      crm('cancellation', asOf - (1 + rnd() * 60) * DAY_MS, {
        product_id: products[0] ?? 'checking',
        intent_only: 0,
        cancel_reason: 'price',
      });
    if (churnsAfterAsOf)
      crm('cancellation', asOf + (1 + rnd() * 59) * DAY_MS, {
        product_id: products[0] ?? 'checking',
        intent_only: 0,
        cancel_reason: 'service',
      });
    if (rnd() < sigmoid(-2.8 + 1.5 * u))
      crm('cancellation', asOf - rnd() * 85 * DAY_MS, {
        product_id: products[0] ?? 'checking',
        intent_only: 1,
        cancel_reason: 'asked',
      });

    // Calls in the 90 days before asOf: more, longer-waiting, more often abandoned with u.
    const calls = poisson(Math.exp(0.9 + 0.8 * u));
    for (let c = 0; c < calls; c++) {
      const callId = `${customerId}-call-${c}`;
      const site = rnd() < 0.8 ? homeSite : pick(sites);
      const skill = pick(SKILLS);
      // Contacts bunch up towards asOf the higher u: trouble escalates before a customer leaves.
      const arrival = asOf - (0.01 + 89.9 * rnd() ** Math.exp(0.6 * u)) * DAY_MS;
      const waitMs = Math.floor(-Math.log(Math.max(rnd(), 1e-9)) * 45_000 * Math.exp(0.45 * u));
      const abandoned = rnd() < sigmoid(-2.2 + 0.9 * u);
      const common = { tenant_id: tenantId, site_id: site, call_id: callId, skill, tier: 1 };
      const ev = (kind: string, ms: number, extra: RawRow): void =>
        void callEvents.push({
          event_id: eventId(),
          ...common,
          kind,
          ...at(ms),
          event_ms: new Date(ms).getUTCMilliseconds(),
          ...extra,
        });
      ev('offered', arrival, {
        customer_id: customerId,
        caller_hash: `h-${customerId}`,
        arrival_time: formatDateTime(new Date(arrival)),
      });
      if (abandoned) {
        ev('abandoned', arrival + waitMs, {
          wait_ms: waitMs,
          by_caller: 1,
          service_level_ms: 20_000,
          short_abandon_ms: 5_000,
        });
        continue;
      }
      const agentId = `${site}-agent-${Math.floor(rnd() * 20)}`;
      const talkMs = Math.floor(60_000 + rnd() * 400_000);
      ev('answered', arrival + waitMs, {
        agent_id: agentId,
        wait_ms: waitMs,
        service_level_ms: 20_000,
        short_abandon_ms: 5_000,
      });
      ev('ended', arrival + waitMs + talkMs, { agent_id: agentId, talk_ms: talkMs, ended_by: 1 });
      if (rnd() < 0.5) {
        const csat = Math.round(Math.min(5, Math.max(1, 4.1 - 0.9 * u + normal() * 0.8)));
        const nps = Math.round(Math.min(10, Math.max(0, 8 - 2 * u + normal() * 1.5)));
        const complained = rnd() < sigmoid(-2.2 + 1.1 * u);
        const severity = complained ? (u + normal() > 1.5 ? 4 : u + normal() > 0.5 ? 3 : 2) : 1;
        surveys.push({
          event_id: eventId(),
          tenant_id: tenantId,
          site_id: site,
          call_id: callId,
          customer_id: customerId,
          agent_id: agentId,
          skill,
          ...at(arrival + waitMs + talkMs + 60_000),
          csat,
          nps,
          has_nps: 1,
          resolved: complained ? 0 : 1,
          has_resolved: 1,
          complaint_severity: severity,
        });
      }
    }
  }
  return { customers, callEvents, surveys, crmEvents };
}

/** Holdings with built-in associations (savings → mortgage → insurance, savings → invest). */
function drawHoldings(rnd: () => number): string[] {
  const held = new Set<string>();
  if (rnd() < 0.85) held.add('checking');
  if (rnd() < (held.has('checking') ? 0.55 : 0.2)) held.add('savings');
  if (rnd() < (held.has('checking') ? 0.5 : 0.15)) held.add('card');
  if (rnd() < (held.has('savings') ? 0.3 : 0.05)) held.add('mortgage');
  if (rnd() < (held.has('mortgage') ? 0.7 : 0.12)) held.add('insurance');
  if (rnd() < (held.has('savings') ? 0.3 : 0.04)) held.add('invest');
  return PRODUCTS.filter((p) => held.has(p));
}
