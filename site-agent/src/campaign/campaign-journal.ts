// A site's campaigns on its own disk (<CCFED_DATA_DIR>/campaigns/), so that a site agent restart
// neither forgets a campaign nor redials a number it must not: per campaign, its definition and
// status (one file, written atomically: temporary file, fsync, rename), its attempts (one
// JSON line each, appended and fsynced before the attempt's events go out) and, in preview mode,
// the offers open now (one file, replaced atomically after every change, before the change is
// seen). Replaying the attempts rebuilds every contact's attempts, retry times and the site's
// abandoned calls (the 72 h rule); the open offers go back to their agents. The definition holds
// the customers' numbers: mode 0600 in a 0700 directory, as the callbacks' store keeps its numbers.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { CampaignAttemptRecord, CampaignDefinition } from './campaign-run.js';
import { writeFileDurably } from '../durable-file.js';
import { SKIP_REASONS, type PreviewOffer } from './preview-offers.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const storedDefinition = z.strictObject({
  status: z.enum(['running', 'paused']),
  definition: z.strictObject({
    campaignId: z.string().regex(ID),
    tenantId: z.string().min(1),
    skill: z.string().min(1),
    mode: z.enum(['progressive', 'predictive', 'preview']),
    ringTimeoutMs: z.number().int().positive(),
    previewTimeoutMs: z.number().int().positive().optional(),
    rules: z.strictObject({
      window: z.strictObject({ startMinute: z.number().int(), endMinute: z.number().int() }),
      maxAttempts: z.number().int().positive(),
      retryAfterMs: z.strictObject({
        no_answer: z.number(),
        busy: z.number(),
        machine: z.number(),
        failed: z.number(),
      }),
      dnc: z.array(z.string()),
    }),
    contacts: z.array(
      z.strictObject({
        contactId: z.string().min(1),
        number: z.string().regex(/^\+[1-9]\d{6,14}$/),
        timeZone: z.string().min(1),
        customerId: z.string().optional(),
      }),
    ),
    source: z
      .strictObject({
        kind: z.enum(['csv', 'churn', 'survey']),
        ref: z.string(),
        unresolvable: z.number().int().min(0),
      })
      .optional(),
  }),
});

const storedAttempt = z.strictObject({
  campaignId: z.string(),
  tenantId: z.string(),
  contactId: z.string(),
  attemptId: z.string(),
  callId: z.string(),
  agentId: z.string(),
  attempt: z.number().int().min(0),
  outcome: z.enum([
    'connected',
    'no_answer',
    'busy',
    'agent_no_answer',
    'abandoned',
    'failed',
    'skipped',
    'released',
  ]),
  skipReason: z.enum(SKIP_REASONS).optional(),
  atMs: z.number(),
});

const storedOffers = z.strictObject({
  offers: z.array(
    z.strictObject({
      offerId: z.string().min(1),
      callId: z.string().min(1),
      agentId: z.string().min(1),
      contactId: z.string().min(1),
      customerId: z.string().optional(),
      offeredAtMs: z.number().int(),
      expiresAtMs: z.number().int(),
    }),
  ),
});

export interface JournalledCampaign {
  readonly definition: CampaignDefinition;
  readonly status: 'running' | 'paused';
  readonly attempts: readonly CampaignAttemptRecord[];
  /** Preview offers open when the site agent stopped, not already ended in `attempts`. */
  readonly offers: readonly PreviewOffer[];
}

export class CampaignJournal {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Writes the campaign's definition and status; durable when it returns. */
  save(definition: CampaignDefinition, status: 'running' | 'paused'): void {
    const file = this.fileOf(definition.campaignId, 'campaign.json');
    const body = {
      status,
      definition: { ...definition, rules: { ...definition.rules, dnc: [...definition.rules.dnc] } },
    };
    writeFileDurably(file, JSON.stringify(body));
  }

  /** Appends one attempt's end; durable when it returns (before its events are published). */
  append(record: CampaignAttemptRecord): void {
    const file = this.fileOf(record.campaignId, 'attempts.jsonl');
    appendFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o600, flush: true });
  }

  /**
   * Replaces the campaign's open preview offers; durable when it returns. Atomic: a crash leaves
   * the previous list or this one, never part of one.
   */
  saveOffers(campaignId: string, offers: readonly PreviewOffer[]): void {
    writeFileDurably(this.fileOf(campaignId, 'offers.json'), JSON.stringify({ offers }));
  }

  /**
   * The open preview offers of every campaign that loads: the reservations a restarted site
   * agent keeps for them (site-agent/src/index.ts) before its campaigns take them up.
   */
  openOffers(): PreviewOffer[] {
    return this.load(() => undefined).flatMap((k) => k.offers);
  }

  /**
   * Every campaign kept, with its attempts in order. A last line cut short by a crash mid-write
   * is skipped (its attempt's events were never published); anything else unreadable throws,
   * naming the file and line, rather than forget attempts the rules depend on.
   */
  load(onDamaged?: (file: string, err: Error) => void): JournalledCampaign[] {
    const out: JournalledCampaign[] = [];
    for (const name of readdirSync(this.dir).sort()) {
      if (!name.endsWith('.campaign.json')) continue;
      const file = join(this.dir, name);
      try {
        out.push(this.loadOne(file));
      } catch (err) {
        // Without a handler a damaged campaign stops the load; with one it is left out (not run,
        // its files kept for the operator) and the others load.
        if (!onDamaged) throw err;
        onDamaged(file, err instanceof Error ? err : new Error(String(err)));
      }
    }
    return out;
  }

  private loadOne(file: string): JournalledCampaign {
    const parsed = storedDefinition.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file}: ${parsed.error.message}`);
    const { status, definition } = parsed.data;
    const attemptsFile = this.fileOf(definition.campaignId, 'attempts.jsonl');
    const attempts: CampaignAttemptRecord[] = [];
    if (existsSync(attemptsFile)) {
      const lines = readFileSync(attemptsFile, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (line === '') return;
        const last = i === lines.length - 1;
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch (err) {
          if (last) return;
          throw new Error(`${attemptsFile} line ${i + 1}: ${String(err)}`);
        }
        const a = storedAttempt.safeParse(json);
        if (!a.success) throw new Error(`${attemptsFile} line ${i + 1}: ${a.error.message}`);
        attempts.push(a.data);
      });
    }
    const offersFile = this.fileOf(definition.campaignId, 'offers.json');
    let offers: PreviewOffer[] = [];
    if (existsSync(offersFile)) {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(offersFile, 'utf8'));
      } catch (err) {
        throw new Error(`${offersFile}: ${String(err)}`);
      }
      const o = storedOffers.safeParse(json);
      if (!o.success) throw new Error(`${offersFile}: ${o.error.message}`);
      // An offer whose end the attempts already hold was decided (the crash came between the two
      // writes): it is not open.
      const ended = new Set(attempts.map((a) => a.callId));
      offers = o.data.offers.filter((offer) => !ended.has(offer.callId));
    }
    return {
      status,
      attempts,
      offers,
      definition: {
        ...definition,
        rules: { ...definition.rules, dnc: new Set(definition.rules.dnc) },
      },
    };
  }

  private fileOf(campaignId: string, suffix: string): string {
    if (!ID.test(campaignId)) throw new RangeError(`campaign id ${JSON.stringify(campaignId)}`);
    return join(this.dir, `${campaignId}.${suffix}`);
  }
}
