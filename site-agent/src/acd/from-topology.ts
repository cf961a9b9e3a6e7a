import type { Site, Topology } from '@ccfed/topology';
import type { AcdAgent, AcdSkill } from './acd.js';

/** The ACD's view of a site's skills and agents, from the topology file. */
export function acdSetup(
  topology: Topology,
  site: Site,
): { skills: AcdSkill[]; agents: AcdAgent[] } {
  return {
    skills: topology.skills.map((s) => ({
      id: s.id,
      serviceLevelThresholdMs: s.serviceLevel.thresholdSeconds * 1000,
      wrapUpMs: s.wrapUpSeconds * 1000,
      averageHandleMs: s.averageHandleSeconds * 1000,
      ...(s.secondChoice
        ? {
            secondChoice: {
              skill: s.secondChoice.skill,
              afterMs: s.secondChoice.afterSeconds * 1000,
            },
          }
        : {}),
    })),
    agents: site.agents.map((a) => ({ id: a.id, tenantId: a.tenant, skills: a.skills })),
  };
}
