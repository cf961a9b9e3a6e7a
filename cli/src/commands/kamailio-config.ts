import { writeFileSync } from 'node:fs';
import { parseCommandArgs, positionals } from '../args.js';
import { EXIT, OperationError } from '../errors.js';
import { findSite, readTopology, topologyFile } from '../topology.js';
import type { Command } from './context.js';

const usage = `usage: ccfed kamailio-config <site> [--out FILE] [--check] [--topology FILE]

Prints the kamailio.cfg the site runs: the site's values from the topology in front of
services/kamailio/ccfed.cfg (the same generator the launcher and the deployment use). It reads
address.list (peer sites and trusted sources) and, with a TLS listener, tls.cfg from its own
directory; --check runs kamailio -c on all of them.

  --out FILE       write it to FILE instead of stdout
  --check          also run kamailio -c on it and say whether Kamailio accepts it
  --topology FILE  the topology file (default: $CCFED_TOPOLOGY, else topology/example.yaml)

Exit status: 0 done (and accepted with --check), 1 kamailio -c rejected it or FILE could not be
written, 2 bad input (unknown site, unusable topology file).`;

export const kamailioConfigCommand: Command = {
  name: 'kamailio-config',
  summary: "a site's generated kamailio.cfg (--check runs kamailio -c)",
  usage,
  async run(argv, { env, io }) {
    const { values, positionals: rest } = parseCommandArgs(
      argv,
      { out: { type: 'string' }, check: { type: 'boolean' }, topology: { type: 'string' } },
      usage,
    );
    if (values.help) {
      io.out(usage);
      return EXIT.ok;
    }
    const [siteId] = positionals(rest, ['site'], usage);
    const file = topologyFile(values.topology, env);
    const topology = readTopology(file);
    const site = findSite(topology, siteId!, file);
    // Loaded here, not at start-up: the engines package is more than the other commands need.
    const { checkSiteKamailio, kamailioConfig } = await import('@ccfed/services');
    const config = kamailioConfig(topology, site.id);

    if (values.out) {
      try {
        writeFileSync(values.out, config);
      } catch (err) {
        throw new OperationError(`cannot write ${values.out}: ${(err as Error).message}`);
      }
      io.err(`wrote the kamailio.cfg of site ${site.id} to ${values.out}`);
    } else {
      io.out(config);
    }
    if (!values.check) return EXIT.ok;
    const result = await checkSiteKamailio(topology, site.id);
    if (result.ok) {
      io.err(`ok: kamailio -c accepts the config of site ${site.id}`);
      return EXIT.ok;
    }
    io.err(`FAILED: kamailio -c rejects the config of site ${site.id}:\n${result.output}`);
    return EXIT.failed;
  },
};
