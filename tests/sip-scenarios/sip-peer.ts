import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

/** A SIP message as received: its start line, and its headers in order (names as sent). */
export interface SipMessage {
  readonly raw: string;
  /** Request method and Request-URI, or undefined for a response. */
  readonly method?: string;
  readonly uri?: string;
  /** Response status, or undefined for a request. */
  readonly status?: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly from: { readonly address: string; readonly port: number };
}

/** First value of a header (case-insensitive name). */
export function header(m: SipMessage, name: string): string | undefined {
  return m.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** The CSeq method of a message, e.g. INVITE for a 200 to an INVITE. */
export function cseqMethod(m: SipMessage): string | undefined {
  return header(m, 'CSeq')?.split(/\s+/)[1];
}

/**
 * A scripted SIP hop on loopback UDP for the orderings a real proxy produces only by chance
 * (a CANCEL crossing a 200): the test sends exactly what it wants, in the order it wants, and
 * waits for what the sipp scenario sends back.
 */
export class SipPeer {
  private readonly inbox: SipMessage[] = [];
  private closed = false;
  private readonly waiters: { match: (m: SipMessage) => boolean; take: (m: SipMessage) => void }[] =
    [];

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (buf, rinfo) => {
      const m = parse(buf.toString('utf8'), rinfo);
      if (!m) return;
      const i = this.waiters.findIndex((w) => w.match(m));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.take(m);
      else this.inbox.push(m);
    });
  }

  static async open(): Promise<SipPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new SipPeer(socket, socket.address().port);
  }

  send(text: string, to: { readonly address: string; readonly port: number }): void {
    this.socket.send(text.replace(/\r?\n/g, '\r\n'), to.port, to.address);
  }

  /** The first message (already received or still to come) that `match` accepts. */
  next(what: string, match: (m: SipMessage) => boolean, timeoutMs = 10_000): Promise<SipMessage> {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        match,
        take: (m: SipMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
    });
  }

  request(method: string): Promise<SipMessage> {
    return this.next(method, (m) => m.method === method);
  }

  response(status: number, method: string): Promise<SipMessage> {
    return this.next(
      `${status} for ${method}`,
      (m) => m.status === status && cseqMethod(m) === method,
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

/** A response to `req`, with every Via, From, To (plus `toTag` if it has none), Call-ID and CSeq of it. */
export function responseTo(
  req: SipMessage,
  status: number,
  reason: string,
  opts: { toTag?: string; headers?: readonly string[]; body?: string } = {},
): string {
  const to = header(req, 'To')!;
  const body = opts.body ?? '';
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...req.headers.filter(([n]) => n.toLowerCase() === 'via').map(([n, v]) => `${n}: ${v}`),
    `From: ${header(req, 'From')}`,
    `To: ${opts.toTag && !/;tag=/.test(to) ? `${to};tag=${opts.toTag}` : to}`,
    `Call-ID: ${header(req, 'Call-ID')}`,
    `CSeq: ${header(req, 'CSeq')}`,
    ...(opts.headers ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

export function newTag(): string {
  return randomBytes(4).toString('hex');
}

export const SDP = [
  'v=0',
  'o=peer 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 7000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

function parse(raw: string, rinfo: { address: string; port: number }): SipMessage | undefined {
  const [head = ''] = raw.split('\r\n\r\n');
  const [first = '', ...lines] = head.split('\r\n');
  const headers = lines.flatMap((l): [string, string][] => {
    const i = l.indexOf(':');
    return i > 0 ? [[l.slice(0, i).trim(), l.slice(i + 1).trim()]] : [];
  });
  const res = /^SIP\/2\.0 (\d{3})/.exec(first);
  const req = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(first);
  if (!res && !req) return undefined;
  return {
    raw,
    method: req?.[1],
    uri: req?.[2],
    status: res ? Number(res[1]) : undefined,
    headers,
    from: { address: rinfo.address, port: rinfo.port },
  };
}
