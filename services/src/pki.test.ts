// The federation CA as processes use it: leaves that load (loadTls) and name their principal, reuse
// of what was issued, and a CA rotation in which a CA bundle lets old and new leaves meet over
// mutual TLS, as docs/security.md tells operators to do it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  grpcServerCredentials,
  loadTls,
  peerPrincipal,
  principalLabel,
  secureChannel,
  secureServerOptions,
  type TlsMaterial,
} from '@ccfed/common';
import { routing } from '@ccfed/proto';
import { createClient, createServer } from 'nice-grpc';
import { describe, expect, it } from 'vitest';
import { openPki } from './pki.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `ccfed-${name}-`));

/** A router-shaped server as `tls` whose answer names the caller it verified. */
async function serveAs(tls: TlsMaterial) {
  const server = createServer(secureServerOptions);
  server.add(routing.CentralRouterDefinition, {
    requestRoute: async (_req, context) => ({
      ...routing.RequestRouteResponse.fromPartial({}),
      reason: principalLabel(peerPrincipal(context)),
    }),
  });
  const port = await server.listen('127.0.0.1:0', grpcServerCredentials(tls));
  return { port, close: () => server.forceShutdown() };
}

async function whoAmI(port: number, tls: TlsMaterial): Promise<string> {
  const channel = secureChannel(`127.0.0.1:${port}`, tls, (p) => p.kind === 'service', 'service');
  try {
    const client = createClient(routing.CentralRouterDefinition, channel);
    const r = await client.requestRoute({}, { signal: AbortSignal.timeout(5_000) });
    return r.reason;
  } finally {
    channel.close();
  }
}

describe('openPki', () => {
  it('issues leaves that load and name their principal, and reuses them', async () => {
    const pki = await openPki(tmp('pki'));
    const agent = await pki.issue({ kind: 'agent', site: 'beijing', agent: 'bj-001' });
    expect(agent.cert).toMatch(/\/agent\/beijing\/bj-001\.crt$/);
    expect(loadTls(agent).self).toEqual({ kind: 'agent', site: 'beijing', agent: 'bj-001' });
    const before = readFileSync(agent.cert, 'utf8');
    await pki.issue({ kind: 'agent', site: 'beijing', agent: 'bj-001' });
    expect(readFileSync(agent.cert, 'utf8')).toBe(before);
    const tenant = await pki.issue({ kind: 'supervisor', site: 'beijing', tenant: 'acme-bank' });
    expect(loadTls(tenant).self).toEqual({
      kind: 'supervisor',
      site: 'beijing',
      tenant: 'acme-bank',
    });
  });

  it('refuses at load a leaf that another CA issued, naming both files', async () => {
    const mine = await openPki(tmp('pki'));
    const other = await openPki(tmp('pki'));
    const leaf = await other.issue({ kind: 'site', site: 'beijing' });
    expect(() => loadTls({ ...leaf, ca: mine.caFile })).toThrow(
      `${leaf.cert} was not issued by the CA in ${mine.caFile}`,
    );
  });

  it('rotates the CA: with both CAs trusted, leaves of the old and the new one meet', async () => {
    const old = await openPki(tmp('pki-old'));
    const next = await openPki(tmp('pki-new'));
    const bundle = join(tmp('bundle'), 'ca.crt');
    writeFileSync(bundle, readFileSync(old.caFile, 'utf8') + readFileSync(next.caFile, 'utf8'));
    const withBundle = async (pki: typeof old, p: Parameters<typeof old.issue>[0]) =>
      loadTls({ ...(await pki.issue(p)), ca: bundle });

    // Step 2 of the rotation: the router already has its new leaf, the sites not all yet.
    const router = await serveAs(await withBundle(next, { kind: 'service', service: 'router' }));
    try {
      const oldSite = await withBundle(old, { kind: 'site', site: 'beijing' });
      const newSite = await withBundle(next, { kind: 'site', site: 'shanghai' });
      expect(await whoAmI(router.port, oldSite)).toBe('site:beijing');
      expect(await whoAmI(router.port, newSite)).toBe('site:shanghai');
    } finally {
      router.close();
    }
    // Step 3: the new CA alone. A leaf of the old CA is refused from then on.
    const strict = await serveAs(loadTls(await next.issue({ kind: 'service', service: 'router' })));
    try {
      const oldSite = await withBundle(old, { kind: 'site', site: 'beijing' });
      await expect(whoAmI(strict.port, oldSite)).rejects.toThrow(/UNAVAILABLE/);
    } finally {
      strict.close();
    }
  });
});
