import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { SIP_HEADERS } from '@ccfed/proto';
import { signContext } from '@ccfed/site-agent/sip-context-signature';

/** A parsed SIP response: status line and headers (lower-cased names). */
export interface SipResponse {
  readonly status: number;
  readonly reason: string;
  readonly headers: Record<string, string>;
}

export interface SipRequestOptions {
  /** The Request-URI's user (a dialed number). */
  readonly user?: string;
  readonly headers?: Record<string, string>;
  /** How long to collect responses unless a final one comes first. */
  readonly waitMs?: number;
  readonly callId?: string;
  /** The caller: the From URI's user. */
  readonly fromUser?: string;
  /** A To tag: the request claims to belong to an existing dialog. */
  readonly toTag?: string;
  /** Send from this loopback address and port (default 127.0.0.1, any port). */
  readonly localAddress?: string;
  readonly localPort?: number;
  /** The request's raw text instead of the one built here; `{local}` is replaced by its host:port. */
  readonly raw?: string;
}

/**
 * Sends one SIP request over UDP from a loopback port and collects the responses that arrive
 * within `waitMs` (or until a final response). For protocol-level checks; call flows with agents
 * and callers use sipp.
 */
export async function sendSip(
  target: { host: string; port: number },
  method: 'OPTIONS' | 'INVITE' | 'BYE' | 'INFO',
  opts: SipRequestOptions = {},
): Promise<SipResponse[]> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) =>
    sock.bind(opts.localPort ?? 0, opts.localAddress ?? '127.0.0.1', r),
  );
  const local = sock.address();
  const callId = opts.callId ?? `${randomBytes(8).toString('hex')}@test`;
  const msg = opts.raw
    ? opts.raw.replaceAll('{local}', `${local.address}:${local.port}`)
    : sipRequest(target, method, { ...opts, callId, local });
  // A final response to an earlier request from the same port is retransmitted until ACKed:
  // only this request's responses count.
  const ours = /^Call-ID:\s*(.+)$/im.exec(msg)?.[1]?.trim();
  const responses: SipResponse[] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, opts.waitMs ?? 3000);
    sock.on('message', (buf) => {
      const r = parseResponse(buf.toString());
      if (!r || (ours !== undefined && r.headers['call-id'] !== ours)) return;
      responses.push(r);
      if (r.status >= 200) {
        clearTimeout(timer);
        resolve();
      }
    });
    sock.send(msg, target.port, target.host);
  });
  sock.close();
  return responses;
}

/** The text of a SIP request from `local`, as sendSip sends it. */
export function sipRequest(
  target: { host: string; port: number },
  method: string,
  opts: SipRequestOptions & { readonly local: { address: string; port: number } },
): string {
  const { local } = opts;
  const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  const callId = opts.callId ?? `${randomBytes(8).toString('hex')}@test`;
  const user = opts.user ?? '';
  const ruri = `sip:${user ? `${user}@` : ''}${target.host}:${target.port}`;
  const extra = Object.entries(opts.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return (
    `${method} ${ruri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP ${local.address}:${local.port};branch=${branch};rport\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:${opts.fromUser ?? 'tester'}@${local.address}>;tag=${randomBytes(4).toString('hex')}\r\n` +
    `To: <${ruri}>${opts.toTag ? `;tag=${opts.toTag}` : ''}\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 ${method}\r\n` +
    `Contact: <sip:${opts.fromUser ?? 'tester'}@${local.address}:${local.port}>\r\n` +
    extra +
    `Content-Length: 0\r\n\r\n`
  );
}

/**
 * An overflowed call's X-CC-* headers as an origin site sends them: `headers` plus their
 * X-CC-Signature under `key`, made at `signedAtMs` (default now).
 */
export function signedContext(
  key: string,
  call: { readonly callId: string; readonly dialedNumber: string },
  headers: Record<string, string>,
  signedAtMs = Date.now(),
): Record<string, string> {
  return {
    ...headers,
    [SIP_HEADERS.signature]: signContext(Buffer.from(key), { ...call, headers }, signedAtMs),
  };
}

function parseResponse(text: string): SipResponse | undefined {
  const [first, ...lines] = text.split('\r\n');
  const m = /^SIP\/2\.0 (\d{3}) (.*)$/.exec(first ?? '');
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(m[1]), reason: m[2]!, headers };
}
