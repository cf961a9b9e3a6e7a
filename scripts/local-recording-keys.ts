// The local federation's recording keys: one key file per site, made on first start in
// .ccfed/local/recording-keys/<site>.json (mode 0600) and kept, so recordings made in an earlier
// run stay playable. Production keeps each site's key file in its secret store (docs/security.md,
// "Recording keys").
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The path of `siteId`'s key file under `dir`, made with one fresh master key if missing. */
export function localRecordingKeys(dir: string, siteId: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${siteId}.json`);
  if (!existsSync(file)) {
    const id = new Date().toISOString().slice(0, 7);
    writeFileSync(
      file,
      `${JSON.stringify({ current: id, keys: { [id]: randomBytes(32).toString('base64') } })}\n`,
      { mode: 0o600 },
    );
  }
  chmodSync(file, 0o600);
  return file;
}
