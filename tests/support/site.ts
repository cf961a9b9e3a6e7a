import { join } from 'node:path';
import { silentLogger } from '@ccfed/common';
import { startKamailio, type KamailioInstance } from '@ccfed/services';
import { EvapiLink } from '@ccfed/site-agent/kamailio/evapi-link';
import type { KamailioEvent } from '@ccfed/site-agent/kamailio/messages';
import { inject } from 'vitest';
import { uniqueName, waitFor } from './engines.js';
import { certFor } from './security.js';
import { exampleTopologyOnFreePorts } from './topology.js';

/**
 * One site's Kamailio from the example topology (edited by `mutate`), on free ports, with its data
 * in this run's dir.
 */
export async function startSiteKamailio(
  siteId = 'beijing',
  mutate?: (doc: any) => void,
): Promise<KamailioInstance> {
  return startKamailio({
    topology: await exampleTopologyOnFreePorts(mutate),
    siteId,
    dataDir: join(inject('runDir'), uniqueName('kamailio')),
    tls: await certFor({ kind: 'site', site: siteId }),
  });
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
