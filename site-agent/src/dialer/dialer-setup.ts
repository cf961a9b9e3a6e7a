// The site's outbound dialer as the site agent process starts it (docs/dialer.md): for a site
// whose topology has an outbound trunk, a SIP.js user agent signed in to the site's Kamailio with
// the site's SIP secret, rtpengine for the recorded message, and the attempts' call events.
import type { Clock } from '@ccfed/common';
import type { CallEvent, EventMeta } from '@ccfed/proto';
import { NgClient } from '@ccfed/services';
import type { Site, Topology } from '@ccfed/topology';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DialerEvents } from './dialer-events.js';
import { DialerMessages } from './dialer-message.js';
import type { DialRequest } from './port.js';
import { SipDialer } from './sip-dialer.js';

export interface DialerSetupDeps {
  readonly topology: Topology;
  readonly site: Site;
  readonly sipSecret: string | undefined;
  readonly callerHashKey: string | undefined;
  readonly dataDir: string;
  /** Where the agent takes calls: the contact it logged in with ('' when logged out). */
  contactOf(agentId: string): string;
  stamp(tenantId: string): EventMeta;
  publish(event: CallEvent): Promise<void>;
  /** A connected attempt's call ended (either side hung up): its agent goes to wrap-up. */
  onCallEnded(request: DialRequest): void;
  readonly clock: Clock;
  readonly log: Logger;
}

/** The site's dialer, or undefined for a site without an outbound trunk. */
export async function startSiteDialer(
  deps: DialerSetupDeps,
): Promise<{ readonly dialer: SipDialer; stop(): Promise<void> } | undefined> {
  if (deps.site.sip.trunk === undefined) return undefined;
  if (!deps.sipSecret)
    throw new Error(
      `site ${deps.site.id} has an outbound trunk (sip.trunk): its dialer needs CCFED_SIP_SECRET, the secret its Kamailio checks SIP credentials with`,
    );
  const log = deps.log.child({ component: 'dialer' });
  const ng = await NgClient.open({ host: '127.0.0.1', port: deps.site.media.ngPort });
  const messages = new DialerMessages(deps.topology, join(deps.dataDir, 'dialer-messages'));
  const events = new DialerEvents({
    stamp: deps.stamp,
    publish: deps.publish,
    ...(deps.callerHashKey ? { callerHashKey: deps.callerHashKey } : {}),
    now: () => deps.clock.now(),
    onError: (err) =>
      log.error({ event: 'dialer_event_lost', err: String(err) }, 'dialer event not stored'),
  });
  const dialer = await SipDialer.start({
    site: deps.site,
    sipSecret: deps.sipSecret,
    agentUri: (agentId) => deps.contactOf(agentId) || undefined,
    messageFile: (tenantId) => messages.fileOf(tenantId),
    media: ng,
    clock: deps.clock,
    log,
    onNews: (request, news) => {
      events.onNews(request, news);
      if (news.kind === 'ended') deps.onCallEnded(request);
    },
  });
  // every tenant's message ready before the first customer-first call needs it
  for (const tenant of deps.topology.tenants)
    messages
      .fileOf(tenant.id)
      .catch((err: unknown) =>
        log.error(
          { event: 'dialer_message_render_failed', tenant: tenant.id, err: String(err) },
          'message not rendered',
        ),
      );
  log.info({ event: 'dialer_started', trunk: deps.site.sip.trunk }, 'outbound dialer ready');
  return {
    dialer,
    stop: async () => {
      await dialer.stop();
      await ng.close();
    },
  };
}
