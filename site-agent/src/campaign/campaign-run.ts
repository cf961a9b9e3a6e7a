// One outbound campaign as the site whose agents take it runs it (issue 19): while it runs and
// inbound holds its service level, it asks the Pacer how many lines to dial, picks the contacts
// the rules let it call now, has the ACD reserve an agent for each and the dialer connect them,
// and keeps every contact's attempts, last outcome and last abandoned call for the next decision.
// The agents and the dialer are ports: the site agent wires the ACD and the SIP dialer; the unit
// tests a scripted dialer. Time comes from the injected clock.
import type { Clock } from '@ccfed/common';
import {
  inboundFirst,
  Pacer,
  type InboundLoad,
  type LineOutcome,
  type PacingMode,
} from '../dialer/pacing.js';
import type { DialOrder, DialOutcome, Dialer } from '../dialer/port.js';
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
  readonly mode: PacingMode;
  readonly rules: CampaignRules;
  readonly contacts: readonly CampaignContact[];
  /** How long a customer's phone rings before the attempt is no answer. */
  readonly ringTimeoutMs: number;
  /** Absent: an uploaded CSV (campaigns journalled before lists had sources). */
  readonly source?: CampaignSource;
}

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
}

/** One attempt's end, as the campaign's events carry it (the number never). */
export interface CampaignAttemptRecord {
  readonly campaignId: string;
  readonly tenantId: string;
  readonly contactId: string;
  readonly attemptId: string;
  readonly callId: string;
  readonly agentId: string;
  /** 1 for the first attempt at this contact; an agent's no answer is not an attempt. */
  readonly attempt: number;
  readonly outcome: DialOutcome['kind'];
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
  | { readonly kind: 'later'; readonly notBeforeMs: number; readonly reason: string }
  | { readonly kind: 'done'; readonly reason: 'dnc' | 'max_attempts' | 'completed' };

export interface CampaignProgress {
  readonly campaignId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly mode: PacingMode;
  readonly status: 'running' | 'paused';
  readonly contacts: number;
  readonly dialed: number;
  readonly connected: number;
  readonly abandoned: number;
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

const PACER_OUTCOME: Partial<Record<DialOutcome['kind'], LineOutcome>> = {
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
  private readonly outcomes: Record<string, number> = {};
  private dialed = 0;
  private held: string | undefined;

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

  /** No new attempt starts; those dialing finish and are recorded. */
  pause(): void {
    this.status = 'paused';
  }

  /**
   * Dials what pacing, the inbound-first gate, the agents reserved and the rules allow now.
   * Returns how many attempts it started.
   */
  tick(): number {
    if (this.status !== 'running') return this.hold('paused');
    const { skill, tenantId, mode } = this.definition;
    const gate = inboundFirst(this.deps.agents.inboundLoad(skill, tenantId));
    if (!gate.outbound) return this.hold(gate.reason);
    const staff = this.deps.agents.staffing(skill, tenantId);
    const decision = this.pacer.decide({
      mode,
      agentsLoggedIn: staff.loggedIn,
      agentsFree: staff.free,
      agentsBusy: staff.busy,
      linesInFlight: this.inFlight.size,
      averageHandleMs: staff.averageHandleMs,
    });
    if (decision.dial === 0) return this.hold(decision.reason);
    const now = this.deps.clock.now();
    let started = 0;
    for (const rec of this.contacts) {
      if (started >= decision.dial) break;
      if (!this.dialable(rec, now)) continue;
      // The dialer connects an agent it is given: every line has its agent reserved first, so a
      // predictive decision beyond the idle agents is held to them (docs/campaigns.md).
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
    if (s.kind === 'dialing' || s.kind === 'done') return false;
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
    const { tenantId, skill, ringTimeoutMs } = this.definition;
    const callId = this.deps.newId();
    const agentId = this.deps.agents.reserve(skill, tenantId, callId);
    if (agentId === undefined) return false;
    const attemptId = this.deps.newId();
    rec.state = { kind: 'dialing', attemptId };
    this.dialed += 1;
    // Agent first in progressive (and preview) dialing: the customer never waits for an agent.
    const order: DialOrder =
      this.definition.mode === 'progressive' ? 'agent_first' : 'customer_first';
    const done = this.deps.dialer
      .dial({
        attemptId,
        callId,
        agentId,
        number: rec.contact.number,
        skill,
        tenantId,
        order,
        ringTimeoutMs,
      })
      .catch((err: unknown): DialOutcome => ({ kind: 'failed', reason: String(err) }))
      .then((outcome) => {
        this.inFlight.delete(attemptId);
        this.finish(rec, { attemptId, callId, agentId, outcome });
      });
    this.inFlight.set(attemptId, done);
    return true;
  }

  /**
   * Applies an attempt recorded before a restart (the site's journal) without dialing or recording
   * it again: attempts, retries and the 72 h rule carry on where they were.
   */
  replay(r: CampaignAttemptRecord): void {
    const rec = this.contacts.find((c) => c.contact.contactId === r.contactId);
    if (!rec || r.campaignId !== this.definition.campaignId)
      throw new RangeError(`campaign ${this.definition.campaignId}: no contact ${r.contactId}`);
    this.dialed += 1;
    this.apply(rec, r.outcome, r.atMs);
    // The Pacer counts at its clock only: an attempt of the last 24 h is counted now, so that the
    // abandoned-call rate a restart would otherwise forget holds the cap (it then leaves the
    // window up to a day late, which only errs toward dialing less).
    const line = PACER_OUTCOME[r.outcome];
    if (line && r.atMs > this.deps.clock.now() - DAY_MS) this.pacer.record(line);
  }

  private finish(
    rec: ContactRecord,
    a: { attemptId: string; callId: string; agentId: string; outcome: DialOutcome },
  ): void {
    const at = this.deps.clock.now();
    const kind = a.outcome.kind;
    if (kind === 'connected') this.deps.agents.connected(a.callId);
    else this.deps.agents.release(a.callId);
    const line = PACER_OUTCOME[kind];
    if (line) this.pacer.record(line);
    this.apply(rec, kind, at);
    this.deps.recorded({
      campaignId: this.definition.campaignId,
      tenantId: this.definition.tenantId,
      contactId: rec.contact.contactId,
      attemptId: a.attemptId,
      callId: a.callId,
      agentId: a.agentId,
      attempt: rec.history.attempts,
      outcome: kind,
      atMs: at,
    });
  }

  private apply(rec: ContactRecord, kind: DialOutcome['kind'], at: number): void {
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
