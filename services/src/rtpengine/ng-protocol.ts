// rtpengine's ng control protocol on the wire: "<cookie> <bencoded dictionary>" in one UDP
// datagram each way, the reply carrying the request's cookie (rtpengine also uses the cookie to
// answer a retransmitted request from its cache instead of running it twice). Pure: no sockets.
import bencode from 'bencode';
import { z } from 'zod';

/** What a bencoded ng dictionary may hold. Booleans are not bencode; flags are lists of strings. */
export type NgValue = string | number | Uint8Array | readonly NgValue[] | NgDict;
export interface NgDict {
  readonly [key: string]: NgValue | undefined;
}

/** A reply as decoded: byte strings become UTF-8 text, as every value rtpengine returns is text. */
export type NgReply = Readonly<Record<string, unknown>>;

/** A malformed datagram, an unexpected reply shape, or rtpengine's `result: error`. */
export class NgProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NgProtocolError';
  }
}

/** rtpengine answered `result: error`; `reason` is its `error-reason`. */
export class NgCommandError extends NgProtocolError {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`rtpengine refused "${command}": ${reason}`);
    this.name = 'NgCommandError';
  }
}

// A cookie is any run of non-space bytes; ours are short and printable so logs stay readable.
const COOKIE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Encodes one request datagram. The command goes into the dictionary as `command`. */
export function encodeNgRequest(cookie: string, command: string, params: NgDict = {}): Buffer {
  if (!COOKIE.test(cookie))
    throw new NgProtocolError(`invalid ng cookie ${JSON.stringify(cookie)}`);
  const dict: Record<string, NgValue> = {};
  for (const [key, value] of Object.entries(params)) {
    // An absent optional field is left out rather than sent as an empty string.
    if (value !== undefined) dict[key] = value;
  }
  dict.command = command;
  return Buffer.concat([Buffer.from(`${cookie} `), Buffer.from(bencode.encode(dict))]);
}

/** Splits one reply datagram into its cookie and decoded dictionary; throws on anything else. */
export function decodeNgReply(datagram: Uint8Array): { cookie: string; reply: NgReply } {
  const buf = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const space = buf.indexOf(0x20);
  if (space <= 0) throw new NgProtocolError('ng reply has no cookie');
  const cookie = buf.subarray(0, space).toString('latin1');
  let reply: unknown;
  try {
    // bencode 4.0.1's own text option breaks on dictionary keys, so byte strings become text here.
    reply = asText(bencode.decode(buf.subarray(space + 1)));
  } catch (err) {
    throw new NgProtocolError(
      `ng reply ${cookie} is not bencode: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) {
    throw new NgProtocolError(`ng reply ${cookie} is not a dictionary`);
  }
  return { cookie, reply: reply as NgReply };
}

function asText(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(asText);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asText(v)]));
  }
  return value;
}

/**
 * Checks a reply's `result` and throws NgCommandError on `error`. `expected` is "ok" except for
 * ping ("pong").
 */
export function checkNgResult(command: string, reply: NgReply, expected = 'ok'): NgReply {
  const result = reply.result;
  if (result === 'error') {
    const reason = typeof reply['error-reason'] === 'string' ? reply['error-reason'] : '';
    throw new NgCommandError(command, reason || '(no reason given)');
  }
  if (result !== expected) {
    throw new NgProtocolError(
      `rtpengine answered "${command}" with result ${JSON.stringify(result)}, not "${expected}"`,
    );
  }
  return reply;
}

// --- DTMF events ---------------------------------------------------------------------------------

const dtmfLogSchema = z.object({
  callid: z.string().min(1),
  source_tag: z.string(),
  tags: z.array(z.string()),
  type: z.literal('DTMF'),
  timestamp: z.number().int().nonnegative(),
  source_ip: z.string(),
  event: z.number().int().min(0).max(255),
  duration: z.number().int().nonnegative(),
  volume: z.number().int().nonnegative(),
});

/** One RFC 4733 digit that rtpengine saw end, as sent to `--dtmf-log-dest`. */
export interface DtmfEvent {
  readonly callId: string;
  /** The SIP tag of the party that pressed the digit (the caller's From tag for a caller). */
  readonly sourceTag: string;
  /** "0"-"9", "*", "#", "A"-"D"; a flash (16) or other event code as its number. */
  readonly digit: string;
  readonly durationMs: number;
  /** Seconds since the epoch, rtpengine's clock. */
  readonly timestampS: number;
  readonly sourceIp: string;
}

const DIGITS = '0123456789*#ABCD';

/**
 * Parses one datagram from rtpengine's `--dtmf-log-dest` (a JSON object per digit, sent when the
 * digit's end packet arrives). Throws NgProtocolError, naming the problem, on anything else.
 */
export function parseDtmfLogEvent(datagram: Uint8Array | string): DtmfEvent {
  const text = typeof datagram === 'string' ? datagram : Buffer.from(datagram).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new NgProtocolError(`DTMF log datagram is not JSON: ${text.slice(0, 80)}`);
  }
  const parsed = dtmfLogSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NgProtocolError(
      `DTMF log datagram is not a DTMF event: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  const e = parsed.data;
  return {
    callId: e.callid,
    sourceTag: e.source_tag,
    digit: e.event < DIGITS.length ? DIGITS[e.event]! : String(e.event),
    durationMs: e.duration,
    timestampS: e.timestamp,
    sourceIp: e.source_ip,
  };
}
