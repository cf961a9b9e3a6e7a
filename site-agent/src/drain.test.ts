import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DrainSwitch } from './drain.js';

const fileIn = () => join(mkdtempSync(join(tmpdir(), 'ccfed-drain-')), 'drain.json');

describe('DrainSwitch', () => {
  it('starts undrained, keeps the first drain time across repeated drains, and persists', () => {
    const file = fileIn();
    const drain = new DrainSwitch(file);
    expect(drain.current).toEqual({ drained: false, reason: '', sinceMs: 0 });
    drain.set(true, 'switch maintenance', 1000);
    drain.set(true, 'still on it', 5000);
    expect(drain.current).toEqual({ drained: true, reason: 'still on it', sinceMs: 1000 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(drain.current);
    expect(new DrainSwitch(file).current).toEqual(drain.current);
  });

  it('refuses a corrupt state file with a message that says what the file is for', () => {
    const file = fileIn();
    writeFileSync(file, '{"drained": "yes"');
    expect(() => new DrainSwitch(file)).toThrow(/not JSON; fix or delete it .*drained/);
    writeFileSync(file, '{"drained": "yes"}');
    expect(() => new DrainSwitch(file)).toThrow(/expected \{"drained": boolean/);
  });

  it('refuses an over-long reason without changing the state', () => {
    const drain = new DrainSwitch(fileIn());
    expect(() => drain.set(true, 'x'.repeat(201), 1)).toThrow(/at most 200/);
    expect(drain.current.drained).toBe(false);
  });
});
