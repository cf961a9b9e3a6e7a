import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { siteById, type Topology } from '@ccfed/topology';
import { tcpPortInUse, udpPortFree } from '../ports.js';
import { EngineError, startEngine, type EngineHandle } from '../supervise.js';
import { checkKamailioConfig, KAMAILIO_BIN } from './check.js';
import { DEFAULT_TUNING, kamailioConfig, type KamailioTuning } from './generate.js';

export interface KamailioOptions {
  readonly topology: Topology;
  readonly siteId: string;
  readonly dataDir: string;
  readonly tuning?: KamailioTuning;
  /** Shared memory for the SIP proxy, in MB. */
  readonly sharedMemoryMb?: number;
}

export interface KamailioInstance {
  readonly siteId: string;
  readonly sip: { readonly host: string; readonly port: number };
  readonly evapi: { readonly host: string; readonly port: number };
  readonly configFile: string;
  readonly handle: EngineHandle;
  stop(): Promise<void>;
}

/** Generates a site's kamailio.cfg, validates it with `kamailio -c`, and runs Kamailio on it. */
export async function startKamailio(opts: KamailioOptions): Promise<KamailioInstance> {
  const site = siteById(opts.topology, opts.siteId);
  const config = kamailioConfig(opts.topology, site.id, opts.tuning ?? DEFAULT_TUNING);
  const check = await checkKamailioConfig(config);
  if (!check.ok) {
    throw new EngineError(
      `kamailio ${site.id}: the generated config is rejected by kamailio -c:\n${check.output}`,
    );
  }
  const runDir = join(opts.dataDir, 'run');
  mkdirSync(runDir, { recursive: true });
  const configFile = join(opts.dataDir, 'kamailio.cfg');
  writeFileSync(configFile, config);
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
    ],
    ready: async () =>
      !(await udpPortFree(site.sip.port, site.sip.host)) &&
      (await tcpPortInUse(site.evapi.port, site.evapi.host)),
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 10_000,
  });
  return {
    siteId: site.id,
    sip: { host: site.sip.host, port: site.sip.port },
    evapi: { host: site.evapi.host, port: site.evapi.port },
    configFile,
    handle,
    stop: () => handle.stop(),
  };
}
