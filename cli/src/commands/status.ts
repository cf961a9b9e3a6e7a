import { parseCommandArgs, positionals } from '../args.js';
import { EXIT } from '../errors.js';
import { statusJson, statusTable } from '../format/status.js';
import { siteReport, STATUS_DEADLINE_MS } from '../site-agent.js';
import { readTls, TLS_OPTIONS, TLS_USAGE, tlsFiles } from '../tls.js';
import { readTopology, topologyFile } from '../topology.js';
import type { Command } from './context.js';

const usage = `usage: ccfed status [--json] [--topology FILE] [--tls-cert FILE --tls-key FILE --tls-ca FILE]

Asks every site of the topology for its status (SiteAgent.GetStatus at the site's grpc address),
all at once, each within ${STATUS_DEADLINE_MS / 1000} s, and prints one row per site: reachable, Kamailio link
(evapi), Kafka link, events buffered on disk for Kafka, drained (with the reason), and per skill
queued/staffed/idle calls and agents with the expected wait of a new call.

  --json           one JSON document instead of the table
  --topology FILE  the topology file (default: $CCFED_TOPOLOGY, else topology/example.yaml)
${TLS_USAGE}

Exit status: 0 when every site answered, 1 when any site is unreachable or refused (its row says
why), 2 for bad input (unknown option, unusable topology file or certificate).`;

export const statusCommand: Command = {
  name: 'status',
  summary: 'every site: links, buffered events, drain, queues and expected waits',
  usage,
  async run(argv, { env, io }) {
    const { values, positionals: rest } = parseCommandArgs(
      argv,
      { json: { type: 'boolean' }, topology: { type: 'string' }, ...TLS_OPTIONS },
      usage,
    );
    if (values.help) {
      io.out(usage);
      return EXIT.ok;
    }
    positionals(rest, [], usage);
    const topology = readTopology(topologyFile(values.topology, env));
    const tls = readTls(tlsFiles(values, env));
    const reports = await Promise.all(topology.sites.map((site) => siteReport(site, tls)));
    io.out(values.json ? JSON.stringify(statusJson(reports), null, 2) : statusTable(reports));
    const down = reports.filter((r) => !r.reachable).map((r) => r.siteId);
    if (down.length === 0) return EXIT.ok;
    io.err(`unreachable: ${down.join(', ')}`);
    return EXIT.failed;
  },
};
