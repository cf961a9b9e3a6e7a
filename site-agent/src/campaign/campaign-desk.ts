// The site's outbound campaigns (issue 19): what the site agent keeps of them and how they are
// asked for. Create, start, pause and progress are scoped: a tenant's request reaches only its
// own campaigns (another tenant's are "not found", never "forbidden", so their ids say nothing),
// HQ's reaches every one. Each campaign is journalled before it exists and each attempt before its
// events go out (campaign-journal.ts); the runs are ticked every second and after every outcome.
// A preview campaign's offers are seen and decided here by the agent they are for only; the open
// ones are journalled and, after a restart, go back to their agents with the time they had left.
import { basename } from 'node:path';
import type { Clock } from '@ccfed/common';
import type { Dialer } from '../dialer/port.js';
import {
  AbandonedCalls,
  CampaignRun,
  type CampaignAgents,
  type CampaignAttemptRecord,
  type CampaignContact,
  type CampaignDefinition,
  type CampaignProgress,
  type CampaignSource,
} from './campaign-run.js';
import { PreviewDecisionError, type PreviewDecision, type PreviewOffer } from './preview-offers.js';
import type { CampaignJournal } from './campaign-journal.js';
import { checkRules, DEFAULT_RULES, type CampaignRules } from './rules.js';

/** Who asks: a tenant's client (only its campaigns) or HQ (all). */
export type CampaignScope = { readonly tenantId: string } | { readonly hq: true };

export class CampaignRequestError extends Error {
  constructor(
    readonly code: 'invalid' | 'not_found' | 'exists',
    message: string,
  ) {
    super(message);
    this.name = 'CampaignRequestError';
  }
}

export interface NewCampaign {
  readonly campaignId: string;
  readonly tenantId: string;
  readonly skill: string;
  readonly mode: CampaignDefinition['mode'];
  readonly contacts: readonly CampaignContact[];
  readonly rules?: Partial<Omit<CampaignRules, 'dnc'>> & { readonly dnc?: readonly string[] };
  readonly ringTimeoutMs?: number;
  /** Where the list came from; an uploaded CSV when absent. */
  readonly source?: CampaignSource;
  /** Preview mode: how long an offer waits for the agent's decision. */
  readonly previewTimeoutMs?: number;
}

/** A preview as its agent sees it: the offer and the campaign it is of. */
export interface PreviewView {
  readonly offer: PreviewOffer;
  readonly campaignId: string;
  readonly tenantId: string;
  readonly skill: string;
}

export interface CampaignDeskDeps {
  readonly clock: Clock;
  readonly dialer: Dialer;
  readonly agents: CampaignAgents;
  readonly journal: CampaignJournal;
  /** Which tenants have seats with which skills at this site: a campaign needs its agents here. */
  readonly serves: (tenantId: string, skill: string) => boolean;
  readonly newId: () => string;
  /** An attempt's end, once journalled: for the events (campaign-events.ts). */
  readonly published: (record: CampaignAttemptRecord, definition: CampaignDefinition) => void;
  readonly tickEveryMs?: number;
  /**
   * A campaign that could not dial (its skill gone from the topology since it was created, its
   * journal unwritable): it is paused, the site agent goes on serving calls.
   */
  readonly failed?: (campaignId: string, err: unknown) => void;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DEFAULT_RING_TIMEOUT_MS = 25_000;

export class CampaignDesk {
  private readonly runs = new Map<string, CampaignRun>();
  private readonly abandoned = new AbandonedCalls();
  /** Journalled campaigns that could not be loaded: their ids stay taken, their files kept. */
  private readonly damaged = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: CampaignDeskDeps) {}

  /**
   * Loads the journalled campaigns, replays their attempts, takes up their open previews, and
   * ticks the running ones. A damaged campaign is left out and reported (failed); the site and its
   * other campaigns go on.
   */
  open(): void {
    const kept = this.deps.journal.load((file, err) => {
      const campaignId = basename(file).replace(/\.campaign\.json$/, '');
      this.damaged.add(campaignId);
      this.deps.failed?.(campaignId, err);
    });
    for (const k of kept) {
      try {
        const run = new CampaignRun(k.definition, this.runDeps(k.definition));
        for (const a of k.attempts) run.replay(a);
        if (k.status === 'running') run.start();
        run.restorePreviews(k.offers);
        this.runs.set(k.definition.campaignId, run);
      } catch (err) {
        this.damaged.add(k.definition.campaignId);
        this.deps.failed?.(k.definition.campaignId, err);
        // The agents the site kept reserved for its previews are not left waiting on it.
        const { agents } = this.deps;
        for (const o of k.offers) if (agents.holds?.(o.callId, o.agentId)) agents.release(o.callId);
      }
    }
    this.timer = setInterval(() => this.tick(), this.deps.tickEveryMs ?? 1_000);
    this.timer.unref();
  }

  /**
   * Stops starting attempts (those dialing go on: the dialer's stop ends them); open previews stay
   * journalled for the next start.
   */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const run of this.runs.values()) run.stop();
  }

  /** Resolves once every attempt started has ended and been journalled. */
  async settled(): Promise<void> {
    await Promise.all([...this.runs.values()].map((r) => r.settled()));
  }

  create(scope: CampaignScope, input: NewCampaign): CampaignProgress {
    if ('tenantId' in scope && scope.tenantId !== input.tenantId)
      throw new CampaignRequestError('invalid', `tenant ${input.tenantId} is not yours`);
    if (!ID.test(input.campaignId))
      throw new CampaignRequestError('invalid', 'campaignId: 1-64 letters, digits, . _ -');
    if (this.runs.has(input.campaignId) || this.damaged.has(input.campaignId))
      throw new CampaignRequestError('exists', `campaign ${input.campaignId} exists`);
    if (!this.deps.serves(input.tenantId, input.skill))
      throw new CampaignRequestError(
        'invalid',
        `this site has no ${input.tenantId} seats with skill ${input.skill}`,
      );
    if (input.contacts.length === 0) throw new CampaignRequestError('invalid', 'no contacts');
    let rules: CampaignRules;
    try {
      rules = checkRules({
        ...DEFAULT_RULES,
        ...input.rules,
        dnc: new Set(input.rules?.dnc ?? []),
      });
    } catch (err) {
      throw new CampaignRequestError('invalid', (err as Error).message);
    }
    const ringTimeoutMs = input.ringTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS;
    if (!Number.isInteger(ringTimeoutMs) || ringTimeoutMs < 5_000 || ringTimeoutMs > 60_000)
      throw new CampaignRequestError('invalid', 'ringTimeoutMs: from 5,000 to 60,000');
    const { previewTimeoutMs } = input;
    if (
      previewTimeoutMs !== undefined &&
      (input.mode !== 'preview' ||
        !Number.isInteger(previewTimeoutMs) ||
        previewTimeoutMs < 5_000 ||
        previewTimeoutMs > 300_000)
    )
      throw new CampaignRequestError(
        'invalid',
        'previewTimeoutMs: preview mode only, from 5,000 to 300,000',
      );
    const definition: CampaignDefinition = {
      campaignId: input.campaignId,
      tenantId: input.tenantId,
      skill: input.skill,
      mode: input.mode,
      rules,
      contacts: input.contacts,
      ringTimeoutMs,
      ...(previewTimeoutMs !== undefined && { previewTimeoutMs }),
      ...(input.source && { source: input.source }),
    };
    let run: CampaignRun;
    try {
      run = new CampaignRun(definition, this.runDeps(definition));
    } catch (err) {
      throw new CampaignRequestError('invalid', (err as Error).message);
    }
    // Kept before it exists: a campaign the caller was told about survives a restart.
    this.deps.journal.save(definition, 'paused');
    this.runs.set(definition.campaignId, run);
    return run.progress();
  }

  start(scope: CampaignScope, campaignId: string): CampaignProgress {
    const run = this.find(scope, campaignId);
    this.deps.journal.save(run.definition, 'running');
    run.start();
    this.tickOne(run);
    return run.progress();
  }

  pause(scope: CampaignScope, campaignId: string): CampaignProgress {
    const run = this.find(scope, campaignId);
    this.deps.journal.save(run.definition, 'paused');
    run.pause();
    return run.progress();
  }

  progress(scope: CampaignScope, campaignId: string): CampaignProgress {
    return this.find(scope, campaignId).progress();
  }

  list(scope: CampaignScope): CampaignProgress[] {
    return [...this.runs.values()].filter((r) => visible(scope, r)).map((r) => r.progress());
  }

  /** The preview open for `agentId` of this site, whichever campaign offered it. */
  preview(agentId: string): PreviewView | undefined {
    for (const run of this.runs.values()) {
      const offer = run.previewFor(agentId);
      if (offer) return viewOf(run, offer);
    }
    return undefined;
  }

  /**
   * `agentId`'s decision on its preview `offerId`. Throws PreviewDecisionError: not_found for an
   * id no campaign here offered, not_yours for another agent's, stale for one decided or lapsed.
   */
  decidePreview(agentId: string, offerId: string, decision: PreviewDecision): PreviewView {
    for (const run of this.runs.values())
      if (run.hasPreview(offerId)) return viewOf(run, run.decide(offerId, agentId, decision));
    throw new PreviewDecisionError('not_found', `no preview ${offerId}`);
  }

  /** Dials what each running campaign may dial now; a campaign that fails is paused. */
  tick(): void {
    for (const run of this.runs.values()) this.tickOne(run);
  }

  private tickOne(run: CampaignRun): void {
    try {
      run.tick();
    } catch (err) {
      run.pause();
      this.deps.failed?.(run.definition.campaignId, err);
      try {
        this.deps.journal.save(run.definition, 'paused');
      } catch (again) {
        this.deps.failed?.(run.definition.campaignId, again);
      }
    }
  }

  private find(scope: CampaignScope, campaignId: string): CampaignRun {
    const run = this.runs.get(campaignId);
    if (!run || !visible(scope, run))
      throw new CampaignRequestError('not_found', `no campaign ${campaignId}`);
    return run;
  }

  private runDeps(definition: CampaignDefinition) {
    return {
      clock: this.deps.clock,
      dialer: this.deps.dialer,
      agents: this.deps.agents,
      abandoned: this.abandoned,
      newId: this.deps.newId,
      offersChanged: (open: readonly PreviewOffer[]) =>
        this.deps.journal.saveOffers(definition.campaignId, open),
      recorded: (r: CampaignAttemptRecord) => {
        this.deps.journal.append(r);
        this.deps.published(r, definition);
        // An agent freed or a retry due: the next line need not wait for the timer.
        queueMicrotask(() => this.tick());
      },
    };
  }
}

function viewOf(run: CampaignRun, offer: PreviewOffer): PreviewView {
  const { campaignId, tenantId, skill } = run.definition;
  return { offer, campaignId, tenantId, skill };
}

function visible(scope: CampaignScope, run: CampaignRun): boolean {
  return 'hq' in scope || run.definition.tenantId === scope.tenantId;
}
