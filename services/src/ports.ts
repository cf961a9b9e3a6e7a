import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from './process-alive.js';

export const LOOPBACK = '127.0.0.1';

/** Resolves true when nothing listens on host:port over TCP. */
export function tcpPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * True when any TCP socket of this network namespace has `port` as its local port, in any state:
 * a connection in TIME_WAIT too. tcpPortFree cannot see those (Node listens with SO_REUSEADDR),
 * but an engine that binds without it (baresip's ctrl_tcp) fails with "Address already in use"
 * for a minute after a connection to an earlier listener on that port closed (seen in CI).
 */
export function tcpPortHeld(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local?.endsWith(hex)) return true;
    }
  }
  return false;
}

/** Resolves true when nothing is bound to host:port over UDP. */
export function udpPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => resolve(false));
    sock.bind({ port, address: host, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}

// Service ports come from below both the RTP ranges (16384 up) and Linux's ephemeral range
// (32768-60999). A port the kernel picked (listen on port 0) is an ephemeral one: between the
// probe and the engine's bind, any process's outgoing socket could be given it (CI saw an
// rtpengine's ng port taken that way). Nothing is handed ports from this range unasked.
const SERVICE_FLOOR = 10000;
const SERVICE_CEILING = 16383;

// Processes that pick ports side by side (two benchmarks, a test and the service it spawns) each
// probe before they bind, seconds later: a probe cannot see another's pick. A pick is claimed
// with a file named by the port, created exclusively, holding the claimer's pid; a claim whose
// process is gone is stale and may be taken.
const CLAIMS = join(tmpdir(), 'ccfed-port-claims');
mkdirSync(CLAIMS, { recursive: true });

function claim(port: number): boolean {
  const file = join(CLAIMS, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const owner = Number(readFileSync(file, 'utf8'));
  if (owner === process.pid || (owner > 0 && processAlive(owner))) return false;
  try {
    unlinkSync(file);
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false; // someone else took the stale claim first
  }
}

/**
 * The first of `count` consecutive service ports, each free for both TCP and UDP right now and
 * claimed (see claim); `what` names them in the error when 200 tries find none.
 */
async function freeRun(count: number, host: string, what: string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first =
      SERVICE_FLOOR + Math.floor(Math.random() * (SERVICE_CEILING - SERVICE_FLOOR + 2 - count));
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if (!ports.every(claim)) continue;
    let free = true;
    for (const port of ports) {
      free =
        !tcpPortHeld(port) && (await tcpPortFree(port, host)) && (await udpPortFree(port, host));
      if (!free) break;
    }
    if (free) return first;
  }
  throw new Error(`could not find ${what} on ${host} after 200 attempts`);
}

/**
 * A loopback port outside the kernel's ephemeral range that is free for both TCP and UDP right
 * now and not claimed by any live process (this one included), so that engines started side by
 * side, by one process or several, never get the same one.
 */
export function freePort(host = LOOPBACK): Promise<number> {
  return freeRun(1, host, 'a free port');
}

/**
 * Two consecutive loopback ports, each as freePort gives one (free for TCP and UDP, claimed), for
 * an engine that binds port + 1 by itself (baresip's SIP over TLS). Claiming only the first let a
 * second engine started side by side be handed the other as its own port.
 */
export function freePortPair(host = LOOPBACK): Promise<number> {
  return freeRun(2, host, 'two free consecutive ports');
}

/**
 * A media port for sipp's `-mp`: sipp binds it and the port two above (audio and video), so all
 * three from the first are claimed. Claiming only the first let an engine started beside a sipp
 * be handed the video port sipp then took ("Address already in use").
 */
export function freeSippMediaPort(host = LOOPBACK): Promise<number> {
  return freeRun(3, host, 'three free consecutive ports for sipp media');
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
