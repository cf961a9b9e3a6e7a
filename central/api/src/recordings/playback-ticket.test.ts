import { describe, expect, it } from 'vitest';
import { issueToken, verifyToken } from '../auth/token.js';
import { issueTicket, TicketError, verifyTicket } from './playback-ticket.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes-0123456789';
const NOW = Date.parse('2026-11-22T10:00:00Z');
const ACME = { sub: 'acme.client', role: 'tenant' as const, tenantId: 'acme-bank', exp: 0 };

describe('playback tickets', () => {
  it('open one recording for its bearer until they expire', () => {
    const t = issueTicket(ACME, 'r1', { secret: SECRET, expiresMs: NOW + 60_000 });
    expect(verifyTicket(t, { secret: SECRET, now: NOW })).toEqual({
      recordingId: 'r1',
      claims: {
        sub: 'acme.client',
        role: 'tenant',
        tenantId: 'acme-bank',
        exp: Math.floor((NOW + 60_000) / 1000),
      },
    });
    expect(() => verifyTicket(t, { secret: SECRET, now: NOW + 60_000 })).toThrow('ticket expired');
  });

  it('refuse an altered or forged ticket', () => {
    const t = issueTicket(ACME, 'r1', { secret: SECRET, expiresMs: NOW + 60_000 });
    const [body, mac] = t.split('.') as [string, string];
    const other = Buffer.from(
      Buffer.from(body, 'base64url').toString().replace('r1', 'r2'),
    ).toString('base64url');
    expect(() => verifyTicket(`${other}.${mac}`, { secret: SECRET, now: NOW })).toThrow(
      TicketError,
    );
    expect(() => verifyTicket(t, { secret: `${SECRET}x`, now: NOW })).toThrow(
      'ticket MAC does not match',
    );
  });

  it('are never bearer tokens, nor bearer tokens tickets', () => {
    const token = issueToken(
      { sub: 'hq', role: 'hq' },
      { secret: SECRET, ttlSeconds: 60, now: NOW },
    );
    expect(() => verifyTicket(token, { secret: SECRET, now: NOW })).toThrow(TicketError);
    const ticket = issueTicket({ sub: 'hq', role: 'hq', exp: 0 }, 'r1', {
      secret: SECRET,
      expiresMs: NOW + 60_000,
    });
    expect(() => verifyToken(ticket, { secret: SECRET, now: NOW })).toThrow();
  });
});
