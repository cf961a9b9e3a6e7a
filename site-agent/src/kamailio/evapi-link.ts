import { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { KamailioCommand, KamailioEvent } from './messages.js';
import { parseKamailioEvent } from './messages.js';
import { encodeNetstring, NetstringDecoder } from './netstring.js';

export interface EvapiLinkDeps {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly onEvent: (event: KamailioEvent) => void;
  readonly onConnected?: (connected: boolean) => void;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
}

/**
 * The site agent's TCP link to its Kamailio's evapi listener: netstring-framed JSON both ways,
 * re-established with backoff whenever it drops. While it is down Kamailio holds new and pending
 * INVITEs for its restart grace, then answers them itself with the site's fallback, so nothing
 * waits on this link for long; on every connection the call flow asks it for a resync.
 */
export class EvapiLink {
  private socket: Socket | undefined;
  private connected = false;
  private stopped = false;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: EvapiLinkDeps) {
    this.retryMs = deps.reconnectMinMs ?? 100;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Sends a command; false when the link is down (Kamailio then applies its fallback). */
  send(command: KamailioCommand): boolean {
    if (!this.connected || !this.socket) return false;
    this.socket.write(encodeNetstring(JSON.stringify(command)));
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const s = this.socket;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => s.destroy(), 1000).unref();
    });
  }

  private connect(): void {
    const { host, port, log } = this.deps;
    const decoder = new NetstringDecoder();
    const socket = new Socket();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5_000);
    socket.on('connect', () => {
      this.connected = true;
      this.retryMs = this.deps.reconnectMinMs ?? 100;
      log.info({ event: 'evapi_connected', host, port }, 'connected to Kamailio evapi');
      this.deps.onConnected?.(true);
    });
    socket.on('data', (chunk: Buffer) => {
      const { frames, problems } = decoder.push(chunk);
      for (const p of problems)
        log.warn({ event: 'evapi_bad_frame', detail: p.detail }, 'bad frame from Kamailio');
      let answered = false;
      for (const frame of frames) {
        const parsed = parseKamailioEvent(frame);
        if (!parsed.ok) {
          log.warn(
            { event: 'evapi_bad_event', reason: parsed.reason },
            'unusable event from Kamailio',
          );
          continue;
        }
        const before = socket.bytesWritten;
        this.deps.onEvent(parsed.event);
        answered ||= socket.bytesWritten !== before;
      }
      // Kamailio's evapi socket does not disable Nagle: an event we do not answer would hold back
      // its next write until our delayed ACK (~40 ms). A lone newline, which its parser skips,
      // makes the kernel ACK at once.
      if (!answered && !socket.destroyed) socket.write('\n');
    });
    socket.on('error', (err) => {
      if (this.connected) log.warn({ event: 'evapi_error', err: err.message }, 'evapi link error');
    });
    socket.on('close', () => {
      const was = this.connected;
      this.connected = false;
      if (was) {
        log.warn(
          { event: 'evapi_disconnected', host, port },
          'evapi link down; Kamailio holds the calls for its restart grace',
        );
        this.deps.onConnected?.(false);
      }
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, this.deps.reconnectMaxMs ?? 2_000);
    });
    socket.connect(port, host);
  }
}
