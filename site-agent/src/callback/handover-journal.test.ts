// The handovers' journal on a real directory: what it records survives a new instance (a restart),
// a confirmed handover is forgotten once its time is up, and a file that is not a record stops the
// start, naming it.
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HandoverJournal } from './handover-journal.js';

const T0 = Date.parse('2026-12-07T06:00:00Z');
const fresh = () => join(mkdtempSync(join(tmpdir(), 'ccfed-handover-journal-')), 'j');

describe('the handovers’ journal', () => {
  it('keeps an origin’s commit until acknowledged, across a restart, in a 0600 file without numbers', () => {
    const dir = fresh();
    const j = new HandoverJournal(dir);
    j.commit({ callbackId: 'cb-1', decisionId: 'd-1', targetSiteId: 'guangzhou', atMs: T0 });
    const [file] = readdirSync(dir);
    expect(file).toMatch(/^committed-[0-9a-f]{40}\.json$/);
    expect(statSync(join(dir, file!)).mode & 0o777).toBe(0o600);
    const again = new HandoverJournal(dir);
    expect(again.committed('cb-1')).toMatchObject({ decisionId: 'd-1', targetSiteId: 'guangzhou' });
    expect(again.allCommitted()).toHaveLength(1);
    again.acknowledged('cb-1');
    expect(readdirSync(dir)).toEqual([]);
    expect(new HandoverJournal(dir).committed('cb-1')).toBeUndefined();
  });

  it('remembers a target’s confirmed handover across a restart until its time is up', () => {
    const dir = fresh();
    new HandoverJournal(dir).confirm({
      callbackId: 'cb-1',
      decisionId: 'd-1',
      originSiteId: 'beijing',
      untilMs: T0 + 600_000,
    });
    const j = new HandoverJournal(dir);
    expect(j.confirmed('cb-1', T0 + 600_000)).toMatchObject({ originSiteId: 'beijing' });
    expect(j.confirmed('cb-1', T0 + 600_001)).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('stops the start on a file that is not a record, naming it', () => {
    const dir = fresh();
    new HandoverJournal(dir);
    writeFileSync(join(dir, 'committed-x.json'), '{"kind":"committed","callbackId":"cb-1"}');
    expect(() => new HandoverJournal(dir)).toThrow(
      `${join(dir, 'committed-x.json')}: not a handover record`,
    );
    writeFileSync(join(dir, 'committed-x.json'), 'torn');
    expect(() => new HandoverJournal(dir)).toThrow('not JSON');
  });
});
