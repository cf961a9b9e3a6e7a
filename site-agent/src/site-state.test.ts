import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@ccfed/common';
import { describe, expect, it } from 'vitest';
import { SALES, setup } from './call-flow-test-support.js';
import { SiteStateStore, type SiteState } from './site-state.js';

const storeIn = () =>
  new SiteStateStore({
    file: join(mkdtempSync(join(tmpdir(), 'ccfed-site-state-')), 'site-state.json'),
    now: () => 1_000,
    log: silentLogger(),
  });

describe('SiteStateStore', () => {
  it('has nothing on a first start, then gives back what was saved, readable by its owner only', async () => {
    const store = storeIn();
    expect(store.load()).toBeUndefined();
    const site = setup();
    site.staff('bj-001', 6001);
    site.invite('c1', SALES);
    site.invite('c2', SALES);
    store.save(site.state);
    await Promise.resolve();
    const loaded = store.load()!;
    expect(loaded).toMatchObject(site.state());
    expect(loaded.calls.map((c) => c.state.callId)).toEqual(['c1', 'c2']);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
  });

  it('writes the last of the saves of one turn, and nothing once frozen', async () => {
    const store = storeIn();
    let n = 0;
    const state = (): SiteState => ({ acd: { agents: [], calls: [] }, roster: [], calls: [] });
    const counted = () => ((n += 1), state());
    store.save(counted);
    store.save(counted);
    store.save(counted);
    await Promise.resolve();
    expect(n).toBe(1);
    store.freeze();
    store.save(counted);
    await Promise.resolve();
    expect(n).toBe(1);
  });

  it('spends at most a tenth of the time saving: after a save of 10 ms the next waits 90 ms, and a stop writes it at once', async () => {
    let ms = 0;
    const file = join(mkdtempSync(join(tmpdir(), 'ccfed-site-state-')), 'site-state.json');
    // every reading of the clock 10 ms on: a save takes 10 ms
    const store = new SiteStateStore({
      file,
      now: () => 0,
      log: silentLogger(),
      elapsed: () => (ms += 10),
    });
    const empty = { acd: { agents: [], calls: [] }, roster: [], calls: [] };
    store.save(() => empty);
    await Promise.resolve();
    const second = { ...empty, roster: [{ agentId: 'bj-001', sinceMs: 5, contactUri: 'sip:x@y' }] };
    store.save(() => second);
    await Promise.resolve();
    expect(store.load()!.roster).toEqual([]);
    store.freeze();
    expect(store.load()!.roster).toEqual(second.roster);
  });

  it('refuses a file it cannot read, naming it', () => {
    const store = storeIn();
    const file = store.file;
    writeFileSync(file, '{"version": 1');
    expect(() => store.load()).toThrow(/site-state.json: not the site agent's state/);
    writeFileSync(file, JSON.stringify({ version: 2, savedAtMs: 1 }));
    expect(() => store.load()).toThrow(/not a site state of version 1 \(version/);
    expect(readFileSync(file, 'utf8')).toContain('"version":2');
  });
});
