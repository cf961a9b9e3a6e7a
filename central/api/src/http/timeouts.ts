// How long the API process waits for a client, on every path. A request must arrive whole (its
// headers, then its body) within its deadlines, so a client that sends a body a byte at a time
// (slowloris) is answered 408 and cut off instead of holding a socket forever. The live stream is
// the one answer that stays open, and it is not cut: these deadlines cover receiving a request,
// and its GET is whole as soon as its headers are; it writes a comment every 15 s, so the idle
// deadline never passes while its client reads.
import type { Server, ServerOptions } from 'node:http';

export interface HttpTimeouts {
  /** From the connection (or the end of the last request) to the end of the headers. */
  readonly headersMs: number;
  /** From the start of a request to the end of its body. */
  readonly requestMs: number;
  /** How long a kept-alive connection may sit idle between requests. */
  readonly keepAliveMs: number;
  /** How long a socket may see no traffic at all (a client that stopped reading an answer). */
  readonly idleMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  keepAliveMs: 5_000,
  idleMs: 120_000,
};

/**
 * Options for createServer: Node checks the header and request deadlines every
 * connectionsCheckingInterval (30 s by default, which would let a slow body live twice its
 * deadline); once a second keeps the overshoot small.
 */
export const SERVER_OPTIONS: ServerOptions = { connectionsCheckingInterval: 1_000 };

/** Applies `t` to `server`; throws when they cannot work together. */
export function applyTimeouts(server: Server, t: HttpTimeouts): void {
  if (!(t.headersMs > 0 && t.requestMs > 0 && t.keepAliveMs > 0 && t.idleMs > 0))
    throw new RangeError('every HTTP timeout must be > 0');
  if (t.headersMs > t.requestMs)
    throw new RangeError('the headers timeout must not exceed the request timeout');
  server.headersTimeout = t.headersMs;
  server.requestTimeout = t.requestMs;
  server.keepAliveTimeout = t.keepAliveMs;
  server.timeout = t.idleMs;
}
