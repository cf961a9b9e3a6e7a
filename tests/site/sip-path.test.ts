// The SIP path of a site: a sipp caller dials a contact-center number at the site's Kamailio, the
// site agent's evapi link relays the suspended INVITE to an agent's phone (sipp), and ACK and BYE
// follow Record-Route; Kamailio reports answer and hang-up back over evapi.
import { freePort, type KamailioInstance } from '@ccfed/services';
import type { EvapiLink } from '@ccfed/site-agent/kamailio/evapi-link';
import type { KamailioEvent } from '@ccfed/site-agent/kamailio/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/engines.js';
import { sipp } from '@ccfed/services';
import { openEvapiLink, startSiteKamailio } from '../support/site.js';

describe('site SIP path through Kamailio and evapi', () => {
  let kam: KamailioInstance;
  let link: EvapiLink;
  const events: KamailioEvent[] = [];
  let agentPort: number;

  beforeAll(async () => {
    kam = await startSiteKamailio();
    agentPort = await freePort();
    link = await openEvapiLink(kam, (ev) => {
      events.push(ev);
      if (ev.event === 'invite') {
        link.send({
          action: 'relay',
          tindex: ev.tindex,
          tlabel: ev.tlabel,
          callid: ev.callid,
          agent: 'bj-001',
          uri: `sip:bj-001@127.0.0.1:${agentPort}`,
        });
      }
    });
  });

  afterAll(async () => {
    await link?.stop();
    await kam?.stop();
  });

  it('connects 10 calls caller → agent with ACK and BYE routed through Kamailio, and reports answer and end of each', async () => {
    const agent = sipp('agent.xml', ['-p', String(agentPort), '-m', '10', '-timeout', '60s']);
    const caller = sipp('caller.xml', [
      `${kam.sip.host}:${kam.sip.port}`,
      '-p',
      String(await freePort()),
      '-s',
      '400200100',
      '-key',
      'caller',
      '8613700',
      '-r',
      '5',
      '-m',
      '10',
      '-d',
      '500',
      '-timeout',
      '60s',
    ]);
    const callerResult = await caller.exited;
    expect(callerResult.code, callerResult.output.slice(-2000)).toBe(0);
    expect((await agent.exited).code).toBe(0);
    const byEvent = (name: string) =>
      new Set(events.filter((e) => e.event === name).map((e) => ('callid' in e ? e.callid : '')));
    await waitFor('all dialogs ended', async () =>
      byEvent('ended').size === 10 ? true : undefined,
    );
    expect(byEvent('invite').size).toBe(10);
    expect(byEvent('answered')).toEqual(byEvent('invite'));
    expect(byEvent('ended')).toEqual(byEvent('invite'));
    const ended = events.filter(
      (e): e is Extract<KamailioEvent, { event: 'ended' }> => e.event === 'ended',
    );
    expect(ended.every((e) => e.agent === 'bj-001' && e.by === 'caller')).toBe(true);
  });
});
