// Each site's Kamailio runs on the config generated from the topology file.
import { join } from 'node:path';
import { checkSiteKamailio, startKamailio, type KamailioInstance } from '@ccfed/services';
import { loadTopology } from '@ccfed/topology';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { uniqueName, waitFor } from '../support/engines.js';
import { certFor } from '../support/security.js';
import { startSiteKamailio } from '../support/site.js';
import { sendSip } from '../support/sip.js';
import { EXAMPLE_TOPOLOGY, exampleTopologyOnFreePorts } from '../support/topology.js';

describe('generated Kamailio config', () => {
  it.each(loadTopology(EXAMPLE_TOPOLOGY).sites.map((s) => s.id))(
    'passes kamailio -c for site %s',
    async (siteId) => {
      const result = await checkSiteKamailio(loadTopology(EXAMPLE_TOPOLOGY), siteId);
      expect(result.output).not.toMatch(/ERROR|CRITICAL/);
      expect(result.ok).toBe(true);
    },
  );

  it("is rejected with Kamailio's reason when the routing logic is broken", async () => {
    const result = await checkSiteKamailio(loadTopology(EXAMPLE_TOPOLOGY), 'shanghai', {
      template: 'request_route { if ( { exit; }\n',
    });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/syntax error/);
  });
});

describe('a site Kamailio with no site agent connected', () => {
  let kam: KamailioInstance;

  beforeAll(async () => {
    kam = await startSiteKamailio();
  });

  afterAll(async () => {
    await kam?.stop();
  });

  it('answers OPTIONS keep-alives on the SIP port from the topology', async () => {
    const replies = await sendSip(kam.sip, 'OPTIONS');
    expect(replies.at(-1)?.status).toBe(200);
  });

  it('refuses a call at once with the fallback from the topology (503 + Retry-After), never leaving it hanging', async () => {
    const replies = await sendSip(kam.sip, 'INVITE', { user: '4002001' });
    const final = replies.at(-1);
    expect(final?.status).toBe(503);
    expect(final?.headers['retry-after']).toBe('30');
  });

  it('refuses an INVITE without an SDP offer with 488: its media could not be anchored', async () => {
    const replies = await sendSip(kam.sip, 'INVITE', { user: '400200100', sdp: '' });
    expect(replies.at(-1)?.status).toBe(488);
    expect(replies.at(-1)?.reason).toBe('SDP Offer Required');
  });

  it('uses the reject code and Retry-After the topology names for its fallback', async () => {
    const topology = await exampleTopologyOnFreePorts((doc) => {
      doc.sites.find((s: { id: string }) => s.id === 'beijing').fallback = {
        action: 'reject',
        code: 480,
        retryAfterSeconds: 60,
      };
    });
    const other = await startKamailio({
      topology,
      siteId: 'beijing',
      dataDir: join(inject('runDir'), uniqueName('kamailio-480')),
      tls: await certFor({ kind: 'site', site: 'beijing' }),
    });
    try {
      const final = (await sendSip(other.sip, 'INVITE', { user: '400200100' })).at(-1);
      expect(final?.status).toBe(480);
      expect(final?.headers['retry-after']).toBe('60');
    } finally {
      await other.stop();
    }
  });

  it('relays to its fallback URI only its own numbers; another site’s number gets the reject code', async () => {
    const fallback = createSocket('udp4');
    await new Promise<void>((r) => fallback.bind(0, '127.0.0.1', r));
    /** Call-IDs of the INVITEs the fallback got. */
    const relayed = new Set<string>();
    fallback.on('message', (m) => {
      const text = m.toString();
      if (text.startsWith(`INVITE sip:voicemail@`))
        relayed.add(/^Call-ID:\s*(.+)$/im.exec(text)![1]!.trim());
    });
    const topology = await exampleTopologyOnFreePorts((doc) => {
      doc.sites.find((s: { id: string }) => s.id === 'beijing').fallback = {
        action: 'relay',
        uri: `sip:voicemail@127.0.0.1:${fallback.address().port}`,
      };
    });
    const other = await startKamailio({
      topology,
      siteId: 'beijing',
      dataDir: join(inject('runDir'), uniqueName('kamailio-fallback')),
      tls: await certFor({ kind: 'site', site: 'beijing' }),
    });
    try {
      // Shanghai's number: not Beijing's to send to its voicemail.
      const foreign = await sendSip(other.sip, 'INVITE', {
        user: '400100200',
        callId: 'foreign@test',
      });
      expect(foreign.at(-1)?.status).toBe(503);
      await sendSip(other.sip, 'INVITE', { user: '400200100', callId: 'own@test', waitMs: 1000 });
      await waitFor('the own number relayed to the fallback', async () =>
        relayed.size > 0 ? true : undefined,
      );
      expect([...relayed]).toEqual(['own@test']);
    } finally {
      fallback.close();
      await other.stop();
    }
  });

  it('stops cleanly', async () => {
    await kam.stop();
    expect(await kam.handle.exited).toBe(0);
  });
});
