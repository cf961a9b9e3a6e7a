import { parseCommandArgs, positionals } from '../args.js';
import { EXIT } from '../errors.js';
import { topologySummary } from '../format/topology.js';
import { readTopology } from '../topology.js';
import type { Command } from './context.js';

const usage = `usage: ccfed validate <topology-file>

Loads a topology file with the loader every ccfed process uses and prints what it describes
(sites with their SIP and gRPC addresses, agents, numbers, tenants, skills), or every problem
in it with the file and the path inside it (e.g. sites[1].agents[0].skills).

Exit status: 0 valid, 2 not valid (or not readable).`;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a topology file and summarise it',
  usage,
  async run(argv, { io }) {
    const { values, positionals: rest } = parseCommandArgs(argv, {}, usage);
    if (values.help) {
      io.out(usage);
      return EXIT.ok;
    }
    const [file] = positionals(rest, ['topology-file'], usage);
    io.out(topologySummary(readTopology(file!), file!));
    return EXIT.ok;
  },
};
