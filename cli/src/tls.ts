// Which certificate `ccfed` presents to the site agents, found the way the topology file is:
// --tls-cert/--tls-key/--tls-ca, else $CCFED_TLS_CERT/$CCFED_TLS_KEY/$CCFED_TLS_CA, else the
// local federation's operator certificate in .ccfed/local/pki (issued by `npm start`). Each file
// is looked up on its own, so a flag can replace one file of an environment's set.
import { existsSync } from 'node:fs';
import { loadTls, type Principal, type TlsMaterial } from '@ccfed/common';
import { pkiFiles, type TlsFiles } from '@ccfed/services';
import { UsageError } from './errors.js';

/** The local federation's CA directory (scripts/federation.ts creates it). */
export const LOCAL_PKI = new URL('../../.ccfed/local/pki', import.meta.url).pathname;

/** The operator the local federation issues a certificate to for this command line. */
export const LOCAL_OPERATOR: Principal = { kind: 'operator', name: 'local' };

/** The options every command that calls a site agent takes. */
export const TLS_OPTIONS = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
} as const;

/** The lines each such command's usage has for them. */
export const TLS_USAGE = `  --tls-cert FILE  your certificate (default: $CCFED_TLS_CERT, else the local federation's
                   operator certificate, .ccfed/local/pki/operator/local.crt)
  --tls-key FILE   its private key (default: $CCFED_TLS_KEY, else .ccfed/local/pki/operator/local.key)
  --tls-ca FILE    the federation CA (default: $CCFED_TLS_CA, else .ccfed/local/pki/ca.crt)`;

/** Which files to read: each from its flag, else its variable, else the local federation's. */
export function tlsFiles(
  options: { 'tls-cert'?: string; 'tls-key'?: string; 'tls-ca'?: string },
  env: NodeJS.ProcessEnv,
): TlsFiles {
  const local = pkiFiles(LOCAL_PKI, LOCAL_OPERATOR);
  return {
    cert: options['tls-cert'] || env.CCFED_TLS_CERT || local.cert,
    key: options['tls-key'] || env.CCFED_TLS_KEY || local.key,
    ca: options['tls-ca'] || env.CCFED_TLS_CA || local.ca,
  };
}

/** Reads them; a missing or unusable file is the operator's input to fix (exit 2), said how. */
export function readTls(files: TlsFiles): TlsMaterial {
  try {
    const missing = [files.cert, files.key, files.ca].filter((f) => !existsSync(f));
    if (missing.length > 0) throw new Error(`no such file: ${missing.join(', ')}`);
    return loadTls(files);
  } catch (err) {
    throw new UsageError(
      `${(err as Error).message}\nccfed calls the site agents over mutual TLS: give --tls-cert, ` +
        '--tls-key and --tls-ca (or CCFED_TLS_CERT, CCFED_TLS_KEY, CCFED_TLS_CA), or start the ' +
        'local federation (npm start), which issues the operator certificate in .ccfed/local/pki',
    );
  }
}
