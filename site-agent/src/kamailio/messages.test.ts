import { describe, expect, it } from 'vitest';
import { parseKamailioEvent } from './messages.js';

const invite = {
  event: 'invite',
  tindex: 3,
  tlabel: 30,
  callid: 'c1@x',
  cseq: 1,
  fromUser: '8613800000001',
  ruriUser: '400100200',
  tsS: 1,
  tsU: 2,
};

describe('Kamailio events', () => {
  it('reads an invite with who sent it; an older Kamailio’s event counts as untrusted', () => {
    expect(
      parseKamailioEvent(JSON.stringify({ ...invite, trust: 'peer', peer: 'beijing' })),
    ).toMatchObject({
      ok: true,
      event: { event: 'invite', trust: 'peer', peer: 'beijing', cc: {} },
    });
    expect(parseKamailioEvent(JSON.stringify(invite))).toMatchObject({
      ok: true,
      event: { trust: 'none', peer: '' },
    });
  });

  it('turns an invite it cannot read, whose transaction it knows, into one to refuse at once', () => {
    const parsed = parseKamailioEvent(JSON.stringify({ ...invite, fromUser: '9'.repeat(300) }));
    expect(parsed).toEqual({
      ok: true,
      event: {
        event: 'invite_unusable',
        tindex: 3,
        tlabel: 30,
        reason: expect.stringContaining('fromUser'),
      },
    });
  });

  it('gives up on an event without a transaction, or not JSON', () => {
    expect(parseKamailioEvent(JSON.stringify({ ...invite, tindex: 'x', callid: '' })).ok).toBe(
      false,
    );
    expect(parseKamailioEvent('{"event":"invite"').ok).toBe(false);
    expect(parseKamailioEvent(JSON.stringify({ event: 'nonsense' })).ok).toBe(false);
  });
});
