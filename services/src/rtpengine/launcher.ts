import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mediaHostOf, siteById, type Topology } from '@ccfed/topology';
import { boundInNetns } from '../netns.js';
import { freePort, freeRtpPortRange, LOOPBACK } from '../ports.js';
import { EngineError, startEngine, type EngineHandle } from '../supervise.js';
import { NgClient } from './ng-client.js';

export const RTPENGINE_BIN = '/usr/bin/rtpengine';

export interface RtpengineOptions {
  /** Logs, pid file and (by default) the recording spool live here. */
  readonly dataDir: string;
  /** For messages: "rtpengine shanghai". */
  readonly name?: string;
  /**
   * The address rtpengine binds its RTP ports on and writes into SDP. Its ng control port is on
   * loopback whatever this says: the ng protocol has no authentication, and whoever reaches it
   * can tap, redirect or end any call.
   */
  readonly host?: string;
  /** The ng control port (UDP); a free one when not given. */
  readonly ngPort?: number;
  /**
   * When given, rtpengine also takes ng commands over HTTP (POST /ng, loopback only): what
   * Kamailio's http_client can reach from a request route, where its rtpengine module cannot
   * send an answer (see docs/media.md).
   */
  readonly ngHttpPort?: number;
  /** The RTP/RTCP port range; a free block of `DEFAULT_RTP_PORTS` when not given. */
  readonly rtpPorts?: { readonly min: number; readonly max: number };
  /** Where rtpengine sends a JSON datagram per DTMF digit it sees end (the site agent listens). */
  readonly dtmfLogDest?: { readonly host: string; readonly port: number };
  /**
   * Seconds without any RTP from a call before rtpengine drops it. Its default of 60 s would drop
   * a queued caller whose phone sends nothing during early media; it must outlast the longest
   * queue wait (Kamailio's max_inv_lifetime is 300 s).
   */
  readonly noMediaTimeoutS?: number;
  /** The pcap spool (`pcaps/`, `metadata/`, `tmp/` beneath it). */
  readonly recordingDir?: string;
  /** Worker threads; rtpengine's default is at least four, more than a 2-core site needs. */
  readonly threads?: number;
  /**
   * Runs rtpengine inside this network namespace (tests/netns). Its ng port is then that
   * namespace's loopback: `client` (on this process's) does not reach it, and readiness is the
   * ng port being bound there.
   */
  readonly netns?: string;
}

export interface RtpengineInstance {
  readonly name: string;
  readonly ng: { readonly host: string; readonly port: number };
  /** What Kamailio's rtpengine module takes as rtpengine_sock. */
  readonly ngUrl: string;
  /** POST /ng here when started with ngHttpPort. */
  readonly ngHttpUrl: string | undefined;
  readonly rtpPorts: { readonly min: number; readonly max: number };
  readonly recordingDir: string;
  readonly handle: EngineHandle;
  /** A client on the ng port, open for the instance's life. */
  readonly client: NgClient;
  stop(): Promise<void>;
}

/** RTP and RTCP ports per instance: two per call leg, so 100 calls with both legs anchored. */
export const DEFAULT_RTP_PORTS = 400;

/** What rtpengineArgs needs: where rtpengine listens and keeps its files. */
export interface RtpengineArgsOptions {
  /**
   * rtpengine's --interface: the address RTP is bound on and written into SDP, or
   * `<bind>!<advertised>` when the two differ (a pod's address behind a site's public one).
   */
  readonly interface: string;
  readonly ngPort: number;
  readonly ngHttpPort?: number;
  readonly rtpPorts: { readonly min: number; readonly max: number };
  readonly recordingDir: string;
  readonly dtmfLogDest?: { readonly host: string; readonly port: number };
  readonly noMediaTimeoutS?: number;
  readonly threads?: number;
}

/**
 * rtpengine's command line (without the binary), the same for local runs, tests and a site's pod
 * (deploy/src/contact-center-site.ts), so that every site's rtpengine runs as docs/media.md says.
 */
export function rtpengineArgs(o: RtpengineArgsOptions): string[] {
  const args = [
    // No kernel forwarding table: the kernel module is not installed, rtpengine forwards in
    // userspace. No config file: /etc/rtpengine/rtpengine.conf belongs to the Debian service.
    '--table=-1',
    '--config-file=none',
    '--foreground',
    '--log-stderr',
    `--interface=${o.interface}`,
    // Always loopback: the ng protocol has no authentication.
    `--listen-ng=${LOOPBACK}:${o.ngPort}`,
    `--port-min=${o.rtpPorts.min}`,
    `--port-max=${o.rtpPorts.max}`,
    // A queued caller's phone may send nothing during early media: outlast the longest queue.
    `--timeout=${o.noMediaTimeoutS ?? 600}`,
    // A deleted call is gone at once, and its recording closed, instead of 30 s later.
    '--delete-delay=0',
    '--recording-method=pcap',
    `--recording-dir=${o.recordingDir}`,
    `--num-threads=${o.threads ?? 2}`,
  ];
  if (o.ngHttpPort) args.push(`--listen-http=${LOOPBACK}:${o.ngHttpPort}`);
  if (o.dtmfLogDest) args.push(`--dtmf-log-dest=${o.dtmfLogDest.host}:${o.dtmfLogDest.port}`);
  return args;
}

/**
 * The command line of one site's rtpengine as the topology places it (site.media), for a
 * deployment; `interface` overrides the bind address (e.g. the pod's, advertising the site's).
 */
export function siteRtpengineArgs(
  topology: Topology,
  siteId: string,
  opts: { readonly recordingDir: string; readonly interface?: string },
): string[] {
  const site = siteById(topology, siteId);
  const { media } = site;
  return rtpengineArgs({
    interface: opts.interface ?? mediaHostOf(site),
    ngPort: media.ngPort,
    ngHttpPort: media.ngHttpPort,
    rtpPorts: media.rtpPorts,
    recordingDir: opts.recordingDir,
    dtmfLogDest: { host: LOOPBACK, port: media.dtmfPort },
  });
}

/** Starts a userspace rtpengine for one site and resolves once it answers an ng ping. */
export async function startRtpengine(opts: RtpengineOptions): Promise<RtpengineInstance> {
  const name = opts.name ?? 'rtpengine';
  const host = opts.host ?? LOOPBACK;
  const ngPort = opts.ngPort ?? (await freePort(LOOPBACK));
  const rtpPorts = opts.rtpPorts ?? (await freeRtpPortRange(DEFAULT_RTP_PORTS, host));
  if (rtpPorts.min % 2 !== 0 || rtpPorts.max <= rtpPorts.min) {
    throw new EngineError(
      `${name} cannot start: RTP port range ${rtpPorts.min}-${rtpPorts.max} must start even and be non-empty`,
    );
  }
  const recordingDir = opts.recordingDir ?? join(opts.dataDir, 'recordings');
  mkdirSync(recordingDir, { recursive: true });
  const args = rtpengineArgs({
    interface: host,
    ngPort,
    rtpPorts,
    recordingDir,
    ...(opts.ngHttpPort ? { ngHttpPort: opts.ngHttpPort } : {}),
    ...(opts.dtmfLogDest ? { dtmfLogDest: opts.dtmfLogDest } : {}),
    ...(opts.noMediaTimeoutS === undefined ? {} : { noMediaTimeoutS: opts.noMediaTimeoutS }),
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
  });

  const client = await NgClient.open({
    host: LOOPBACK,
    port: ngPort,
    retransmitMs: 200,
    attempts: 1,
  });
  let handle: EngineHandle;
  try {
    handle = await startEngine({
      name,
      command: RTPENGINE_BIN,
      args,
      logFile: join(opts.dataDir, 'rtpengine.log'),
      pidFile: join(opts.dataDir, 'rtpengine.pid'),
      ports: [
        { port: ngPort, protocol: 'udp', role: 'ng control' },
        ...(opts.ngHttpPort
          ? [{ port: opts.ngHttpPort, protocol: 'tcp' as const, role: 'ng over HTTP' }]
          : []),
      ],
      ...(opts.netns === undefined ? {} : { netns: opts.netns }),
      ready: () =>
        opts.netns === undefined
          ? client.ping().then(() => true)
          : boundInNetns(opts.netns, ngPort, 'udp'),
      readyTimeoutMs: 20_000,
      stopTimeoutMs: 10_000,
    });
  } catch (err) {
    await client.close();
    throw err;
  }
  return {
    name,
    ng: { host: LOOPBACK, port: ngPort },
    ngUrl: `udp:${LOOPBACK}:${ngPort}`,
    ngHttpUrl: opts.ngHttpPort ? `http://${LOOPBACK}:${opts.ngHttpPort}/ng` : undefined,
    rtpPorts,
    recordingDir,
    handle,
    client,
    stop: async () => {
      await client.close();
      await handle.stop();
    },
  };
}

/**
 * Starts one site's rtpengine as the topology places it (site.media): its ng and ng-over-HTTP
 * ports on loopback, RTP on the site's media address within its port range, DTMF digits reported
 * to the site agent's listener. Kamailio's generated config drives exactly this instance.
 */
export function startSiteRtpengine(opts: {
  readonly topology: Topology;
  readonly siteId: string;
  readonly dataDir: string;
  readonly noMediaTimeoutS?: number;
  readonly threads?: number;
  readonly netns?: string;
}): Promise<RtpengineInstance> {
  const site = siteById(opts.topology, opts.siteId);
  const { media } = site;
  return startRtpengine({
    dataDir: opts.dataDir,
    name: `rtpengine ${site.id}`,
    host: mediaHostOf(site),
    ngPort: media.ngPort,
    ngHttpPort: media.ngHttpPort,
    rtpPorts: media.rtpPorts,
    dtmfLogDest: { host: LOOPBACK, port: media.dtmfPort },
    ...(opts.noMediaTimeoutS === undefined ? {} : { noMediaTimeoutS: opts.noMediaTimeoutS }),
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    ...(opts.netns === undefined ? {} : { netns: opts.netns }),
  });
}
