// The local federation's SIP secrets for browser agents: one per site, made on first start in
// .ccfed/local/sip-secrets/<site> (mode 0600) and kept, and the file the central API reads with
// all of them (CCFED_SIP_SECRETS_FILE). Each site's Kamailio gets only its own. Production keeps
// them in its secret store (docs/security.md, "Browser agents").
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localSecret } from './local-api.js';

/** Every site's secret, and the API's file of them under `dir`. */
export function localSipSecrets(
  dir: string,
  siteIds: readonly string[],
): { readonly secrets: ReadonlyMap<string, string>; readonly file: string } {
  const secrets = new Map(siteIds.map((id) => [id, localSecret(join(dir, id), 32)] as const));
  const file = join(dir, 'all-sites.json');
  writeFileSync(file, `${JSON.stringify(Object.fromEntries(secrets))}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { secrets, file };
}
