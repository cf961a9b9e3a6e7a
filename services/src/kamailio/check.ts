import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { siteById, type Topology } from '@ccfed/topology';
import type { TlsFiles } from '../pki.js';
import {
  DEFAULT_TUNING,
  kamailioConfig,
  kamailioSideFiles,
  type KamailioTuning,
} from './generate.js';

export const KAMAILIO_BIN = '/usr/sbin/kamailio';

export interface ConfigCheck {
  readonly ok: boolean;
  /** Kamailio's own words when the config is rejected. */
  readonly output: string;
}

/**
 * Runs `kamailio -c` on a config text: Kamailio parses it and loads its modules, then exits.
 * `sideFiles` (name → content) are written beside it, for the files it reads from its directory.
 */
export async function checkKamailioConfig(
  config: string,
  sideFiles: Readonly<Record<string, string>> = {},
): Promise<ConfigCheck> {
  const dir = mkdtempSync(join(tmpdir(), 'ccfed-kamailio-check-'));
  const file = join(dir, 'kamailio.cfg');
  writeFileSync(file, config);
  for (const [name, content] of Object.entries(sideFiles)) writeFileSync(join(dir, name), content);
  try {
    const { stdout, stderr } = await promisify(execFile)(KAMAILIO_BIN, ['-c', '-f', file], {
      timeout: 30_000,
    });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
    return {
      ok: false,
      output:
        output
          .split('\n')
          .filter((l) => /ERROR|CRITICAL|error/.test(l))
          .join('\n') || output,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `kamailio -c` on everything one site's Kamailio runs on: its kamailio.cfg and the files beside
 * it. `kamailio -c` does not open certificate files, so without `tls` tls.cfg names the default
 * paths (what is checked is the config, not a certificate).
 */
export async function checkSiteKamailio(
  topology: Topology,
  siteId: string,
  opts: {
    readonly tuning?: KamailioTuning;
    readonly tls?: TlsFiles;
    readonly template?: string;
  } = {},
): Promise<ConfigCheck> {
  const site = siteById(topology, siteId);
  const config = kamailioConfig(topology, site.id, opts.tuning ?? DEFAULT_TUNING, opts.template);
  return checkKamailioConfig(config, kamailioSideFiles(topology, site.id, opts.tls));
}
