import type { Agent, Site, Skill, Topology } from './schema.js';

/** Finds a site by id; throws naming the known sites when there is none. */
export function siteById(topology: Topology, siteId: string): Site {
  const site = topology.sites.find((s) => s.id === siteId);
  if (!site) {
    const known = topology.sites.map((s) => s.id).join(', ');
    throw new Error(`unknown site "${siteId}" (the topology has: ${known})`);
  }
  return site;
}

/** Finds a skill by id, or undefined. */
export function skillById(topology: Topology, skillId: string): Skill | undefined {
  return topology.skills.find((s) => s.id === skillId);
}

/** Every agent of the federation with the site it belongs to. */
export function allAgents(topology: Topology): { site: Site; agent: Agent }[] {
  return topology.sites.flatMap((site) => site.agents.map((agent) => ({ site, agent })));
}
