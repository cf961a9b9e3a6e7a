import { describe, expect, it } from 'vitest';
import { inNetns } from './netns.js';

describe('inNetns', () => {
  it('leaves a command as it is without a namespace', () => {
    expect(inNetns(undefined, 'kamailio', ['-f', 'x.cfg'])).toEqual({
      command: 'kamailio',
      args: ['-f', 'x.cfg'],
    });
  });

  it('runs it through ip netns exec, which execs it (same pid, same process group)', () => {
    expect(inNetns('ccfw1-beijing', 'kamailio', ['-DD'])).toEqual({
      command: 'ip',
      args: ['netns', 'exec', 'ccfw1-beijing', 'kamailio', '-DD'],
    });
  });

  it('refuses a name that is not one, before anything runs', () => {
    for (const bad of ['', '-n', '../x', 'a b', 'x;rm'])
      expect(() => inNetns(bad, 'true', [])).toThrow(/not a network namespace name/);
  });
});
