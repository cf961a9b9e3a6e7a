// One outbound campaign as the site whose agents take it runs it (issue 19): while it runs and
// inbound holds its service level, it asks the Pacer how many lines to dial, picks the contacts
// the rules let it call now, has the ACD reserve an agent for each and the dialer connect them,
// and keeps every contact's attempts, last outcome and last abandoned call for the next decision.
// Predictive lines reserve no agent: the dialer takes an idle one when the customer answers, so
// the Pacer may dial more lines than there are idle agents.
// The agents and the dialer are ports: the site agent wires the ACD and the SIP dialer; the unit
// tests a scripted dialer. Time comes from the injected clock. In preview mode the reserved agent
// is first offered the contact (preview-offers.ts) and dials it, skips it, or lets it lapse; the
// open offers are handed out to be journalled after every change, and a restarted run takes them
// up (restorePreviews).
import type { Clock } from '@ccfed/common';
import {
  inboundFirst,
  Pacer,
  type InboundLoad,
  type LineOutcome,
  type PacingMode,
} from '../dialer/pacing.js';
import type { DialOrder, DialOutcome, Dialer, TakeAgent } from '../dialer/port.js';
import {
  PreviewOffers,
  type PreviewDecision,
  type PreviewOffer,
  type SkipReason,
} from './preview-offers.js';
import {
  dialVerdict,
  type AttemptOutcome,
  type CampaignRules,
  type ContactHistory,
  type DialVerdict,
} from './rules.js';

export interface CampaignContact {
  /** Unique in the campaign; events name the contact by it, never by number. */
  readonly contactId: string;
  /** E.164. */
  readonly number: string;
  /** IANA zone of the customer's calling window. */
  readonly timeZone: string;
  readonly customerId?: string;
}

/** Preview: the agent sees the contact first and dials or skips; the others are paced. */
export type CampaignMode = PacingMode | 'preview';
/**
 * Where a campaign's list came from: an uploaded CSV, the tenant's churn call-back list (control
 * group held back) or the survey follow-up sample; which list (for churn the scoring run and
 * model version, so results can be set against the control group later); and how many of the
 * list's customers the site held no number for (never dialed).
 */
export interface CampaignSource {
  readonly kind: 'csv' | 'churn' | 'survey';
  readonly ref: string;
  readonly unresolvable: number;
}

export interface CampaignDefinition {
  readonly campaignId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly mode: CampaignMode;
  readonly rules: CampaignRules;
  readonly contacts: readonly CampaignContact[];
  /** How long a customer's phone rings before the attempt is no answer. */
  readonly ringTimeoutMs: number;
  /** Preview mode: how long an offer waits for the agent's decision (default 30 s). */
  readonly previewTimeoutMs?: number;
  /** Absent: an uploaded CSV (campaigns journalled before lists had sources). */
  readonly source?: CampaignSource;
}

export const DEFAULT_PREVIEW_TIMEOUT_MS = 30_000;
/** A skipped contact is not offered again in its campaign for this long (then as the rules say). */
export const PREVIEW_SKIP_HOLD_MS = 4 * 3_600_000;

/** The site's agents for a campaign's skill and tenant, as its ACD sees them. */
export interface CampaignAgents {
  staffing(
    skill: string,
    tenantId: string,
  ): { loggedIn: number; free: number; busy: number; averageHandleMs: number };
  /** The inbound service level that blended agents must hold before taking outbound work. */
  inboundLoad(skill: string, tenantId: string): InboundLoad;
  /** Reserves the best idle agent for `callId`; undefined when none is idle. */
  reserve(skill: string, tenantId: string, callId: string): string | undefined;
  /** Lets the agent reserved for `callId` go: the attempt did not connect. */
  release(callId: string): void;
  /** The agent reserved for `callId` is talking to the customer. */
  connected(callId: string): void;
  /**
   * The agent reserved for `callId` let a preview lapse: freed, and not ready (as for a ring with
   * no answer), so that an absent agent is not offered the next contact at once. Without it the
   * agent is released as by `release`.
   */
  releaseAbsent?(callId: string): void;
  /**
   * Whether `agentId` is still reserved for `callId`: after a restart, whether the site kept the
   * reservation of a journalled preview. Without it a restart takes up no preview.
   */
  holds?(callId: string, agentId: string): boolean;
}

/** How a preview ended without a call: skipped by the agent, or lapsed / withdrawn (released). */
export type PreviewEnd = 'skipped' | 'released';

/** One attempt's end, as the campaign's events carry it (the number never). */
export interface CampaignAttemptRecord {
  readonly campaignId: string;
  readonly tenantId: string;
  readonly contactId: string;
  readonly attemptId: string;
  readonly callId: string;
  /** '' for a predictive line no agent was taken for (not answered, or abandoned with none free). */
  readonly agentId: string;
  /**
   * 1 for the first attempt at this contact; an agent's no answer is not an attempt, nor is a
   * preview skipped or released (their records carry the attempts so far).
   */
  readonly attempt: number;
  readonly outcome: DialOutcome['kind'] | PreviewEnd;
  /** A skipped preview: the agent's reason. */
  readonly skipReason?: SkipReason;
  readonly atMs: number;
}

export interface CampaignRunDeps {
  readonly clock: Clock;
  readonly dialer: Dialer;
  readonly agents: CampaignAgents;
  /** A fresh id for an attempt and for its call. */
  readonly newId: () => string;
  /** Every attempt's end, for the campaign's events. */
  readonly recorded: (record: CampaignAttemptRecord) => void;
  /** The site's abandoned calls by number, shared by its campaigns: the 72 h rule is per person. */
  readonly abandoned: AbandonedCalls;
  readonly pacer?: Pacer;
  /**
   * The open preview offers, after every change to them, before the change is seen or acted on
   * (an offer shown, a decided one's call dialed): the journal keeps them for a restart.
   */
  readonly offersChanged?: (open: readonly PreviewOffer[]) => void;
}

/** When each number last had an abandoned call from this site, whichever campaign placed it. */
export class AbandonedCalls {
  private readonly last = new Map<string, number>();

  /** Seeds or records an abandoned call to `number` at `atMs` (the latest one is kept). */
  note(number: string, atMs: number): void {
    const prev = this.last.get(number);
    if (prev === undefined || atMs > prev) this.last.set(number, atMs);
  }

  lastAt(number: string): number | undefined {
    return this.last.get(number);
  }
}

export type ContactState =
  | { readonly kind: 'pending' }
  | { readonly kind: 'dialing'; readonly attemptId: string }
  | { readonly kind: 'previewing'; readonly offerId: string }
  | { readonly kind: 'later'; readonly notBeforeMs: number; readonly reason: string }
  | { readonly kind: 'done'; readonly reason: 'dnc' | 'max_attempts' | 'completed' };

export interface CampaignProgress {
  readonly campaignId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly mode: CampaignMode;
  readonly status: 'running' | 'paused';
  readonly contacts: number;
  readonly dialed: number;
  readonly connected: number;
  readonly abandoned: number;
  /** Preview mode: contacts offered to agents, and of those skipped and released undecided. */
  readonly previews: {
    readonly offered: number;
    readonly skipped: number;
    readonly released: number;
  };
  /** Over the trailing 24 h, answering-machine misclassifications estimated in (the Pacer's). */
  readonly abandonRate24h: number;
  readonly outcomes: Readonly<Record<string, number>>;
  /** Contacts by where they stand: pending, dialing, later (per reason), done (per reason). */
  readonly standing: Readonly<Record<string, number>>;
  /** Why the last tick dialed nothing, if it did not dial. */
  readonly held?: string;
  readonly source: CampaignSource;
}

interface ContactRecord {
  readonly contact: CampaignContact;
  history: ContactHistory;
  state: ContactState;
}

const DAY_MS = 86_400_000;

const PACER_OUTCOME: Partial<Record<CampaignAttemptRecord['outcome'], LineOutcome>> = {
  connected: 'connected',
  abandoned: 'abandoned',
  no_answer: 'no_answer',
  busy: 'busy',
  failed: 'failed',
};

export class CampaignRun {
  private status: 'running' | 'paused' = 'paused';
  private readonly contacts: ContactRecord[];
  private readonly pacer: Pacer;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Attempts in flight whose agent is reserved: from the dial (progressive, preview), or from
   * the answer that took one (predictive). Their agents are not among the free ones. */
  private readonly withAgent = new Set<string>();
  private readonly outcomes: Record<string, number> = {};
  private readonly offers = new PreviewOffers();
  private readonly previews = { offered: 0, skipped: 0, released: 0 };
  private dialed = 0;
  private held: string | undefined;
  /** The open offers changed since they were last handed to offersChanged. */
  private offersDirty = false;

  constructor(
    readonly definition: CampaignDefinition,
    private readonly deps: CampaignRunDeps,
  ) {
    this.pacer = deps.pacer ?? new Pacer({ clock: deps.clock });
    const seen = new Set<string>();
    this.contacts = definition.contacts.map((contact) => {
      if (seen.has(contact.contactId))
        throw new RangeError(
          `campaign ${definition.campaignId}: contact ${contact.contactId} twice`,
        );
      seen.add(contact.contactId);
      return {
        contact,
        history: { number: contact.number, timeZone: contact.timeZone, attempts: 0 },
        state: { kind: 'pending' },
      };
    });
  }

  start(): void {
    this.status = 'running';
  }

  /** No new attempt starts; those dialing finish and are recorded; open previews are released. */
  pause(): void {
    this.status = 'paused';
    const at = this.deps.clock.now();
    this.releaseLapsed(at);
    for (const offer of this.offers.withdrawAll()) {
      this.offersDirty = true;
      this.endPreview(offer, 'released', at, 'ready');
    }
    this.journalOffers();
  }

  /**
   * The site agent is stopping: no new attempt or offer starts, those dialing finish and are
   * recorded, and the open previews stay as they are, journalled, for the next run to take up.
   */
  stop(): void {
    this.status = 'paused';
  }

  /**
   * Takes up the previews the journal held open at a restart (after replay): each goes back to its
   * agent with the time it had left, as long as the campaign runs and the site still holds that
   * agent reserved for it. One whose time ran out while the site was down, or whose reservation
   * the restart lost, is released: recorded as such (no attempt), the contact offered again, an
   * agent still held freed without blame (the site, not the agent, kept them from deciding).
   */
  restorePreviews(offers: readonly PreviewOffer[]): void {
    const now = this.deps.clock.now();
    for (const offer of offers) {
      const rec = this.contacts.find((r) => r.contact.contactId === offer.contactId);
      if (!rec)
        throw new RangeError(
          `campaign ${this.definition.campaignId}: no contact ${offer.contactId} for preview ${offer.offerId}`,
        );
      const held = this.deps.agents.holds?.(offer.callId, offer.agentId) === true;
      if (rec.state.kind !== 'pending') {
        // Ended before the restart, as the replayed attempts say (counted there): nothing to end.
        this.offers.remember(offer);
        if (held) this.deps.agents.release(offer.callId);
        continue;
      }
      this.previews.offered += 1;
      if (
        held &&
        this.status === 'running' &&
        now < offer.expiresAtMs &&
        !this.offers.forAgent(offer.agentId)
      ) {
        this.offers.add(offer);
        rec.state = { kind: 'previewing', offerId: offer.offerId };
      } else {
        this.offers.remember(offer);
        this.endPreview(offer, 'released', now, held ? 'ready' : 'none');
      }
    }
    this.offersDirty = true;
    this.journalOffers();
  }

  /** The preview open for `agentId`, if this campaign offered them one. */
  previewFor(agentId: string): PreviewOffer | undefined {
    return this.offers.forAgent(agentId);
  }

  /** Whether `offerId` is (or was lately) one of this campaign's previews. */
  hasPreview(offerId: string): boolean {
    return this.offers.knows(offerId);
  }

  /**
   * The agent's decision on its preview: dial places the call agent first under the reserved call
   * id (the same rules, attempts and events as progressive); skip frees the agent and holds the
   * contact for PREVIEW_SKIP_HOLD_MS, costing no attempt. Throws PreviewDecisionError for an
   * unknown offer, another agent's, or one decided or lapsed.
   */
  decide(offerId: string, agentId: string, decision: PreviewDecision): PreviewOffer {
    const now = this.deps.clock.now();
    this.releaseLapsed(now);
    this.journalOffers();
    const offer = this.offers.take(offerId, agentId, now, decision.kind);
    this.offersDirty = true;
    const rec = this.contacts.find((r) => r.contact.contactId === offer.contactId)!;
    // The skip's record first: a crash before the offers are journalled again finds it decided.
    if (decision.kind === 'skip') this.endPreview(offer, 'skipped', now, 'ready', decision.reason);
    this.journalOffers();
    if (decision.kind === 'dial') this.place(rec, offer.callId, offer.agentId);
    return offer;
  }

  /**
   * Dials what pacing, the inbound-first gate, the agents reserved and the rules allow now.
   * Returns how many attempts it started.
   */
  tick(): number {
    try {
      return this.tickOnce();
    } finally {
      this.journalOffers();
    }
  }

  private tickOnce(): number {
    this.releaseLapsed(this.deps.clock.now());
    if (this.status !== 'running') return this.hold('paused');
    const { skill, tenantId } = this.definition;
    // Preview offers one contact per free agent, as progressive dials one line per free agent.
    const mode = this.definition.mode === 'preview' ? 'progressive' : this.definition.mode;
    const gate = inboundFirst(this.deps.agents.inboundLoad(skill, tenantId));
    if (!gate.outbound) return this.hold(gate.reason);
    const staff = this.deps.agents.staffing(skill, tenantId);
    const decision = this.pacer.decide({
      mode,
      agentsLoggedIn: staff.loggedIn,
      agentsFree: staff.free,
      agentsBusy: staff.busy,
      linesInFlight: this.inFlight.size,
      linesWithAgent: this.withAgent.size,
      averageHandleMs: staff.averageHandleMs,
    });
    if (decision.dial === 0) return this.hold(decision.reason);
    const now = this.deps.clock.now();
    let started = 0;
    for (const rec of this.contacts) {
      if (started >= decision.dial) break;
      if (!this.dialable(rec, now)) continue;
      // Progressive and preview lines have their agent reserved first; predictive ones take an
      // agent at answer, so they are never held to the idle agents (docs/campaigns.md).
      if (!this.attempt(rec)) {
        if (started === 0) return this.hold('no_agent_reserved');
        break;
      }
      started += 1;
    }
    this.held = started === 0 ? 'no_contact_due' : undefined;
    return started;
  }

  /** Resolves once every attempt started so far has ended and been recorded. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()]);
  }

  /** The earliest instant a contact waiting for its window, retry or 72 h becomes due. */
  nextDueMs(): number | undefined {
    let next: number | undefined;
    for (const rec of this.contacts)
      if (rec.state.kind === 'later' && (next === undefined || rec.state.notBeforeMs < next))
        next = rec.state.notBeforeMs;
    return next;
  }

  contactState(contactId: string): ContactState | undefined {
    return this.contacts.find((r) => r.contact.contactId === contactId)?.state;
  }

  progress(): CampaignProgress {
    const standing: Record<string, number> = {};
    for (const { state } of this.contacts) {
      const key =
        state.kind === 'later' || state.kind === 'done'
          ? `${state.kind}:${state.reason}`
          : state.kind;
      standing[key] = (standing[key] ?? 0) + 1;
    }
    const window = this.pacer.window();
    return {
      campaignId: this.definition.campaignId,
      tenantId: this.definition.tenantId,
      skill: this.definition.skill,
      mode: this.definition.mode,
      status: this.status,
      contacts: this.contacts.length,
      dialed: this.dialed,
      connected: this.outcomes.connected ?? 0,
      abandoned: this.outcomes.abandoned ?? 0,
      previews: { ...this.previews },
      abandonRate24h: window.abandonRate24h,
      outcomes: { ...this.outcomes },
      standing,
      ...(this.held !== undefined && { held: this.held }),
      source: this.definition.source ?? { kind: 'csv', ref: '', unresolvable: 0 },
    };
  }

  private hold(reason: string): 0 {
    this.held = reason;
    return 0;
  }

  /** Applies the rules to a contact not dialing now, keeping its verdict; true if due now. */
  private dialable(rec: ContactRecord, now: number): boolean {
    const s = rec.state;
    if (s.kind === 'dialing' || s.kind === 'previewing' || s.kind === 'done') return false;
    if (s.kind === 'later' && s.notBeforeMs > now) return false;
    const abandonedAt = this.deps.abandoned.lastAt(rec.contact.number);
    const history: ContactHistory =
      abandonedAt === undefined ? rec.history : { ...rec.history, lastAbandonedAtMs: abandonedAt };
    const verdict: DialVerdict = dialVerdict(history, this.definition.rules, now);
    if (verdict.kind === 'never') rec.state = { kind: 'done', reason: verdict.reason };
    else if (verdict.kind === 'later')
      rec.state = { kind: 'later', notBeforeMs: verdict.notBeforeMs, reason: verdict.reason };
    return verdict.kind === 'dial';
  }

  private attempt(rec: ContactRecord): boolean {
    const { tenantId, skill } = this.definition;
    const callId = this.deps.newId();
    // A reserved agent would sit idle while the customer rings (most predictive lines are never
    // answered), and the Pacer counts it busy: a predictive line takes its agent at answer.
    if (this.definition.mode === 'predictive') {
      this.place(rec, callId, undefined);
      return true;
    }
    const agentId = this.deps.agents.reserve(skill, tenantId, callId);
    if (agentId === undefined) return false;
    if (this.definition.mode === 'preview') this.offer(rec, callId, agentId);
    else this.place(rec, callId, agentId);
    return true;
  }

  /** Puts the contact in front of the agent reserved for it, until decided or lapsed. */
  private offer(rec: ContactRecord, callId: string, agentId: string): void {
    const now = this.deps.clock.now();
    const offerId = this.deps.newId();
    const { contactId, customerId } = rec.contact;
    this.offers.add({
      offerId,
      callId,
      agentId,
      contactId,
      ...(customerId !== undefined && { customerId }),
      offeredAtMs: now,
      expiresAtMs: now + (this.definition.previewTimeoutMs ?? DEFAULT_PREVIEW_TIMEOUT_MS),
    });
    rec.state = { kind: 'previewing', offerId };
    this.previews.offered += 1;
    this.offersDirty = true;
  }

  /** Hands the open offers to be journalled, if they changed since last time. */
  private journalOffers(): void {
    if (!this.offersDirty) return;
    this.deps.offersChanged?.(this.offers.list());
    this.offersDirty = false;
  }

  /** Frees the agents of previews whose time ran out; their contacts are offered again later. */
  private releaseLapsed(now: number): void {
    // A lapsed offer's agent did not answer the screen: not ready, as after a ring with no answer.
    for (const offer of this.offers.lapsed(now)) {
      this.offersDirty = true;
      this.endPreview(offer, 'released', now, 'not_ready');
    }
  }

  /**
   * A preview that ends without a call: the agent freed (`ready` as they were, `not_ready` as
   * absent, `none` when no agent is held for it any more), the end recorded (no attempt).
   */
  private endPreview(
    offer: PreviewOffer,
    end: PreviewEnd,
    at: number,
    free: 'ready' | 'not_ready' | 'none',
    reason?: SkipReason,
  ): void {
    const rec = this.contacts.find((r) => r.contact.contactId === offer.contactId)!;
    const { agents } = this.deps;
    if (free === 'not_ready' && agents.releaseAbsent) agents.releaseAbsent(offer.callId);
    else if (free !== 'none') agents.release(offer.callId);
    this.apply(rec, end, at);
    this.deps.recorded({
      campaignId: this.definition.campaignId,
      tenantId: this.definition.tenantId,
      contactId: offer.contactId,
      attemptId: offer.offerId,
      callId: offer.callId,
      agentId: offer.agentId,
      attempt: rec.history.attempts,
      outcome: end,
      ...(reason !== undefined && { skipReason: reason }),
      atMs: at,
    });
  }

  /**
   * Dials the contact for the agent reserved under `callId`; with none reserved (predictive), the
   * dialer takes one at answer through `takeAgent`.
   */
  private place(rec: ContactRecord, callId: string, reserved: string | undefined): void {
    const { tenantId, skill, ringTimeoutMs } = this.definition;
    const attemptId = this.deps.newId();
    let agentId = reserved;
    // Inbound first at answer too: while a caller of the tenant waits, no agent goes to a line
    // (the ACD gives an agent freed meanwhile to the caller; this says so without relying on it).
    const takeAgent: TakeAgent = () => {
      if (agentId !== undefined) return agentId;
      if (this.deps.agents.inboundLoad(skill, tenantId).queued > 0) return undefined;
      agentId = this.deps.agents.reserve(skill, tenantId, callId);
      if (agentId !== undefined) this.withAgent.add(attemptId);
      return agentId;
    };
    rec.state = { kind: 'dialing', attemptId };
    if (reserved !== undefined) this.withAgent.add(attemptId);
    this.dialed += 1;
    // Agent first in progressive and preview dialing: the customer never waits for an agent.
    const order: DialOrder =
      this.definition.mode === 'predictive' ? 'customer_first' : 'agent_first';
    const done = this.deps.dialer
      .dial(
        {
          attemptId,
          callId,
          ...(reserved !== undefined && { agentId: reserved }),
          number: rec.contact.number,
          skill,
          tenantId,
          order,
          ringTimeoutMs,
        },
        undefined,
        reserved === undefined ? takeAgent : undefined,
      )
      .catch((err: unknown): DialOutcome => ({ kind: 'failed', reason: String(err) }))
      .then((outcome) => {
        this.inFlight.delete(attemptId);
        this.withAgent.delete(attemptId);
        this.finish(rec, { attemptId, callId, agentId, outcome });
      });
    this.inFlight.set(attemptId, done);
  }

  /**
   * Applies an attempt recorded before a restart (the site's journal) without dialing or recording
   * it again: attempts, retries and the 72 h rule carry on where they were.
   */
  replay(r: CampaignAttemptRecord): void {
    const rec = this.contacts.find((c) => c.contact.contactId === r.contactId);
    if (!rec || r.campaignId !== this.definition.campaignId)
      throw new RangeError(`campaign ${this.definition.campaignId}: no contact ${r.contactId}`);
    if (r.outcome !== 'skipped' && r.outcome !== 'released') this.dialed += 1;
    // In preview mode every attempt's end closes one offer.
    if (this.definition.mode === 'preview') this.previews.offered += 1;
    this.apply(rec, r.outcome, r.atMs);
    // The Pacer counts at its clock only: an attempt of the last 24 h is counted now, so that the
    // abandoned-call rate a restart would otherwise forget holds the cap (it then leaves the
    // window up to a day late, which only errs toward dialing less).
    const line = PACER_OUTCOME[r.outcome];
    if (line && r.atMs > this.deps.clock.now() - DAY_MS) this.pacer.record(line);
  }

  private finish(
    rec: ContactRecord,
    a: { attemptId: string; callId: string; agentId: string | undefined; outcome: DialOutcome },
  ): void {
    const at = this.deps.clock.now();
    const kind = a.outcome.kind;
    // A predictive line no agent was taken for has none to free.
    if (a.agentId !== undefined) {
      if (kind === 'connected') this.deps.agents.connected(a.callId);
      else this.deps.agents.release(a.callId);
    }
    const line = PACER_OUTCOME[kind];
    if (line) this.pacer.record(line);
    this.apply(rec, kind, at);
    this.deps.recorded({
      campaignId: this.definition.campaignId,
      tenantId: this.definition.tenantId,
      contactId: rec.contact.contactId,
      attemptId: a.attemptId,
      callId: a.callId,
      agentId: a.agentId ?? '',
      attempt: rec.history.attempts,
      outcome: kind,
      atMs: at,
    });
  }

  private apply(rec: ContactRecord, kind: CampaignAttemptRecord['outcome'], at: number): void {
    if (kind === 'skipped' || kind === 'released') {
      // Not an attempt: the customer was never rung. A skipped contact waits; a released one is
      // offered again at the next tick (to another agent: the absent one is not ready).
      if (kind === 'skipped') this.previews.skipped += 1;
      else this.previews.released += 1;
      rec.state =
        kind === 'skipped'
          ? {
              kind: 'later',
              notBeforeMs: at + PREVIEW_SKIP_HOLD_MS,
              reason: 'preview_skipped',
            }
          : { kind: 'pending' };
      return;
    }
    this.outcomes[kind] = (this.outcomes[kind] ?? 0) + 1;
    rec.state = { kind: 'pending' };
    // An agent who did not answer: the customer was never rung, not an attempt at them.
    if (kind === 'agent_no_answer') return;
    const outcome: AttemptOutcome = kind;
    rec.history = {
      ...rec.history,
      attempts: rec.history.attempts + 1,
      last: { outcome, atMs: at },
    };
    if (outcome === 'abandoned') this.deps.abandoned.note(rec.contact.number, at);
    this.dialable(rec, at);
  }
}
