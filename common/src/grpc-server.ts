// Serving gRPC the same way in every ccfed process: bind with mutual TLS (naming the address when
// that fails), then a close() that lets calls in flight finish for a while and cancels the rest.
// There is no insecure listener: credentials are required, and a server created without
// secureServerOptions cannot tell handlers who is calling (grpc-tls.ts).
import type { ServerCredentials } from '@grpc/grpc-js';
import type { Server } from 'nice-grpc';
import { errorMessage } from './errors.js';
import type { Logger } from 'pino';

export interface ServingGrpc {
  /** The port actually bound (0 asks for a free one). */
  readonly port: number;
  /** Stops taking calls, lets those in flight finish (up to the timeout), then closes. Idempotent. */
  close(): Promise<void>;
}

/** Binds `server` (its services already added) to host:port; rejects, naming the address, when it cannot. */
export async function serveGrpc(
  server: Server,
  opts: {
    readonly host: string;
    readonly port: number;
    readonly log: Logger;
    /** How long close() lets calls in flight finish before cancelling them. Default 5 s. */
    readonly shutdownTimeoutMs?: number;
    /** grpcServerCredentials(tls): mutual TLS with the federation's CA (grpc-tls.ts). */
    readonly credentials: ServerCredentials;
  },
): Promise<ServingGrpc> {
  const { host, log, shutdownTimeoutMs = 5_000 } = opts;
  const address = hostPort(host, opts.port);
  // The type says "credentials", not which: refuse the insecure kind outright rather than serve a
  // port that anyone may call.
  if (!opts.credentials._isSecure())
    throw new Error(
      `gRPC server on ${address} refused insecure credentials: use grpcServerCredentials(tls)`,
    );
  let port: number;
  try {
    port = await server.listen(address, opts.credentials);
  } catch (err) {
    // grpc-js words this "No address added out of total 1 resolved errors: [listen EADDRINUSE…]".
    const detail = errorMessage(err);
    const why = detail.includes('EADDRINUSE') ? 'the address is already in use' : detail;
    throw new Error(`gRPC server cannot listen on ${address}: ${why}`, { cause: err });
  }
  const bound = hostPort(host, port);
  log.info({ event: 'grpc_listening', address: bound }, `gRPC server listening on ${bound}`);

  let closing: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed_out'>((resolve) => {
      timer = setTimeout(() => resolve('timed_out'), shutdownTimeoutMs);
    });
    const graceful = server.shutdown().then(
      () => 'done' as const,
      (err: unknown) => {
        log.warn({ event: 'grpc_shutdown_failed', err }, 'graceful gRPC shutdown failed');
        return 'failed' as const;
      },
    );
    const outcome = await Promise.race([graceful, timedOut]);
    clearTimeout(timer);
    if (outcome !== 'done') {
      // Calls still running past the timeout (or a failed graceful close) must not hold the
      // process's shutdown: cancel them; their clients see CANCELLED.
      log.warn(
        { event: 'grpc_forced_shutdown', address: bound, reason: outcome, shutdownTimeoutMs },
        'cancelling gRPC calls still in flight',
      );
      server.forceShutdown();
    }
    log.info({ event: 'grpc_stopped', address: bound }, 'gRPC server stopped');
  };
  return { port, close: () => (closing ??= stop()) };
}

/** host:port as grpc-js parses it: an IPv6 literal goes in brackets. */
function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
