// A WAN on one machine: each region (a site, or the central services) in its own Linux network
// namespace, joined by a veth pair to a bridge that lives in a namespace of its own ('wan'), with
// netem delay on every link, and the means to cut a region off and heal it.
//
// Everything is made inside namespaces this module creates: the root namespace gets no interface,
// address or route. Every namespace is named <PREFIX><pid>-<region>, so that a run's leftovers
// (a test process killed before its afterAll) are swept at the next start, and only those of
// processes that are gone.
//
// A cut is a drop, not a reset: the region's link is taken down at its far end, in the WAN
// namespace, as when a site's uplink fails beyond its router. The region keeps its address and
// route (its own end merely loses carrier), and every region's neighbours are pinned (permanent
// ARP entries), so no one is told: frames to and from the region vanish, a TCP peer retransmits
// until its own timers give up, a connect times out instead of being refused. Taking the region's
// own end down instead would remove its route (ENETUNREACH at once), and a missing route elsewhere
// would send ICMP errors back: both are resets in effect. (A bridge running without STP does not
// keep a port disabled, and this kernel has no netem to drop with.)
//
// Delay is netem's (`delay` on both ends of every link, half each way) where the kernel has
// sch_netem; where it has not (this workplace's VM kernel lacks it), the WAN has no added delay and
// says so (`delayMs` undefined), and the tests that measure it skip, saying why.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  boundInNetns,
  processAlive,
  startEngine,
  tcpPortInUse,
  type EngineHandle,
} from '@ccfed/services';
import { siteById, type Topology } from '@ccfed/topology';

const exec = promisify(execFile);

const PREFIX = 'ccfw';
/** The WAN's addresses: only ever inside this module's namespaces. */
const SUBNET = '10.77.0';
const CENTRAL_HOST = 1;
const FIRST_SITE_HOST = 11;

export interface WanOptions {
  /** The sites, each a region of its own; the central services are region 'central'. */
  readonly sites: readonly string[];
  /** One-way delay between any two regions, in ms (half on each region's link), with netem. */
  readonly delayMs?: number;
}

/** A place on the WAN: a region's namespace, or the root namespace (undefined) where tests run. */
export interface Endpoint {
  readonly netns: string | undefined;
  readonly host: string;
  readonly port: number;
}

export interface Wan {
  /** The namespace of a region ('central' or a site id). */
  netns(region: string): string;
  /** The region's address on the WAN (10.77.0.x). */
  address(region: string): string;
  /** One-way delay between regions; undefined when the kernel has no netem to make it. */
  readonly delayMs: number | undefined;
  /** Drops everything to and from the region, both ways, without telling either side. */
  cut(region: string): Promise<void>;
  heal(region: string): Promise<void>;
  /**
   * Forwards TCP connections made to `from` to `to` (socat, supervised; stopped by teardown).
   * Across namespaces the two halves meet on a unix socket, which no namespace confines.
   */
  relay(name: string, from: Endpoint, to: Endpoint): Promise<void>;
  /** Stops the relays and removes every namespace (and so every interface) of this WAN. */
  teardown(): Promise<void>;
}

const nsName = (pid: number, region: string) => `${PREFIX}${pid}-${region}`;

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await exec('ip', args);
  return stdout;
}

async function tc(...args: string[]): Promise<void> {
  await exec('tc', args);
}

/** This module's namespaces now present, with the pid of the process that made each. */
export function wanNamespaces(): { name: string; pid: number }[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .map((name) => ({ name, m: new RegExp(`^${PREFIX}(\\d+)-`).exec(name) }))
    .filter((x) => x.m !== null)
    .map((x) => ({ name: x.name, pid: Number(x.m![1]) }));
}

/** Removes the namespaces left by runs whose process is gone. */
export function sweepLeftovers(): string[] {
  const gone = wanNamespaces().filter((n) => !processAlive(n.pid));
  for (const n of gone) execFileSync('ip', ['netns', 'delete', n.name]);
  return gone.map((n) => n.name);
}

/** Whether this process may make namespaces (root): the netns tests skip, saying so, otherwise. */
export const canMakeNamespaces = process.getuid?.() === 0;

/** Builds the WAN: a namespace per region and the bridge, links up, delays on. */
export async function startWan(opts: WanOptions): Promise<Wan> {
  sweepLeftovers();
  const wantedDelayMs = opts.delayMs ?? 30;
  const half = `${wantedDelayMs / 2}ms`;
  let netemAvailable = true;
  const regions = ['central', ...opts.sites];
  const hostOf = new Map(
    regions.map((r, i) => [r, i === 0 ? CENTRAL_HOST : FIRST_SITE_HOST + i - 1]),
  );
  const wanNs = nsName(process.pid, 'wan');
  const netns = (region: string) => {
    if (!hostOf.has(region))
      throw new Error(`no region ${region} on this WAN (${regions.join(', ')})`);
    return nsName(process.pid, region);
  };
  const address = (region: string) => `${SUBNET}.${hostOf.get(region) ?? netns(region)}`;
  const made: string[] = [];
  const relays: EngineHandle[] = [];
  const relayDir = join(tmpdir(), `${PREFIX}${process.pid}`);

  // Removal must happen even when the test process dies without its afterAll.
  const removeAllSync = () => {
    for (const name of made.splice(0).reverse()) {
      try {
        execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    rmSync(relayDir, { recursive: true, force: true });
  };
  process.once('exit', removeAllSync);

  const link = (region: string) => `r${hostOf.get(region)}`;
  const delay = async (ns: string, dev: string) => {
    if (!netemAvailable) return;
    try {
      await tc('-n', ns, 'qdisc', 'replace', 'dev', dev, 'root', 'netem', 'delay', half);
    } catch (err) {
      if (!String((err as { stderr?: string }).stderr).includes('qdisc kind is unknown')) throw err;
      netemAvailable = false;
    }
  };
  const linkState = async (region: string, state: 'up' | 'down') => {
    await ip('-n', wanNs, 'link', 'set', link(region), state);
  };

  try {
    await ip('netns', 'add', wanNs);
    made.push(wanNs);
    await ip('-n', wanNs, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', wanNs, 'link', 'set', 'br0', 'up');
    const macs = new Map<string, string>();
    for (const region of regions) {
      const ns = netns(region);
      await ip('netns', 'add', ns);
      made.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      // Both ends are made inside namespaces: the root namespace never holds either.
      await ip(
        '-n',
        wanNs,
        'link',
        'add',
        link(region),
        'type',
        'veth',
        'peer',
        'name',
        'wan0',
        'netns',
        ns,
      );
      await ip('-n', wanNs, 'link', 'set', link(region), 'master', 'br0', 'up');
      await ip('-n', ns, 'addr', 'add', `${address(region)}/24`, 'dev', 'wan0');
      await ip('-n', ns, 'link', 'set', 'wan0', 'up');
      const [info] = JSON.parse(await ip('-n', ns, '-j', 'link', 'show', 'wan0')) as {
        address: string;
      }[];
      macs.set(region, info!.address);
      await delay(wanNs, link(region));
      await delay(ns, 'wan0');
    }
    for (const region of regions) {
      for (const other of regions) {
        if (other === region) continue;
        await ip(
          '-n',
          netns(region),
          'neigh',
          'replace',
          address(other),
          'lladdr',
          macs.get(other)!,
          'dev',
          'wan0',
          'nud',
          'permanent',
        );
      }
    }
    mkdirSync(relayDir, { recursive: true });
  } catch (err) {
    removeAllSync();
    throw err;
  }

  const listening = (e: Endpoint) =>
    e.netns === undefined ? tcpPortInUse(e.port, e.host) : boundInNetns(e.netns, e.port, 'tcp');

  const socat = async (
    name: string,
    netnsOf: string | undefined,
    args: string[],
    ready: () => Promise<boolean>,
  ) => {
    const handle = await startEngine({
      name: `relay ${name}`,
      command: 'socat',
      args,
      ...(netnsOf === undefined ? {} : { netns: netnsOf }),
      logFile: join(relayDir, `${name}.log`),
      pidFile: join(relayDir, `${name}.pid`),
      ports: [],
      ready,
      readyTimeoutMs: 10_000,
      stopTimeoutMs: 2_000,
    });
    relays.push(handle);
  };

  return {
    netns,
    address,
    delayMs: netemAvailable ? wantedDelayMs : undefined,
    cut: (region) => linkState(region, 'down'),
    heal: (region) => linkState(region, 'up'),
    relay: async (name, from, to) => {
      const listen = `TCP-LISTEN:${from.port},bind=${from.host},fork,reuseaddr`;
      if (from.netns === to.netns) {
        await socat(name, from.netns, [listen, `TCP:${to.host}:${to.port}`], () => listening(from));
        return;
      }
      const sock = join(relayDir, `${name}.sock`);
      await socat(
        `${name}-to`,
        to.netns,
        [`UNIX-LISTEN:${sock},fork,unlink-early`, `TCP:${to.host}:${to.port}`],
        async () => existsSync(sock) && statSync(sock).isSocket(),
      );
      await socat(`${name}-from`, from.netns, [listen, `UNIX-CONNECT:${sock}`], () =>
        listening(from),
      );
    },
    teardown: async () => {
      process.removeListener('exit', removeAllSync);
      for (const r of relays.splice(0).reverse()) await r.stop();
      removeAllSync();
    },
  };
}

/** A port of a central service (Kafka, the router) on this process's loopback, by name. */
export interface CentralPort {
  readonly name: string;
  readonly port: number;
}

/**
 * Wires a federation of sites, each in its region's namespace, across the WAN, keeping every
 * address in the topology as it is (each process still uses its own loopback):
 * - a central service's port on this namespace's loopback (the suite's Kafka, the router) is
 *   offered at the central region's WAN address, and at the same port on each site's loopback
 *   through that site's link: a site reaches central only across the WAN;
 * - each site's SIP-over-TLS port is offered at its WAN address, and at the same port on every
 *   other site's loopback through both sites' links: overflow crosses the WAN;
 * - each site agent's gRPC port is offered on this namespace's loopback, for the test's own
 *   control of its agents (an operator's way in, not part of the WAN under test).
 */
export async function wireFederation(
  wan: Wan,
  o: {
    readonly topology: Topology;
    readonly siteIds: readonly string[];
    readonly centralPorts: readonly CentralPort[];
  },
): Promise<void> {
  const loopback = (netns: string | undefined, port: number): Endpoint => ({
    netns,
    host: '127.0.0.1',
    port,
  });
  const onWan = (region: string, port: number): Endpoint => ({
    netns: wan.netns(region),
    host: wan.address(region),
    port,
  });
  for (const { name, port } of o.centralPorts) {
    await wan.relay(`central-${name}`, onWan('central', port), loopback(undefined, port));
    for (const siteId of o.siteIds) {
      await wan.relay(`${siteId}-${name}`, loopback(wan.netns(siteId), port), {
        ...onWan('central', port),
        netns: wan.netns(siteId),
      });
    }
  }
  for (const siteId of o.siteIds) {
    const site = siteById(o.topology, siteId);
    await wan.relay(
      `${siteId}-grpc`,
      loopback(undefined, site.grpc.port),
      loopback(wan.netns(siteId), site.grpc.port),
    );
    const tls = site.sip.tlsPort;
    if (tls === undefined) continue;
    await wan.relay(`${siteId}-sip-in`, onWan(siteId, tls), loopback(wan.netns(siteId), tls));
    for (const other of o.siteIds.filter((s) => s !== siteId)) {
      await wan.relay(`${other}-sip-to-${siteId}`, loopback(wan.netns(other), tls), {
        ...onWan(siteId, tls),
        netns: wan.netns(other),
      });
    }
  }
}
