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

/** RTP ports a test or benchmark site's rtpengine gets: 200 calls at once. */
export const TEST_RTP_PORTS = 800;

/**
 * Gives every site of a topology document (parsed YAML, before validation) free loopback ports
 * for its SIP (and SIP over TLS, when it has one), evapi and gRPC listeners, and its rtpengine's
 * control ports, DTMF listener and RTP range, so that a test or benchmark never collides with
 * another or with a local federation on the same machine.
 */
export async function assignFreePorts(
  doc: {
    readonly sites: readonly {
      sip: { port: number; tlsPort?: number; wsPort?: number; wssPort?: number };
      evapi: { port: number };
      grpc: { port: number };
      media?: Record<string, unknown>;
    }[];
  },
  rtpPorts = TEST_RTP_PORTS,
): Promise<void> {
  for (const site of doc.sites) {
    site.sip.port = await freePort();
    if (site.sip.tlsPort !== undefined) site.sip.tlsPort = await freePort();
    if (site.sip.wsPort !== undefined) site.sip.wsPort = await freePort();
    if (site.sip.wssPort !== undefined) site.sip.wssPort = await freePort();
    site.evapi.port = await freePort();
    site.grpc.port = await freePort();
    site.media = {
      ...site.media,
      ngPort: await freePort(),
      ngHttpPort: await freePort(),
      dtmfPort: await freePort(),
      rtpPorts: await freeRtpPortRange(rtpPorts),
    };
  }
}

const handedOutRanges: { min: number; max: number }[] = [];

// Below Linux's ephemeral range (32768-60999), so ports the kernel hands to other sockets never
// land inside a running rtpengine's range.
const RTP_RANGE_FLOOR = 16384;
const RTP_RANGE_CEILING = 32767;

/**
 * A block of `size` UDP ports, starting even, none bound right now and none overlapping a block
 * handed out before by this process (tests start several rtpengines side by side).
 */
export async function freeRtpPortRange(
  size: number,
  host = LOOPBACK,
): Promise<{ min: number; max: number }> {
  const blocks = Math.floor((RTP_RANGE_CEILING - RTP_RANGE_FLOOR) / size);
  for (let attempt = 0; attempt < 30; attempt++) {
    const min = RTP_RANGE_FLOOR + Math.floor(Math.random() * blocks) * size;
    const range = { min, max: min + size - 1 };
    if (handedOutRanges.some((r) => r.min <= range.max && range.min <= r.max)) continue;
    // Held before probing: two launches at once must not both probe, and take, the same block.
    handedOutRanges.push(range);
    let free = true;
    for (let port = range.min; port <= range.max && free; port += 2) {
      free = await udpPortFree(port, host);
    }
    if (free) return range;
    handedOutRanges.splice(handedOutRanges.indexOf(range), 1);
  }
  throw new Error(`no free block of ${size} RTP ports on ${host} after 30 attempts`);
}
