// The customer's story for the agent who is offered their call (the screen pop): their recent
// contacts at every site with the outcome and any complaint, their CSAT history, and their churn
// risk with its reasons, from one read of `customer_story` (migration 040: one customer's rows
// are one primary-key range, whatever the number of calls stored). The churn risk is the hand-set
// model (churn-model.ts) over the same behaviours the scoring job counts, computed from these
// rows, so it already reflects the wrap-up recorded a minute ago. Pure: SQL text and folding.
import { sql, type Sql } from '@ccfed/common';
import { LONG_WAIT_MS } from './churn.js';
import { scoreChurn, type ChurnFeatures, type ChurnReason } from './churn-model.js';
import { checkDate, checkId } from './churn-options.js';

const DAY_MS = 86_400_000;
/** How far back the story looks. */
export const STORY_DAYS = 180;
/** The most calls of one customer the story reads (newest first). */
export const STORY_MAX_CALLS = 200;

export type Severity = 'none' | 'minor' | 'major' | 'critical';
const SEVERITIES: readonly (Severity | null)[] = [null, 'none', 'minor', 'major', 'critical'];

/** One contact of the customer, at any site. */
export interface StoryContact {
  readonly callId: string;
  /** When the caller first reached the federation (ISO 8601). */
  readonly at: string;
  readonly siteId: string;
  readonly skill: string;
  readonly outcome: 'answered' | 'abandoned';
  readonly waitMs: number;
  /** The agent's disposition code; null when none was recorded. */
  readonly disposition: string | null;
  /** The agent's verdict, else the survey's; null when neither said. */
  readonly resolvedFirstContact: boolean | null;
  /** The agent's, else the survey's; null when neither said. */
  readonly complaintSeverity: Severity | null;
  /** Whose word the two fields above are: the agent's wrap-up, a survey, or nobody's. */
  readonly recordedBy: 'agent' | 'survey' | null;
}

export interface CustomerStory {
  readonly customerId: string;
  /** Newest first, at most `limit`; short abandons (misdials) left out. */
  readonly contacts: readonly StoryContact[];
  /** Contacts with a complaint (minor or worse) in the story's window. */
  readonly complaints: number;
  /** Surveys the customer answered, newest first. */
  readonly csat: readonly { readonly callId: string; readonly at: string; readonly csat: number }[];
  readonly churn: {
    readonly risk: number;
    readonly reasons: readonly ChurnReason[];
    readonly features: ChurnFeatures;
  };
}

/**
 * One customer's rows of the last STORY_DAYS before `asOf`, folded per call (newest first): the
 * screen pop's single ClickHouse read. Cost: one primary-key range of `customer_story`.
 */
export function customerStoryQuery(opts: {
  tenantId: string;
  customerId: string;
  asOf: Date;
}): Sql {
  const tenantId = checkId('tenantId', opts.tenantId);
  const customerId = checkId('customerId', opts.customerId);
  const asOf = checkDate('asOf', opts.asOf);
  const from = new Date(asOf.getTime() - STORY_DAYS * DAY_MS);
  // A survey or a wrap-up may come a little after asOf's call arrived: read a day past it.
  const to = new Date(asOf.getTime() + DAY_MS);
  return sql`SELECT
    call_id,
    toUInt32(if(countIf(kind IN ('answered', 'abandoned', 'intent')) > 0,
                minIf(at, kind IN ('answered', 'abandoned', 'intent')), min(at))) AS at_s,
    multiIf(countIf(kind = 'answered') > 0, 'answered',
            countIf(kind = 'abandoned') > 0, 'abandoned',
            countIf(kind = 'intent') > 0, 'intent', '') AS outcome,
    anyIf(site_id, kind IN ('answered', 'abandoned')) AS site_id,
    anyIf(skill, kind IN ('answered', 'abandoned')) AS skill,
    maxIf(wait_ms, kind IN ('answered', 'abandoned')) AS wait_ms,
    maxIf(by_caller, kind = 'abandoned') AS by_caller,
    maxIf(short_abandon, kind = 'abandoned') AS short_abandon,
    maxIf(recorded, kind = 'wrap_up_done') AS agent_recorded,
    anyIf(disposition, kind = 'wrap_up_done' AND disposition != '') AS disposition,
    maxIf(resolved, kind = 'wrap_up_done' AND recorded = 1) AS agent_resolved,
    maxIf(complaint_severity, kind = 'wrap_up_done' AND recorded = 1) AS agent_severity,
    countIf(kind = 'survey') AS surveys,
    maxIf(has_resolved, kind = 'survey') AS survey_has_resolved,
    maxIf(resolved, kind = 'survey') AS survey_resolved,
    maxIf(complaint_severity, kind = 'survey') AS survey_severity,
    maxIf(csat, kind = 'survey') AS csat,
    toUInt32(maxIf(at, kind = 'survey')) AS survey_at_s
FROM customer_story
WHERE tenant_id = ${tenantId} AND customer_id = ${customerId} AND at >= ${from} AND at < ${to}
GROUP BY call_id
ORDER BY at_s DESC, call_id
LIMIT ${STORY_MAX_CALLS}`;
}

/** One folded call of customerStoryQuery. */
export interface StoryRow {
  readonly call_id: string;
  readonly at_s: number;
  readonly outcome: '' | 'answered' | 'abandoned' | 'intent';
  readonly site_id: string;
  readonly skill: string;
  readonly wait_ms: number;
  readonly by_caller: number;
  readonly short_abandon: number;
  readonly agent_recorded: number;
  readonly disposition: string;
  readonly agent_resolved: number;
  readonly agent_severity: number;
  readonly surveys: number;
  readonly survey_has_resolved: number;
  readonly survey_resolved: number;
  readonly survey_severity: number;
  readonly csat: number;
  readonly survey_at_s: number;
}

/** Rows of customerStoryQuery as JSONEachRow gives them (18.16 sends UInt64 as strings). */
export function parseStoryRows(raw: readonly unknown[]): StoryRow[] {
  return raw.map((r) => {
    const row = r as Record<string, unknown>;
    const n = (k: string): number => {
      const v = Number(row[k]);
      if (!Number.isFinite(v)) throw new TypeError(`story row: ${k} is ${JSON.stringify(row[k])}`);
      return v;
    };
    const s = (k: string): string => {
      const v = row[k];
      if (typeof v !== 'string') throw new TypeError(`story row: ${k} is ${JSON.stringify(v)}`);
      return v;
    };
    const outcome = s('outcome');
    if (!['', 'answered', 'abandoned', 'intent'].includes(outcome))
      throw new TypeError(`story row: outcome ${JSON.stringify(outcome)}`);
    return {
      call_id: s('call_id'),
      at_s: n('at_s'),
      outcome: outcome as StoryRow['outcome'],
      site_id: s('site_id'),
      skill: s('skill'),
      wait_ms: n('wait_ms'),
      by_caller: n('by_caller'),
      short_abandon: n('short_abandon'),
      agent_recorded: n('agent_recorded'),
      disposition: s('disposition'),
      agent_resolved: n('agent_resolved'),
      agent_severity: n('agent_severity'),
      surveys: n('surveys'),
      survey_has_resolved: n('survey_has_resolved'),
      survey_resolved: n('survey_resolved'),
      survey_severity: n('survey_severity'),
      csat: n('csat'),
      survey_at_s: n('survey_at_s'),
    };
  });
}

const iso = (s: number) => new Date(s * 1000).toISOString();

/**
 * The story of `customerId` from its folded rows, as of `asOf`: contacts newest first (at most
 * `limit`), complaints, CSAT history, and the hand-set churn risk over the scoring job's windows
 * (calls in 30 days, the rest in 90). The agent's wrap-up outranks the survey for the same call.
 */
export function buildCustomerStory(
  customerId: string,
  rows: readonly StoryRow[],
  asOf: Date,
  limit = 10,
): CustomerStory {
  const from30 = asOf.getTime() / 1000 - 30 * 86_400;
  const from90 = asOf.getTime() / 1000 - 90 * 86_400;
  const now = asOf.getTime() / 1000;
  const contacts: StoryContact[] = [];
  const csat: { callId: string; at: string; csat: number }[] = [];
  let calls30 = 0;
  let complaints = 0;
  const f = { complaint: 0, abandons: 0, long_waits: 0, low_csat: 0, cancellation_intent: 0 };
  for (const r of rows) {
    const byAgent = r.agent_recorded === 1;
    const severity = byAgent
      ? (SEVERITIES[r.agent_severity] ?? null)
      : (SEVERITIES[r.survey_severity] ?? null);
    const points = severity === null || severity === 'none' ? 0 : SEVERITIES.indexOf(severity) - 1;
    const in90 = r.at_s >= from90 && r.at_s < now + 86_400;
    if (r.outcome === 'intent') {
      if (in90) f.cancellation_intent += 1;
      continue;
    }
    if (r.csat > 0) {
      csat.push({ callId: r.call_id, at: iso(r.survey_at_s || r.at_s), csat: r.csat });
      if (in90 && r.csat <= 2) f.low_csat += 1;
    }
    if (points > 0) {
      complaints += 1;
      if (in90) f.complaint += points;
    }
    if (r.outcome === '') continue; // a survey or wrap-up whose call is outside the window
    if (r.at_s >= from30 && r.at_s < now + 86_400) calls30 += 1;
    if (in90 && r.outcome === 'abandoned' && r.by_caller === 1) f.abandons += 1;
    if (in90 && r.wait_ms > LONG_WAIT_MS) f.long_waits += 1;
    if (r.short_abandon === 1 || contacts.length >= limit) continue;
    const resolved = byAgent
      ? r.agent_resolved === 1
      : r.survey_has_resolved === 1
        ? r.survey_resolved === 1
        : null;
    contacts.push({
      callId: r.call_id,
      at: iso(r.at_s),
      siteId: r.site_id,
      skill: r.skill,
      outcome: r.outcome,
      waitMs: r.wait_ms,
      disposition: r.disposition || null,
      resolvedFirstContact: resolved,
      complaintSeverity: severity,
      recordedBy: byAgent ? 'agent' : r.surveys > 0 ? 'survey' : null,
    });
  }
  const features: ChurnFeatures = { ...f, repeat_contacts: Math.max(0, calls30 - 1) };
  const { risk, reasons } = scoreChurn(features);
  return { customerId, contacts, complaints, csat, churn: { risk, reasons, features } };
}
