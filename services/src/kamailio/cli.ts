// Kamailio config tools for a topology file:
//   tsx services/src/kamailio/cli.ts check <topology.yaml>            kamailio -c on every site's config
//   tsx services/src/kamailio/cli.ts generate <topology.yaml> <site>  print one site's kamailio.cfg
// (kamailio.cfg reads address.list and, with TLS, tls.cfg beside it: see kamailioSideFiles)
import { loadTopology, TopologyError } from '@ccfed/topology';
import { checkSiteKamailio } from './check.js';
import { kamailioConfig } from './generate.js';

const [command, file, siteId] = process.argv.slice(2);

async function main(): Promise<number> {
  if (
    !file ||
    (command !== 'check' && command !== 'generate') ||
    (command === 'generate' && !siteId)
  ) {
    console.error('usage: cli.ts check <topology.yaml> | generate <topology.yaml> <site-id>');
    return 2;
  }
  const topology = loadTopology(file);
  if (command === 'generate') {
    process.stdout.write(kamailioConfig(topology, siteId!));
    return 0;
  }
  let failed = 0;
  for (const site of topology.sites) {
    const result = await checkSiteKamailio(topology, site.id);
    if (result.ok) {
      console.log(`ok      ${site.id}: kamailio -c accepts the generated config`);
    } else {
      failed += 1;
      console.error(
        `FAILED  ${site.id}: kamailio -c rejects the generated config:\n${result.output}`,
      );
    }
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(
      err instanceof TopologyError ? err.message : err instanceof Error ? err.message : String(err),
    );
    process.exit(1);
  },
);
