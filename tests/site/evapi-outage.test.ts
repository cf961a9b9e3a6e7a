// The site agent dies in the middle of traffic and does not come back within Kamailio's restart
// grace (2 s here). Kamailio must not leave a caller hanging: the queued INVITEs get the site's
// fallback (503 with Retry-After) once the grace is over, new calls too while the agent is away,
// and calls already talking go on at the SIP level. Once the agent is back, calls queue again. (A
// site agent back within the grace takes its calls up: tests/site/site-agent-restart.test.ts.)
import { DEFAULT_TUNING, freePort } from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/engines.js';
import { startSite, type RunningSite } from '../support/running-site.js';
import { sendSip } from '../support/sip.js';
import { sipp } from '@ccfed/services';

const SALES = '400200100';
const GRACE_MS = 2_000;

describe('evapi link lost during traffic', () => {
  let site: RunningSite;

  beforeAll(async () => {
    site = await startSite({ tuning: { ...DEFAULT_TUNING, restartGraceMs: GRACE_MS } });
  });

  afterAll(async () => {
    await site?.stop();
  });

  const queuedSales = async () =>
    (await site.status.getStatus({})).snapshot?.skills.find((s) => s.skill === 'sales')?.queued;

  it('answers queued and new INVITEs with 503 + Retry-After once the site agent stays away past the grace; talking calls finish; queueing resumes after restart', async () => {
    // Two agents on calls that last 4 s, three more callers queued behind them.
    const phonePort = await freePort();
    for (const agentId of ['bj-001', 'bj-004']) {
      await site.control.login({ agentId, contactUri: `sip:${agentId}@127.0.0.1:${phonePort}` });
      await site.control.setReady({ agentId });
    }
    const phones = sipp('agent.xml', ['-p', String(phonePort), '-m', '2', '-timeout', '60s']);
    const talking = sipp('caller.xml', [
      `${site.kamailio.sip.host}:${site.kamailio.sip.port}`,
      ...['-p', String(await freePort()), '-s', SALES, '-key', 'caller', '8613700'],
      ...['-r', '10', '-m', '2', '-d', '4000', '-timeout', '60s'],
    ]);
    await waitFor('both agents on a call', async () => {
      const { agents } = await site.control.listAgents({ skill: 'sales' });
      return agents.filter((a) => a.callId !== '').length === 2 ? true : undefined;
    });
    const queued = [1, 2, 3].map(() =>
      sendSip(site.kamailio.sip, 'INVITE', { user: SALES, waitMs: 15_000 }),
    );
    await waitFor('three calls queued', async () =>
      (await queuedSales()) === 3 ? true : undefined,
    );

    await site.agentProcess.kill();
    const started = Date.now();
    for (const replies of await Promise.all(queued)) {
      expect(replies.map((r) => r.status)).toContain(182);
      expect(replies.at(-1)).toMatchObject({ status: 503, headers: { 'retry-after': '30' } });
    }
    // Kept through the grace (a restarted site agent would have taken them up), then released,
    // not left to the queue timeout (300 s).
    expect(Date.now() - started).toBeGreaterThanOrEqual(GRACE_MS - 1000);
    expect(Date.now() - started).toBeLessThan(GRACE_MS + 8000);

    const whileDown = await sendSip(site.kamailio.sip, 'INVITE', { user: SALES });
    expect(whileDown.at(-1)).toMatchObject({ status: 503, headers: { 'retry-after': '30' } });

    // The two answered calls were never the site agent's to lose: they end normally.
    const talked = await talking.exited;
    expect(talked.code, talked.output.slice(-2000)).toBe(0);
    expect((await phones.exited).code).toBe(0);

    await site.restartAgent();
    const again = sendSip(site.kamailio.sip, 'INVITE', { user: SALES, waitMs: 2000 });
    await waitFor('a new call queued', async () =>
      (await queuedSales()) === 1 ? true : undefined,
    );
    expect((await again).map((r) => r.status)).toContain(182);
  });
});
