import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@ccfed/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { DialOutcome } from '../dialer/port.js';
import {
  AbandonedCalls,
  CampaignRun,
  type CampaignAgents,
  type CampaignDefinition,
} from './campaign-run.js';
import { CampaignJournal } from './campaign-journal.js';
import { DEFAULT_RULES } from './rules.js';

const NOW = Date.parse('2026-12-07T13:00:00Z');
const HOUR = 3_600_000;

const definition: CampaignDefinition = {
  campaignId: 'retention-1',
  tenantId: 'acme',
  skill: 'retention',
  mode: 'progressive',
  ringTimeoutMs: 20_000,
  rules: { ...DEFAULT_RULES, dnc: new Set(['+447700900009']) },
  contacts: [
    { contactId: 'c1', number: '+447700900001', timeZone: 'Europe/London' },
    { contactId: 'c2', number: '+447700900002', timeZone: 'Europe/London' },
    { contactId: 'c3', number: '+447700900003', timeZone: 'Europe/London' },
  ],
};

/** Three idle agents who are never busy for long. */
const agents: CampaignAgents = {
  staffing: () => ({ loggedIn: 3, free: 3, busy: 0, averageHandleMs: 180_000 }),
  inboundLoad: () => ({
    queued: 0,
    offered: 0,
    answeredWithinTarget: 0,
    target: 0.8,
    minOffered: 20,
  }),
  reserve: (_s, _t, callId) => `agent-of-${callId}`,
  release: () => {},
  connected: () => {},
};

function runOf(
  journal: CampaignJournal,
  clock: ManualClock,
  abandoned: AbandonedCalls,
  outcomes: DialOutcome[],
) {
  let n = 0;
  return new CampaignRun(definition, {
    clock,
    agents,
    abandoned,
    newId: () => `id-${++n}`,
    dialer: { dial: () => Promise.resolve(outcomes.shift() ?? { kind: 'no_answer' }) },
    recorded: (r) => journal.append(r),
  });
}

describe('the site’s campaign journal', () => {
  const dirs: string[] = [];
  const journalDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'campaign-journal-'));
    dirs.push(d);
    return join(d, 'campaigns');
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('after a restart, an abandoned number stays held 72 h, a busy one waits its delay, a connected one is done', async () => {
    const dir = journalDir();
    const clock = new ManualClock(NOW);
    const journal = new CampaignJournal(dir);
    journal.save(definition, 'running');
    const first = runOf(journal, clock, new AbandonedCalls(), [
      { kind: 'connected', answeredAtMs: NOW },
      { kind: 'abandoned', answeredAtMs: NOW },
      { kind: 'busy' },
    ]);
    first.start();
    expect(first.tick()).toBe(3);
    await first.settled();
    expect(statSync(join(dir, 'retention-1.campaign.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    // The site agent restarts an hour later.
    clock.advance(HOUR);
    const [kept] = new CampaignJournal(dir).load();
    expect(kept!.status).toBe('running');
    expect(kept!.definition.rules.dnc).toEqual(new Set(['+447700900009']));
    const abandoned = new AbandonedCalls();
    const again = runOf(journal, clock, abandoned, []);
    for (const a of kept!.attempts) again.replay(a);
    again.start();
    expect(again.tick()).toBe(1); // only the busy customer, whose 15 minutes are over
    await again.settled();
    expect(again.contactState('c1')).toEqual({ kind: 'done', reason: 'completed' });
    expect(again.contactState('c2')).toEqual({
      kind: 'later',
      reason: 'abandoned_72h',
      notBeforeMs: NOW + 72 * HOUR,
    });
    expect(abandoned.lastAt('+447700900002')).toBe(NOW);
    expect(again.progress()).toMatchObject({ dialed: 4, connected: 1, abandoned: 1 });
    // the 24 h abandoned rate survives the restart: 1 abandoned of 2 live calls
    expect(again.progress().abandonRate24h).toBeCloseTo(0.5, 5);
  });

  it('skips a last line cut short by a crash, and refuses a damaged line before it', () => {
    const dir = journalDir();
    const journal = new CampaignJournal(dir);
    journal.save(definition, 'paused');
    const record = {
      campaignId: 'retention-1',
      tenantId: 'acme',
      contactId: 'c1',
      attemptId: 'a1',
      callId: 'k1',
      agentId: 'x',
      attempt: 1,
      outcome: 'busy' as const,
      atMs: NOW,
    };
    journal.append(record);
    appendFileSync(join(dir, 'retention-1.attempts.jsonl'), '{"campaignId":"retention-1","cont');
    expect(journal.load()[0]!.attempts).toEqual([record]);
    appendFileSync(join(dir, 'retention-1.attempts.jsonl'), '\n');
    journal.append(record);
    expect(() => journal.load()).toThrow(/attempts\.jsonl line 2/);
  });

  it('keeps where a list came from: the churn run and model, and the customers it could not reach', () => {
    const journal = new CampaignJournal(journalDir());
    const source = {
      kind: 'churn' as const,
      ref: 'run 2026-12-07T02:00:00Z model v3',
      unresolvable: 4,
    };
    journal.save({ ...definition, source }, 'paused');
    const [kept] = journal.load();
    expect(kept!.definition.source).toEqual(source);
  });

  it('refuses a campaign id that could leave its directory', () => {
    const journal = new CampaignJournal(journalDir());
    expect(() => journal.save({ ...definition, campaignId: '../etc' }, 'running')).toThrow(
      /campaign id/,
    );
  });
});

describe('a preview campaign in the journal', () => {
  it('keeps its mode and offer timeout, and a skip replays with its reason and its hold', () => {
    const d = mkdtempSync(join(tmpdir(), 'campaign-journal-'));
    try {
      const journal = new CampaignJournal(join(d, 'campaigns'));
      const preview: CampaignDefinition = {
        ...definition,
        mode: 'preview',
        previewTimeoutMs: 45_000,
      };
      journal.save(preview, 'running');
      const clock = new ManualClock(NOW);
      let n = 0;
      const run = new CampaignRun(preview, {
        clock,
        agents,
        abandoned: new AbandonedCalls(),
        newId: () => `id-${++n}`,
        dialer: { dial: () => Promise.resolve({ kind: 'no_answer' }) },
        recorded: (r) => journal.append(r),
      });
      run.start();
      run.tick();
      const offer = run.previewFor('agent-of-id-1')!;
      expect(offer.expiresAtMs).toBe(NOW + 45_000);
      run.decide(offer.offerId, 'agent-of-id-1', { kind: 'skip', reason: 'wrong_contact' });

      const [kept] = journal.load();
      expect(kept!.definition).toMatchObject({ mode: 'preview', previewTimeoutMs: 45_000 });
      expect(kept!.attempts).toEqual([
        expect.objectContaining({
          contactId: 'c1',
          outcome: 'skipped',
          skipReason: 'wrong_contact',
          attempt: 0,
        }),
      ]);
      const again = new CampaignRun(kept!.definition, {
        clock,
        agents,
        abandoned: new AbandonedCalls(),
        newId: () => 'x',
        dialer: { dial: () => Promise.resolve({ kind: 'no_answer' }) },
        recorded: () => {},
      });
      for (const a of kept!.attempts) again.replay(a);
      expect(again.contactState('c1')).toMatchObject({ kind: 'later', reason: 'preview_skipped' });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('a preview campaign’s open offers in the journal', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const journalOf = () => {
    const d = mkdtempSync(join(tmpdir(), 'campaign-journal-'));
    dirs.push(d);
    return { dir: join(d, 'campaigns'), journal: new CampaignJournal(join(d, 'campaigns')) };
  };
  const preview: CampaignDefinition = { ...definition, mode: 'preview' };
  const offer = (n: number) => ({
    offerId: `offer-${n}`,
    callId: `call-${n}`,
    agentId: `agent-${n}`,
    contactId: `c${n}`,
    offeredAtMs: NOW,
    expiresAtMs: NOW + 30_000,
  });

  it('keeps the offers open last, replaced whole, private like the definition', () => {
    const { dir, journal } = journalOf();
    journal.save(preview, 'running');
    expect(journal.load()[0]!.offers).toEqual([]);
    journal.saveOffers('retention-1', [offer(1), { ...offer(2), customerId: 'cust-2' }]);
    journal.saveOffers('retention-1', [{ ...offer(2), customerId: 'cust-2' }]);
    expect(journal.load()[0]!.offers).toEqual([{ ...offer(2), customerId: 'cust-2' }]);
    expect(journal.openOffers()).toEqual([{ ...offer(2), customerId: 'cust-2' }]);
    expect(statSync(join(dir, 'retention-1.offers.json')).mode & 0o777).toBe(0o600);
    expect(() => journal.saveOffers('../x', [])).toThrow(/campaign id/);
  });

  it('an offer whose end is already among the attempts is not open (a crash between the two writes)', () => {
    const { journal } = journalOf();
    journal.save(preview, 'running');
    journal.saveOffers('retention-1', [offer(1), offer(2)]);
    journal.append({
      campaignId: 'retention-1',
      tenantId: 'acme',
      contactId: 'c1',
      attemptId: 'offer-1',
      callId: 'call-1',
      agentId: 'agent-1',
      attempt: 0,
      outcome: 'skipped',
      skipReason: 'not_now',
      atMs: NOW,
    });
    expect(journal.load()[0]!.offers).toEqual([offer(2)]);
  });

  it('a damaged offers file keeps its campaign out, named, and its offers are nobody’s', () => {
    const { dir, journal } = journalOf();
    journal.save(preview, 'running');
    writeFileSync(join(dir, 'retention-1.offers.json'), '{"offers":[{"offerId":""}]}');
    expect(() => journal.load()).toThrow(/retention-1\.offers\.json/);
    writeFileSync(join(dir, 'retention-1.offers.json'), '{"offers":[');
    expect(() => journal.load()).toThrow(/retention-1\.offers\.json/);
    expect(journal.openOffers()).toEqual([]);
  });
});
