import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** Resolves true when nothing listens on host:port over TCP. */
export function tcpPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Resolves true when nothing is bound to host:port over UDP. */
export function udpPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => resolve(false));
    sock.bind({ port, address: host, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

/**
 * A loopback port that is free for both TCP and UDP right now, and not handed out before by this
 * process (so two engines started back to back do not get the same one).
 */
export async function freePort(host = LOOPBACK): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen({ port: 0, host }, () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
      });
    });
    if (port && !handedOut.has(port) && (await udpPortFree(port, host))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`could not find a free port on ${host} after 50 attempts`);
}

/** Resolves true when something is bound to host:port over TCP. */
export async function tcpPortInUse(port: number, host = LOOPBACK): Promise<boolean> {
  return !(await tcpPortFree(port, host));
}

/**
 * Gives every site of a topology document (parsed YAML, before validation) free loopback ports
 * for its SIP (and SIP over TLS, when it has one), evapi and gRPC listeners, so that a test or
 * benchmark never collides with another or with a local federation on the same machine.
 */
export async function assignFreePorts(doc: {
  readonly sites: readonly {
    sip: { port: number; tlsPort?: number };
    evapi: { port: number };
    grpc: { port: number };
  }[];
}): Promise<void> {
  for (const site of doc.sites) {
    site.sip.port = await freePort();
    if (site.sip.tlsPort !== undefined) site.sip.tlsPort = await freePort();
    site.evapi.port = await freePort();
    site.grpc.port = await freePort();
  }
}
