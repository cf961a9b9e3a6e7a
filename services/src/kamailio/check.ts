import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const KAMAILIO_BIN = '/usr/sbin/kamailio';

export interface ConfigCheck {
  readonly ok: boolean;
  /** Kamailio's own words when the config is rejected. */
  readonly output: string;
}

/** Runs `kamailio -c` on a config text: Kamailio parses it and loads its modules, then exits. */
export async function checkKamailioConfig(config: string): Promise<ConfigCheck> {
  const dir = mkdtempSync(join(tmpdir(), 'ccfed-kamailio-check-'));
  const file = join(dir, 'kamailio.cfg');
  writeFileSync(file, config);
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
