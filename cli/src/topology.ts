import { loadTopology, TopologyError, type Site, type Topology } from '@ccfed/topology';
import { UsageError } from './errors.js';

/** The example federation, used when neither --topology nor CCFED_TOPOLOGY names a file. */
export const EXAMPLE_TOPOLOGY = new URL('../../topology/example.yaml', import.meta.url).pathname;

/** Which topology file a command reads: --topology, else $CCFED_TOPOLOGY, else the example. */
export function topologyFile(option: string | undefined, env: NodeJS.ProcessEnv): string {
  return option || env.CCFED_TOPOLOGY || EXAMPLE_TOPOLOGY;
}

/** Loads the topology; an unusable file is the operator's input to fix (exit 2). */
export function readTopology(file: string): Topology {
  try {
    return loadTopology(file);
  } catch (err) {
    if (err instanceof TopologyError) throw new UsageError(err.message);
    throw err;
  }
}

/** The site with this id, or a UsageError naming the sites the topology has. */
export function findSite(topology: Topology, siteId: string, file: string): Site {
  const site = topology.sites.find((s) => s.id === siteId);
  if (!site) {
    const known = topology.sites.map((s) => s.id).join(', ');
    throw new UsageError(`unknown site "${siteId}": ${file} has ${known}`);
  }
  return site;
}
