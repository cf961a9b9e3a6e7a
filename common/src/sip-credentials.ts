// Ephemeral SIP credentials for browser agents, as Kamailio's auth_ephemeral module checks them
// (username_format 1, sha_algorithm 0, its defaults): the username is "<expiry>:<agent id>", the
// expiry a UNIX time in seconds, and the password base64(HMAC-SHA1(site secret, username)). The
// central API issues them; the site's Kamailio checks them with the same secret, so nothing is
// stored anywhere and a credential cannot be used after its expiry or for another agent's address.
import { createHmac, randomBytes } from 'node:crypto';

/** How long issued credentials are valid: one working day. */
export const SIP_CREDENTIALS_TTL_SECONDS = 12 * 3600;

/** Bytes of a freshly made site secret. */
export const SIP_SECRET_BYTES = 32;

export interface SipCredentials {
  readonly username: string;
  readonly password: string;
  /** When Kamailio stops accepting them (ISO 8601). */
  readonly expiresAt: string;
}

/** A new site secret for browser agents' credentials (base64). */
export function newSipSecret(): string {
  return randomBytes(SIP_SECRET_BYTES).toString('base64');
}

/**
 * The credentials `agentId` registers with at the site whose secret is `secret`, valid for
 * `ttlSeconds` from `nowMs`. Promises exactly what auth_ephemeral recomputes from the username.
 */
export function sipCredentials(opts: {
  readonly secret: string;
  readonly agentId: string;
  readonly nowMs: number;
  readonly ttlSeconds?: number;
}): SipCredentials {
  const ttl = opts.ttlSeconds ?? SIP_CREDENTIALS_TTL_SECONDS;
  if (!opts.secret) throw new TypeError('no SIP secret for this site');
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(opts.agentId))
    throw new TypeError(`${JSON.stringify(opts.agentId.slice(0, 40))} is not an agent id`);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new TypeError('ttlSeconds must be > 0');
  const expiry = Math.floor(opts.nowMs / 1000) + ttl;
  const username = `${expiry}:${opts.agentId}`;
  const password = createHmac('sha1', opts.secret).update(username).digest('base64');
  return { username, password, expiresAt: new Date(expiry * 1000).toISOString() };
}

/**
 * The SIP user of the site's outbound dialer (site-agent/src/dialer/): the one user Kamailio lets
 * call out through the site's trunk. Agent ids start with a letter, so no agent can be it.
 */
export const DIALER_SIP_USER = '_dialer';

/**
 * The dialer's own ephemeral credentials at its site, the same scheme as an agent's (username
 * `<expiry>:_dialer`): the site agent holds the site's secret and mints them itself.
 */
export function dialerSipCredentials(opts: {
  readonly secret: string;
  readonly nowMs: number;
  readonly ttlSeconds?: number;
}): SipCredentials {
  const ttl = opts.ttlSeconds ?? SIP_CREDENTIALS_TTL_SECONDS;
  if (!opts.secret) throw new TypeError('no SIP secret for this site');
  if (!Number.isInteger(ttl) || ttl <= 0) throw new TypeError('ttlSeconds must be > 0');
  const expiry = Math.floor(opts.nowMs / 1000) + ttl;
  const username = `${expiry}:${DIALER_SIP_USER}`;
  const password = createHmac('sha1', opts.secret).update(username).digest('base64');
  return { username, password, expiresAt: new Date(expiry * 1000).toISOString() };
}

/**
 * The per-site secrets file (JSON { "<site id>": "<base64 secret>" }), parsed and checked: what
 * the central API reads to issue credentials for every site.
 */
export function parseSipSecrets(text: string, file: string): ReadonlyMap<string, string> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error(`${file}: expected an object of site id → secret`);
  const secrets = new Map<string, string>();
  for (const [siteId, secret] of Object.entries(doc)) {
    if (typeof secret !== 'string' || !/^[A-Za-z0-9+/=_-]{16,}$/.test(secret))
      throw new Error(`${file}: ${siteId}: expected a base64 secret of at least 16 characters`);
    secrets.set(siteId, secret);
  }
  return secrets;
}
