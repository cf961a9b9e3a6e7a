// The run's trust material for tests: every process a test starts gets a certificate for its
// principal from the run's CA (tests/setup/global-engines.ts), the same way the local federation
// and production do; there is no insecure mode to fall back to.
import {
  loadTls,
  principalLabel,
  secureChannel,
  type Principal,
  type TlsMaterial,
} from '@ccfed/common';
import { openPki, type TlsFiles } from '@ccfed/services';
import type { Site } from '@ccfed/topology';
import type { Channel } from 'nice-grpc';
import { inject } from 'vitest';

/** PEM files of a certificate for `principal` from the run's CA (issued once, then reused). */
export async function certFor(
  principal: Principal,
  hosts: readonly string[] = [],
): Promise<TlsFiles> {
  return (await openPki(inject('pkiDir'))).issue(principal, hosts);
}

/** The CCFED_TLS_* variables that give a ccfed process the certificate of `principal`. */
export async function tlsEnv(principal: Principal): Promise<Record<string, string>> {
  const files = await certFor(principal);
  return { CCFED_TLS_CA: files.ca, CCFED_TLS_CERT: files.cert, CCFED_TLS_KEY: files.key };
}

/** A test's own TLS material as `principal`, for gRPC clients it creates. */
export async function tlsAs(principal: Principal): Promise<TlsMaterial> {
  return loadTls(await certFor(principal));
}

export { principalLabel };

/** The router's principal: what its certificate names and what its clients expect. */
export const ROUTER: Principal = { kind: 'service', service: 'router' };

/** An operator of the test federation: may do anything a site agent offers, drain included. */
export const OPERATOR: Principal = { kind: 'operator', name: 'test' };

/** A channel to a site agent's gRPC server as `principal`; the server must be that site. */
export async function siteChannel(site: Site, principal: Principal): Promise<Channel> {
  return secureChannel(
    `${site.grpc.host}:${site.grpc.port}`,
    await tlsAs(principal),
    (server) => server.kind === 'site' && server.site === site.id,
    `site:${site.id}`,
  );
}

/** A channel to the router at `address` as `principal` (a site, to ask for its own calls). */
export async function routerChannel(address: string, principal: Principal): Promise<Channel> {
  return secureChannel(
    address,
    await tlsAs(principal),
    (server) => server.kind === 'service' && server.service === 'router',
    'service:router',
  );
}
