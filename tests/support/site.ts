import { join } from 'node:path';
import { silentLogger } from '@ccfed/common';
import {
  startKamailio,
  startSiteRtpengine,
  type KamailioInstance,
  type RtpengineInstance,
} from '@ccfed/services';
import { EvapiLink } from '@ccfed/site-agent/kamailio/evapi-link';
import type { KamailioEvent } from '@ccfed/site-agent/kamailio/messages';
import { inject } from 'vitest';
import { uniqueName, waitFor } from './engines.js';
import { certFor } from './security.js';
import { exampleTopologyOnFreePorts } from './topology.js';

/**
 * One site's Kamailio from the example topology (edited by `mutate`), on free ports, with its data
 * in this run's dir, and the site's rtpengine it anchors calls at (started first; stop() stops
 * both).
 */
export async function startSiteKamailio(
  siteId = 'beijing',
  mutate?: (doc: any) => void,
): Promise<KamailioInstance & { readonly rtpengine: RtpengineInstance }> {
  const topology = await exampleTopologyOnFreePorts(mutate);
  const rtpengine = await startSiteRtpengine({
    topology,
    siteId,
    dataDir: join(inject('runDir'), uniqueName('rtpengine')),
  });
  try {
    const kam = await startKamailio({
      topology,
      siteId,
      dataDir: join(inject('runDir'), uniqueName('kamailio')),
      tls: await certFor({ kind: 'site', site: siteId }),
    });
    return {
      ...kam,
      rtpengine,
      stop: async () => {
        await kam.stop();
        await rtpengine.stop();
      },
    };
  } catch (err) {
    await rtpengine.stop();
    throw err;
  }
}

/** An evapi link to `kam`, connected before it is returned. */
export async function openEvapiLink(
  kam: KamailioInstance,
  onEvent: (event: KamailioEvent) => void,
): Promise<EvapiLink> {
  const link = new EvapiLink({
    host: kam.evapi.host,
    port: kam.evapi.port,
    log: silentLogger(),
    onEvent,
  });
  link.start();
  await waitFor('evapi connected', async () => (link.isConnected ? true : undefined));
  return link;
}
