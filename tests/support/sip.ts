import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
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
  /**
   * The SDP body; an INVITE gets an offer by default (a site refuses INVITEs without one, as it
   * anchors their media), '' for none.
   */
  readonly sdp?: string;
}

/** An audio offer from `host` that no RTP ever comes from: for signalling-only tests. */
export function silentOffer(host = '127.0.0.1', port = 9): string {
  return [
    'v=0',
    `o=tester 1 1 IN IP4 ${host}`,
    's=-',
    `c=IN IP4 ${host}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');
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
  // A port another socket holds fails the bind with an 'error' event and no callback: say so
  // rather than wait for ever.
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => {
      sock.close();
      reject(
        new Error(`sendSip: cannot send from ${opts.localPort ?? 'a free port'}: ${err.message}`),
      );
    };
    sock.once('error', failed);
    sock.bind(opts.localPort ?? 0, opts.localAddress ?? '127.0.0.1', () => {
      sock.off('error', failed);
      resolve();
    });
  });
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
  const body = opts.sdp ?? (method === 'INVITE' ? silentOffer(local.address) : '');
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
    (body ? 'Content-Type: application/sdp\r\n' : '') +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
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

/**
 * Sends one SIP request over TLS as the holder of `tls` (PEM files) and collects the responses
 * until a final one or `waitMs`. Rejects when the TLS handshake fails.
 */
export async function sendSipTls(
  target: { host: string; port: number },
  method: 'INVITE' | 'OPTIONS',
  opts: SipRequestOptions & { readonly tls: { ca: string; cert?: string; key?: string } },
): Promise<SipResponse[]> {
  const socket = tlsConnect({
    host: target.host,
    port: target.port,
    ca: readFileSync(opts.tls.ca),
    ...(opts.tls.cert ? { cert: readFileSync(opts.tls.cert) } : {}),
    ...(opts.tls.key ? { key: readFileSync(opts.tls.key) } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const callId = opts.callId ?? `${randomBytes(8).toString('hex')}@test`;
  const local = { address: socket.localAddress ?? '127.0.0.1', port: socket.localPort ?? 0 };
  const msg = sipRequest(target, method, { ...opts, callId, local }).replace(
    'SIP/2.0/UDP',
    'SIP/2.0/TLS',
  );
  const responses: SipResponse[] = [];
  let buffered = '';
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, opts.waitMs ?? 3000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      // A stream carries whole messages one after another: each ends after its headers and body.
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/^Content-Length:\s*(\d+)/im.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const r = parseResponse(buffered.slice(0, end + 4));
        buffered = buffered.slice(end + 4 + length);
        if (r && r.headers['call-id'] === callId) {
          responses.push(r);
          if (r.status >= 200) return done();
        }
      }
    });
    socket.once('close', done);
    socket.write(msg);
  });
  socket.destroy();
  return responses;
}
