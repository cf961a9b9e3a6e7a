// A site agent SIGKILLed while its agents hold preview offers, and started again, as
// site-agent/src/index.ts does it: the ACD restored from the site state it saved (keeping the
// reservations of the journal's open offers beside the call flow's calls), then the campaigns
// loaded from their journal. The real ACD, campaign journal on disk and desk; a dialer whose
// customers are busy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@ccfed/common';
import { afterEach, describe, expect, it } from 'vitest';
import { Acd, type AcdSnapshot } from '../acd/acd.js';
import type { DialRequest } from '../dialer/port.js';
import { AcdCampaignAgents } from './acd-agents.js';
import { CampaignDesk } from './campaign-desk.js';
import { CampaignJournal } from './campaign-journal.js';
import type { CampaignAttemptRecord } from './campaign-run.js';

const T0 = Date.parse('2026-12-07T13:00:00Z');
const ACME = { tenantId: 'acme' };

/** One run of the site agent: its ACD (restored from `saved` if given) and its campaign desk. */
function siteAgent(clock: ManualClock, dir: string, saved?: AcdSnapshot) {
  const acd = new Acd({
    clock,
    skills: [
      { id: 'retention', serviceLevelThresholdMs: 20_000, wrapUpMs: 5_000, averageHandleMs: 1 },
    ],
    agents: ['a1', 'a2'].map((id) => ({ id, tenantId: 'acme', skills: { retention: 5 } })),
  });
  const journal = new CampaignJournal(dir);
  let problems: string[] = [];
  if (saved) {
    // index.ts: no call flow calls here, only the open previews' reservations are kept.
    const kept = new Set(journal.openOffers().map((o) => o.callId));
    problems = acd.restore({
      agents: saved.agents,
      calls: saved.calls.filter((c) => kept.has(c.call.callId)),
    });
  } else {
    for (const id of ['a1', 'a2']) {
      acd.login(id);
      clock.advance(1_000); // a1 the longest idle
      acd.ready(id);
    }
  }
  const dialed: DialRequest[] = [];
  const published: CampaignAttemptRecord[] = [];
  let n = 0;
  const desk = new CampaignDesk({
    clock,
    dialer: {
      dial: (r) => {
        dialed.push(r);
        return Promise.resolve({ kind: 'busy' });
      },
    },
    agents: new AcdCampaignAgents({
      acd,
      now: () => clock.now(),
      effects: () => {},
      serviceLevel: () => ({ offered: 0, answeredWithinTarget: 0, target: 0.8 }),
      minOffered: 20,
    }),
    journal,
    serves: () => true,
    newId: () => `${saved ? 'second' : 'first'}-${++n}`,
    published: (r) => published.push(r),
    tickEveryMs: 3_600_000,
  });
  desk.open();
  return { acd, desk, dialed, published, problems };
}

describe('preview offers across a site agent SIGKILL and restart', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A first run whose two agents each hold an offer when it is killed. */
  function killedWithOffers() {
    const dir = join(mkdtempSync(join(tmpdir(), 'preview-restart-')), 'campaigns');
    dirs.push(dir);
    const clock = new ManualClock(T0);
    const first = siteAgent(clock, dir);
    const beforeOffers = first.acd.snapshot();
    first.desk.create(ACME, {
      campaignId: 'acme-preview',
      tenantId: 'acme',
      skill: 'retention',
      mode: 'preview',
      previewTimeoutMs: 30_000,
      contacts: ['1', '2', '3'].map((i) => ({
        contactId: `c${i}`,
        number: `+44770090000${i}`,
        timeZone: 'Europe/London',
      })),
    });
    first.desk.start(ACME, 'acme-preview');
    const o1 = first.desk.preview('a1')!.offer;
    const o2 = first.desk.preview('a2')!.offer;
    expect([o1.contactId, o2.contactId]).toEqual(['c1', 'c2']);
    // SIGKILL: no close(), nothing more written. The site state holds the reservations.
    return { dir, clock, o1, o2, saved: first.acd.snapshot(), beforeOffers };
  }

  it('each agent gets its offer back with the time it had left, and decides it', async () => {
    const { dir, clock, o1, o2, saved } = killedWithOffers();
    clock.advance(8_000);
    const again = siteAgent(clock, dir, saved);
    expect(again.problems).toEqual([]);
    expect(again.desk.preview('a1')?.offer).toEqual(o1);
    expect(again.desk.preview('a2')?.offer).toEqual(o2);
    expect(o1.expiresAtMs - clock.now()).toBe(22_000);
    expect(again.acd.agentState('a1')).toEqual({ name: 'reserved', callId: o1.callId });
    expect(again.published).toEqual([]);
    expect(again.desk.progress(ACME, 'acme-preview')).toMatchObject({
      previews: { offered: 2, skipped: 0, released: 0 },
      standing: { previewing: 2, pending: 1 },
    });

    again.desk.decidePreview('a1', o1.offerId, { kind: 'dial' });
    expect(again.dialed).toMatchObject([
      { callId: o1.callId, agentId: 'a1', number: '+447700900001', order: 'agent_first' },
    ]);
    again.desk.decidePreview('a2', o2.offerId, { kind: 'skip', reason: 'not_now' });
    await again.desk.settled();
    await Promise.resolve(); // the desk ticks after a recorded end
    expect(again.published.map((r) => [r.contactId, r.outcome, r.attempt])).toEqual([
      ['c2', 'skipped', 0],
      ['c1', 'busy', 1],
    ]);
    // c1 waits its busy delay, c2 its skip hold: c3 goes to one of the two, both free again
    const holder = ['a1', 'a2'].find((a) => again.desk.preview(a))!;
    const other = holder === 'a1' ? 'a2' : 'a1';
    const third = again.desk.preview(holder)!.offer;
    expect(third.contactId).toBe('c3');

    // Another restart takes up exactly what is open now: c3's offer, not the decided two.
    const later = siteAgent(clock, dir, again.acd.snapshot());
    expect(later.problems).toEqual([]);
    expect(later.desk.preview(holder)?.offer).toEqual(third);
    expect(later.desk.preview(other)).toBeUndefined();
    expect(later.acd.agentState(other)).toEqual({ name: 'ready' });
  });

  it('when the site state lost the reservations, the offers are released and the contacts offered again', () => {
    const { dir, clock, o1, beforeOffers } = killedWithOffers();
    clock.advance(2_000);
    const again = siteAgent(clock, dir, beforeOffers);
    expect(again.published.map((r) => [r.contactId, r.agentId, r.outcome, r.attempt])).toEqual([
      ['c1', 'a1', 'released', 0],
      ['c2', 'a2', 'released', 0],
    ]);
    expect(again.acd.agentState('a1')).toEqual({ name: 'ready' });
    expect(() => again.desk.decidePreview('a1', o1.offerId, { kind: 'dial' })).toThrow(
      expect.objectContaining({ code: 'stale' }),
    );
    again.desk.tick();
    expect(again.desk.preview('a1')?.offer.contactId).toBe('c1');
    expect(again.desk.preview('a2')?.offer.contactId).toBe('c2');
    expect(again.dialed).toEqual([]);
  });
});
