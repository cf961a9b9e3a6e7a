import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { siteById, webSocketUriOf, type Topology } from '@ccfed/topology';
import type { TlsFiles } from '../pki.js';
import { boundInNetns } from '../netns.js';
import { tcpPortInUse, udpPortFree } from '../ports.js';
import { EngineError, startEngine, type EngineHandle } from '../supervise.js';
import { checkKamailioConfig, KAMAILIO_BIN } from './check.js';
import {
  DEFAULT_TUNING,
  kamailioConfig,
  kamailioSideFiles,
  siteUsesTls,
  type KamailioTuning,
} from './generate.js';

export interface KamailioOptions {
  readonly topology: Topology;
  readonly siteId: string;
  readonly dataDir: string;
  readonly tuning?: KamailioTuning;
  /** Shared memory for the SIP proxy, in MB. */
  readonly sharedMemoryMb?: number;
  /**
   * The site principal's certificate and key and the federation CA (services/src/pki.ts), for
   * SIP over TLS with the peer sites; required when the site has sip.tlsPort.
   */
  readonly tls?: TlsFiles;
  /**
   * The site's secret for its browser agents' ephemeral credentials (base64; common/src/
   * sip-credentials.ts), for a site with sip.wsPort or sip.wssPort. Without it the site makes a
   * random one nobody else knows: no browser can register there.
   */
  readonly agentSecret?: string;
  /** Runs Kamailio inside this network namespace (tests/netns), on its own loopback there. */
  readonly netns?: string;
}

export interface KamailioInstance {
  readonly siteId: string;
  readonly sip: { readonly host: string; readonly port: number };
  readonly evapi: { readonly host: string; readonly port: number };
  /** The TLS listener for peer sites, when the site has one. */
  readonly sipTls?: { readonly host: string; readonly port: number };
  /** SIP over WebSocket for browser agents, when the site has one (ws://… or wss://…). */
  readonly webSocketUri?: string;
  readonly configFile: string;
  readonly handle: EngineHandle;
  stop(): Promise<void>;
}

/**
 * Generates a site's kamailio.cfg and the files beside it (address.list, tls.cfg), validates them
 * with `kamailio -c`, and runs Kamailio on them.
 */
export async function startKamailio(opts: KamailioOptions): Promise<KamailioInstance> {
  const site = siteById(opts.topology, opts.siteId);
  if (siteUsesTls(opts.topology, site.id) && !opts.tls)
    throw new EngineError(
      `kamailio ${site.id}: the site listens for SIP over TLS (sip.tlsPort): give it the site's certificate (tls)`,
    );
  // kamailio -c does not open them: a missing file would only show in Kamailio's log at start.
  for (const file of opts.tls ? [opts.tls.ca, opts.tls.cert, opts.tls.key] : []) {
    if (!existsSync(file)) throw new EngineError(`kamailio ${site.id}: no TLS file ${file}`);
  }
  const config = kamailioConfig(opts.topology, site.id, opts.tuning ?? DEFAULT_TUNING);
  const sideFiles = kamailioSideFiles(opts.topology, site.id, opts.tls, opts.agentSecret);
  const check = await checkKamailioConfig(config, sideFiles);
  if (!check.ok) {
    throw new EngineError(
      `kamailio ${site.id}: the generated config is rejected by kamailio -c:\n${check.output}`,
    );
  }
  const runDir = join(opts.dataDir, 'run');
  mkdirSync(runDir, { recursive: true });
  const configFile = join(opts.dataDir, 'kamailio.cfg');
  writeFileSync(configFile, config);
  for (const [name, content] of Object.entries(sideFiles))
    writeFileSync(join(opts.dataDir, name), content, { mode: 0o600 });
  const { tlsPort, wsPort, wssPort } = site.sip;
  const shm = String(opts.sharedMemoryMb ?? 64);
  const handle = await startEngine({
    name: `kamailio ${site.id}`,
    command: KAMAILIO_BIN,
    // -DD: stay in the foreground, so the supervisor owns the process; -E: log to stderr.
    args: [
      '-f',
      configFile,
      '-DD',
      '-E',
      '-m',
      shm,
      '-M',
      '8',
      '-P',
      join(runDir, 'kamailio-main.pid'),
      '-Y',
      runDir,
    ],
    logFile: join(opts.dataDir, 'kamailio.log'),
    pidFile: join(opts.dataDir, 'kamailio.pid'),
    ports: [
      { port: site.sip.port, protocol: site.sip.transport, role: 'SIP' },
      { port: site.evapi.port, protocol: 'tcp', role: 'evapi' },
      ...(tlsPort === undefined
        ? []
        : [{ port: tlsPort, protocol: 'tcp', role: 'SIP TLS' } as const]),
      ...(wsPort === undefined ? [] : [{ port: wsPort, protocol: 'tcp', role: 'SIP WS' } as const]),
      ...(wssPort === undefined
        ? []
        : [{ port: wssPort, protocol: 'tcp', role: 'SIP WSS' } as const]),
    ],
    ...(opts.netns === undefined ? {} : { netns: opts.netns }),
    ready: async () =>
      opts.netns !== undefined
        ? (await boundInNetns(opts.netns, site.sip.port, site.sip.transport, site.sip.host)) &&
          (await boundInNetns(opts.netns, site.evapi.port, 'tcp', site.evapi.host)) &&
          (tlsPort === undefined || (await boundInNetns(opts.netns, tlsPort, 'tcp', site.sip.host)))
        : !(await udpPortFree(site.sip.port, site.sip.host)) &&
          (await tcpPortInUse(site.evapi.port, site.evapi.host)) &&
          (tlsPort === undefined || (await tcpPortInUse(tlsPort, site.sip.host))) &&
          (wsPort === undefined || (await tcpPortInUse(wsPort, '127.0.0.1'))) &&
          (wssPort === undefined || (await tcpPortInUse(wssPort, site.sip.host))),
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 10_000,
  });
  return {
    siteId: site.id,
    sip: { host: site.sip.host, port: site.sip.port },
    evapi: { host: site.evapi.host, port: site.evapi.port },
    ...(tlsPort === undefined ? {} : { sipTls: { host: site.sip.host, port: tlsPort } }),
    ...(webSocketUriOf(site) === undefined ? {} : { webSocketUri: webSocketUriOf(site)! }),
    configFile,
    handle,
    stop: () => handle.stop(),
  };
}
