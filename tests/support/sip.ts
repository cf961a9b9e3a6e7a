import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

/** A parsed SIP response: status line and headers (lower-cased names). */
export interface SipResponse {
  readonly status: number;
  readonly reason: string;
  readonly headers: Record<string, string>;
}

/**
 * Sends one SIP request over UDP from an ephemeral loopback port and collects the responses that
 * arrive within `waitMs` (or until a final response). For protocol-level checks; call flows with
 * agents and callers use sipp.
 */
export async function sendSip(
  target: { host: string; port: number },
  method: 'OPTIONS' | 'INVITE',
  opts: { user?: string; headers?: Record<string, string>; waitMs?: number } = {},
): Promise<SipResponse[]> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const local = sock.address();
  const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  const callId = `${randomBytes(8).toString('hex')}@test`;
  const user = opts.user ?? '';
  const ruri = `sip:${user ? `${user}@` : ''}${target.host}:${target.port}`;
  const extra = Object.entries(opts.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const msg =
    `${method} ${ruri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${local.port};branch=${branch};rport\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:tester@127.0.0.1>;tag=${randomBytes(4).toString('hex')}\r\n` +
    `To: <${ruri}>\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 ${method}\r\n` +
    `Contact: <sip:tester@127.0.0.1:${local.port}>\r\n` +
    extra +
    `Content-Length: 0\r\n\r\n`;
  const responses: SipResponse[] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, opts.waitMs ?? 3000);
    sock.on('message', (buf) => {
      const r = parseResponse(buf.toString());
      if (!r) return;
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
