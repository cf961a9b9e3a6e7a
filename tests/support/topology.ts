import { readFileSync } from 'node:fs';
import { assignFreePorts } from '@ccfed/services';
import { parseTopology, type Topology } from '@ccfed/topology';
import { parse, stringify } from 'yaml';

export const EXAMPLE_TOPOLOGY = new URL('../../topology/example.yaml', import.meta.url).pathname;

/**
 * The example topology with every listening port replaced by a free one, so that tests never
 * collide with each other or with a local federation running on the same machine.
 */
export async function exampleTopologyOnFreePorts(mutate?: (doc: any) => void): Promise<Topology> {
  const doc = parse(readFileSync(EXAMPLE_TOPOLOGY, 'utf8'));
  await assignFreePorts(doc);
  mutate?.(doc);
  // A test that leaves sites out means their peer links too.
  const ids = new Set(doc.sites.map((s: { id: string }) => s.id));
  doc.peerLinks = (doc.peerLinks ?? []).filter((l: { sites: string[] }) =>
    l.sites.every((id) => ids.has(id)),
  );
  return parseTopology(stringify(doc), `${EXAMPLE_TOPOLOGY} (free ports)`);
}
