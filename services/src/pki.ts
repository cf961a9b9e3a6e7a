// The federation's own certificate authority, for the local federation, the test suite and the
// benchmarks: a CA created on first start, and a key and certificate per principal, issued with
// Debian's openssl. Production issues the same shape of certificate from its own CA (cert-manager
// in the Pulumi program, docs/security.md); nothing here is a second, insecure mode.
//
// Every leaf certificate names one principal in a URI SAN (common/src/principal.ts), is valid for
// both TLS server and client authentication, and carries the loopback addresses and whatever
// host names its holder listens on, so that Java and Node clients that check host names accept
// it too. Keys are P-256, in PKCS#8 PEM, which Node, Kamailio's tls module and Kafka's PEM key
// store all read.

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { principalLabel, principalUri, type Principal } from '@ccfed/common';
import { processAlive } from './process-alive.js';

const run = promisify(execFile);

/** Paths of a principal's PEM files and of the CA that vouches for it. */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface Pki {
  readonly dir: string;
  /** The CA certificate every process trusts. */
  readonly caFile: string;
  /**
   * A key and certificate for `principal` (issued once, then reused while it still covers
   * `hosts`). Loopback (127.0.0.1, ::1, localhost) is always covered.
   */
  issue(principal: Principal, hosts?: readonly string[]): Promise<TlsFiles>;
}

/**
 * Where the CA in `dir` keeps `principal`'s certificate and key (<kind>/<name>.{crt,key}), whether
 * issued yet or not: what a process is pointed at with CCFED_TLS_*.
 */
export function pkiFiles(dir: string, principal: Principal): TlsFiles {
  const base = join(dir, principalLabel(principal).replace(':', '/'));
  return { ca: join(dir, 'ca.crt'), cert: `${base}.crt`, key: `${base}.key` };
}

const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];
const CA_DAYS = 3650;
const LEAF_DAYS = 825;

/** Opens the CA in `dir`, creating it on first use. Safe against concurrent callers. */
export async function openPki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  await withLock(dir, async () => {
    if (existsSync(caFile)) return;
    const tmpKey = `${caKey}.tmp`;
    const tmpCert = `${caFile}.tmp`;
    await openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      tmpKey,
      '-out',
      tmpCert,
      '-days',
      String(CA_DAYS),
      '-subj',
      '/O=ccfed/CN=ccfed federation CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    chmodSync(tmpKey, 0o600);
    renameSync(tmpKey, caKey);
    renameSync(tmpCert, caFile);
  });

  return {
    dir,
    caFile,
    issue: (principal, hosts = []) =>
      withLock(dir, async () => {
        const files = pkiFiles(dir, principal);
        const base = files.cert.slice(0, -'.crt'.length);
        const wanted = [...new Set([...LOOPBACK_HOSTS, ...hosts])];
        if (existsSync(files.cert) && existsSync(files.key) && covers(files.cert, caFile, wanted))
          return files;
        mkdirSync(dirname(base), { recursive: true, mode: 0o700 });
        const san = [
          `URI:${principalUri(principal)}`,
          ...wanted.map((h) => (isIp(h) ? `IP:${h}` : `DNS:${h}`)),
        ].join(',');
        const csr = `${base}.csr`;
        const tmpKey = `${files.key}.tmp`;
        const tmpCert = `${files.cert}.tmp`;
        await openssl([
          'req',
          '-new',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          tmpKey,
          '-out',
          csr,
          '-subj',
          // openssl's -subj separates names with "/": the label's own (agent:site/agent) escaped.
          `/O=ccfed/CN=${principalLabel(principal).replaceAll('/', '\\/')}`,
        ]);
        const ext = `${base}.ext`;
        writeFileSync(
          ext,
          [
            'basicConstraints=critical,CA:FALSE',
            'keyUsage=critical,digitalSignature,keyEncipherment',
            'extendedKeyUsage=serverAuth,clientAuth',
            `subjectAltName=${san}`,
            '',
          ].join('\n'),
        );
        await openssl([
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          caFile,
          '-CAkey',
          caKey,
          '-CAcreateserial',
          '-CAserial',
          join(dir, 'ca.srl'),
          '-days',
          String(LEAF_DAYS),
          '-extfile',
          ext,
          '-out',
          tmpCert,
        ]);
        rmSync(csr, { force: true });
        rmSync(ext, { force: true });
        chmodSync(tmpKey, 0o600);
        renameSync(tmpKey, files.key);
        renameSync(tmpCert, files.cert);
        return files;
      }),
  };
}

/** Whether `certFile` was issued by the CA in `caFile` and names every host in `hosts`. */
function covers(certFile: string, caFile: string, hosts: readonly string[]): boolean {
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    if (!cert.verify(new X509Certificate(readFileSync(caFile)).publicKey)) return false;
    if (Date.parse(cert.validTo) < Date.now() + 24 * 3600_000) return false;
    const san = cert.subjectAltName ?? '';
    return hosts.every((h) =>
      san.includes(isIp(h) ? `IP Address:${h === '::1' ? '0:0:0:0:0:0:0:1' : h}` : `DNS:${h}`),
    );
  } catch {
    return false;
  }
}

const isIp = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${(e.stderr || e.message).trim()}`, { cause: err });
  }
}

/**
 * Runs `fn` holding an exclusive lock on the CA directory, so that two processes starting at
 * once never create two CAs or write one certificate twice. A lock left by a dead process is
 * taken over.
 */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.lock');
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      writeFileSync(lock, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lock, 'utf8').trim() || '0');
      if (holder > 0 && !processAlive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`the CA in ${dir} stayed locked by pid ${holder}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
