// A playback ticket: what lets a browser's <audio> element (which cannot send an Authorization
// header) fetch one recording for a while. It is issued to a bearer who may hear that recording
// (POST /api/v1/recordings/playback), names it and the bearer's role, and expires; the audio route
// checks the scope again on every request. Its MAC key is derived from the API secret for this
// use only, so a ticket is never a bearer token and a bearer token is never a ticket. It travels
// in the URL, which the API never logs (only paths), and every answer says Referrer-Policy:
// no-referrer.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Claims } from '../auth/token.js';

const ticketSchema = z.discriminatedUnion('role', [
  z.object({
    rec: z.string().min(1),
    sub: z.string().min(1),
    role: z.literal('hq'),
    exp: z.number().int(),
  }),
  z.object({
    rec: z.string().min(1),
    sub: z.string().min(1),
    role: z.literal('site'),
    siteId: z.string().min(1),
    exp: z.number().int(),
  }),
  z.object({
    rec: z.string().min(1),
    sub: z.string().min(1),
    role: z.literal('tenant'),
    tenantId: z.string().min(1),
    exp: z.number().int(),
  }),
]);

/** A verified ticket: the recording it opens and its bearer's claims. */
export interface Ticket {
  readonly recordingId: string;
  readonly claims: Claims;
}

export class TicketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TicketError';
  }
}

function ticketKey(secret: string): Buffer {
  return createHmac('sha256', secret).update('ccfed recording playback ticket v1').digest();
}

/** A ticket for `claims`' bearer to play `recordingId` until `expiresMs`. */
export function issueTicket(
  claims: Claims,
  recordingId: string,
  opts: { readonly secret: string; readonly expiresMs: number },
): string {
  const { exp: _exp, ...who } = claims;
  const body = Buffer.from(
    JSON.stringify({ ...who, rec: recordingId, exp: Math.floor(opts.expiresMs / 1000) }),
  ).toString('base64url');
  const mac = createHmac('sha256', ticketKey(opts.secret)).update(body).digest('base64url');
  return `${body}.${mac}`;
}

/** The ticket's recording and claims; throws TicketError when forged, altered or expired. */
export function verifyTicket(
  ticket: string,
  opts: { readonly secret: string; readonly now: number },
): Ticket {
  const m = /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
  if (!m) throw new TicketError('ticket is not body.mac');
  const given = Buffer.from(m[2]!, 'base64url');
  const expected = createHmac('sha256', ticketKey(opts.secret)).update(m[1]!).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new TicketError('ticket MAC does not match');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8'));
  } catch {
    throw new TicketError('ticket body is not JSON');
  }
  const parsed = ticketSchema.safeParse(json);
  if (!parsed.success) throw new TicketError('ticket claims are malformed');
  if (parsed.data.exp * 1000 <= opts.now) throw new TicketError('ticket expired');
  const { rec, ...claims } = parsed.data;
  return { recordingId: rec, claims };
}
