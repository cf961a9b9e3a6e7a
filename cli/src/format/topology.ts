import type { Topology } from '@ccfed/topology';
import { renderTable } from './table.js';

/** What a valid topology describes: totals, then one row per site. */
export function topologySummary(topology: Topology, file: string): string {
  const agents = topology.sites.reduce((n, s) => n + s.agents.length, 0);
  const numbers = topology.sites.reduce((n, s) => n + s.numbers.length, 0);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const head = [
    `${file}: valid`,
    `federation "${topology.federation.name}", HQ ${topology.federation.hqSite}`,
    [
      plural(topology.sites.length, 'site'),
      plural(agents, 'agent'),
      plural(numbers, 'number'),
      `${plural(topology.tenants.length, 'tenant')} (${topology.tenants.map((t) => t.id).join(', ')})`,
      `${plural(topology.skills.length, 'skill')} (${topology.skills.map((s) => s.id).join(', ')})`,
    ].join(', '),
    '',
  ];
  const table = renderTable(
    [
      { header: 'SITE' },
      { header: 'SIP' },
      { header: 'GRPC' },
      { header: 'AGENTS', align: 'right' },
      { header: 'NUMBERS', align: 'right' },
      { header: 'FALLBACK' },
    ],
    topology.sites.map((s) => [
      s.id,
      `${s.sip.transport}:${s.sip.host}:${s.sip.port}`,
      `${s.grpc.host}:${s.grpc.port}`,
      String(s.agents.length),
      String(s.numbers.length),
      s.fallback.action === 'reject'
        ? `reject ${s.fallback.code}, Retry-After ${s.fallback.retryAfterSeconds}`
        : `relay ${s.fallback.uri}`,
    ]),
  );
  return `${head.join('\n')}\n${table}`;
}
