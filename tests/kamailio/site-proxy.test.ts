// Each site's Kamailio runs on the config generated from the topology file.
import { join } from 'node:path';
import { checkSiteKamailio, startKamailio, type KamailioInstance } from '@ccfed/services';
import { loadTopology } from '@ccfed/topology';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '../support/engines.js';
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

  it('stops cleanly', async () => {
    await kam.stop();
    expect(await kam.handle.exited).toBe(0);
  });
});
