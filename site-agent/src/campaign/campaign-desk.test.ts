import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@ccfed/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { DialRequest } from '../dialer/port.js';
import { CampaignDesk, CampaignRequestError, type NewCampaign } from './campaign-desk.js';
import { CampaignJournal } from './campaign-journal.js';
import type { CampaignAgents, CampaignAttemptRecord } from './campaign-run.js';

const NOW = Date.parse('2026-12-07T13:00:00Z');

const agents: CampaignAgents = {
  staffing: () => ({ loggedIn: 1, free: 1, busy: 0, averageHandleMs: 180_000 }),
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

const acmeCampaign = (over: Partial<NewCampaign> = {}): NewCampaign => ({
  campaignId: 'acme-retention',
  tenantId: 'acme',
  skill: 'retention',
  mode: 'progressive',
  contacts: [{ contactId: 'c1', number: '+447700900001', timeZone: 'Europe/London' }],
  ...over,
});

describe('the site’s campaign desk', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  function setup(dir = join(mkdtempSync(join(tmpdir(), 'campaign-desk-')), 'campaigns')) {
    dirs.push(dir);
    const dialed: DialRequest[] = [];
    const published: CampaignAttemptRecord[] = [];
    let n = 0;
    const desk = new CampaignDesk({
      clock: new ManualClock(NOW),
      dialer: {
        dial: (r) => {
          dialed.push(r);
          return Promise.resolve({ kind: 'busy' });
        },
      },
      agents,
      journal: new CampaignJournal(dir),
      serves: (tenant, skill) => skill === 'retention' && ['acme', 'globex'].includes(tenant),
      newId: () => `id-${++n}`,
      published: (r) => published.push(r),
      tickEveryMs: 60_000,
    });
    desk.open();
    return { desk, dialed, published, dir };
  }

  const code = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      if (err instanceof CampaignRequestError) return err.code;
      throw err;
    }
    return 'ok';
  };

  it('a tenant sees, starts and pauses only its own campaigns; HQ sees all', async () => {
    const { desk, dialed } = setup();
    const acme = { tenantId: 'acme' };
    const globex = { tenantId: 'globex' };
    desk.create(acme, acmeCampaign());
    desk.create(globex, acmeCampaign({ campaignId: 'globex-winback', tenantId: 'globex' }));
    expect(desk.list(acme).map((p) => p.campaignId)).toEqual(['acme-retention']);
    expect(desk.list({ hq: true }).map((p) => p.campaignId)).toEqual([
      'acme-retention',
      'globex-winback',
    ]);
    expect(code(() => desk.start(globex, 'acme-retention'))).toBe('not_found');
    expect(code(() => desk.progress(globex, 'acme-retention'))).toBe('not_found');
    expect(code(() => desk.create(globex, acmeCampaign({ campaignId: 'x' })))).toBe('invalid');
    expect(dialed).toHaveLength(0);

    expect(desk.start(acme, 'acme-retention').status).toBe('running');
    desk.close();
    await desk.settled();
    expect(dialed.map((r) => [r.tenantId, r.number])).toEqual([['acme', '+447700900001']]);
  });

  it('refuses bad campaigns with the reason', () => {
    const { desk } = setup();
    const acme = { tenantId: 'acme' };
    const refused = (c: NewCampaign) => {
      try {
        desk.create(acme, c);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(refused(acmeCampaign({ campaignId: '../x' }))).toMatch(/campaignId/);
    expect(refused(acmeCampaign({ skill: 'sales' }))).toMatch(/no acme seats with skill sales/);
    expect(refused(acmeCampaign({ contacts: [] }))).toMatch(/no contacts/);
    expect(refused(acmeCampaign({ rules: { maxAttempts: 0 } }))).toMatch(/maxAttempts/);
    expect(refused(acmeCampaign({ ringTimeoutMs: 500 }))).toMatch(/ringTimeoutMs/);
    desk.create(acme, acmeCampaign());
    expect(refused(acmeCampaign())).toMatch(/exists/);
  });

  it('a restarted site keeps its campaigns, their status and their attempts', async () => {
    const first = setup();
    first.desk.create({ tenantId: 'acme' }, acmeCampaign());
    first.desk.start({ tenantId: 'acme' }, 'acme-retention');
    first.desk.close();
    await first.desk.settled();
    expect(first.published).toHaveLength(1);

    const again = setup(first.dir);
    expect(again.desk.list({ hq: true })).toMatchObject([
      // close() pauses the runs but the journal keeps what was asked for: running
      { campaignId: 'acme-retention', status: 'running', dialed: 1, outcomes: { busy: 1 } },
    ]);
    again.desk.tick(); // the busy retry is not due: nothing dialed
    again.desk.close();
    await again.desk.settled();
    expect(again.dialed).toHaveLength(0);
  });

  it('pauses a campaign that cannot dial, and goes on with the others', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'campaign-desk-')), 'campaigns');
    dirs.push(dir);
    const failures: string[] = [];
    const dialed: string[] = [];
    const desk = new CampaignDesk({
      clock: new ManualClock(NOW),
      dialer: {
        dial: (r) => {
          dialed.push(r.tenantId);
          return Promise.resolve({ kind: 'busy' });
        },
      },
      agents: {
        ...agents,
        // the ACD no longer knows acme's skill (the topology changed since the campaign was made)
        reserve: (_s, tenant, callId) => {
          if (tenant === 'acme') throw new Error('unknown skill retention');
          return `agent-of-${callId}`;
        },
      },
      journal: new CampaignJournal(dir),
      serves: () => true,
      newId: () => `id-${Math.random()}`,
      published: () => {},
      tickEveryMs: 60_000,
      failed: (id, err) => failures.push(`${id}: ${(err as Error).message}`),
    });
    desk.open();
    desk.create({ hq: true }, acmeCampaign());
    desk.create({ hq: true }, acmeCampaign({ campaignId: 'globex-winback', tenantId: 'globex' }));
    expect(desk.start({ hq: true }, 'acme-retention').status).toBe('paused');
    desk.start({ hq: true }, 'globex-winback');
    desk.tick();
    desk.close();
    await desk.settled();
    expect(failures).toEqual(['acme-retention: unknown skill retention']);
    expect(desk.progress({ hq: true }, 'acme-retention').status).toBe('paused');
    expect(dialed).toEqual(['globex']);
  });

  it('a damaged journal leaves that campaign out, its id taken, and the site runs the others', async () => {
    const first = setup();
    first.desk.create({ hq: true }, acmeCampaign());
    first.desk.create(
      { hq: true },
      acmeCampaign({ campaignId: 'globex-winback', tenantId: 'globex' }),
    );
    first.desk.close();
    writeFileSync(join(first.dir, 'acme-retention.attempts.jsonl'), 'garbage\n{"x":1}\n');

    const failures: string[] = [];
    const again = new CampaignDesk({
      clock: new ManualClock(NOW),
      dialer: { dial: () => Promise.resolve({ kind: 'busy' }) },
      agents,
      journal: new CampaignJournal(first.dir),
      serves: () => true,
      newId: () => `id-${Math.random()}`,
      published: () => {},
      tickEveryMs: 60_000,
      failed: (id) => failures.push(id),
    });
    again.open();
    expect(failures).toEqual(['acme-retention']);
    expect(again.list({ hq: true }).map((p) => p.campaignId)).toEqual(['globex-winback']);
    expect(() => again.create({ hq: true }, acmeCampaign())).toThrow(/exists/);
    again.close();
  });
});
