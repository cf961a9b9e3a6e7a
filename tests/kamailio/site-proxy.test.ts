// Each site's Kamailio runs on the config generated from the topology file.
import { checkKamailioConfig, kamailioConfig, type KamailioInstance } from '@ccfed/services';
import { loadTopology } from '@ccfed/topology';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSiteKamailio } from '../support/site.js';
import { sendSip } from '../support/sip.js';
import { EXAMPLE_TOPOLOGY } from '../support/topology.js';

describe('generated Kamailio config', () => {
  it.each(loadTopology(EXAMPLE_TOPOLOGY).sites.map((s) => s.id))(
    'passes kamailio -c for site %s',
    async (siteId) => {
      const result = await checkKamailioConfig(
        kamailioConfig(loadTopology(EXAMPLE_TOPOLOGY), siteId),
      );
      expect(result.output).not.toMatch(/ERROR|CRITICAL/);
      expect(result.ok).toBe(true);
    },
  );

  it("is rejected with Kamailio's reason when the routing logic is broken", async () => {
    const broken = kamailioConfig(
      loadTopology(EXAMPLE_TOPOLOGY),
      'shanghai',
      undefined,
      'request_route { if ( { exit; }\n',
    );
    const result = await checkKamailioConfig(broken);
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

  it('stops cleanly', async () => {
    await kam.stop();
    expect(await kam.handle.exited).toBe(0);
  });
});
