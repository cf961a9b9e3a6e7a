// The agent's desktop over HTTP: log in (at the browser softphone's address of record unless
// another phone is named), ready / not ready with a topology reason, log out, and the wrap-up of a
// call; and the supervisors' live list of a site's agents. Every agent action goes to the agent's
// site over gRPC as service:api acting for the agent (site-desks.ts), so the site decides with its
// own rules whether this agent may do this (authorise.ts); the API checks the request first and
// answers what the site answered. Codes (not-ready reasons, dispositions) come from the topology.
import { wrapUpNoteProblem, MAX_WRAP_UP_NOTE } from '@ccfed/common';
import type { site as siteApi } from '@ccfed/proto';
import { AgentState, ComplaintSeverity } from '@ccfed/proto';
import { agentAorOf, siteById, type Topology } from '@ccfed/topology';
import { z } from 'zod';
import { badRequest, HttpError } from '../http/errors.js';
import { route, type Route } from '../http/route.js';
import type { LiveFeed } from '../live/live-feed.js';
import { API } from '../routes/deps.js';
import type { Clock } from '@ccfed/common';
import { agentPrincipal, checkCode, deskOf, supervisedAgents } from './desk-access.js';
import type { SiteDesks } from './site-desks.js';

export interface DesktopRouteDeps {
  readonly topology: Topology;
  /** The sites' AgentControl (needs the API's certificate); without it the actions answer 503. */
  readonly sites: SiteDesks | undefined;
  /** The live agent states (needs Kafka); without it the supervisor list answers 503. */
  readonly live: LiveFeed | undefined;
  readonly clock: Clock;
}

const STATE_NAMES: Partial<Record<AgentState, string>> = {
  [AgentState.AGENT_STATE_LOGGED_OUT]: 'logged_out',
  [AgentState.AGENT_STATE_READY]: 'ready',
  [AgentState.AGENT_STATE_NOT_READY]: 'not_ready',
  [AgentState.AGENT_STATE_RESERVED]: 'reserved',
  [AgentState.AGENT_STATE_ON_CALL]: 'on_call',
  [AgentState.AGENT_STATE_WRAP_UP]: 'wrap_up',
};

export const deskAgentResponse = z.object({
  agentId: z.string(),
  siteId: z.string(),
  state: z.enum(['logged_out', 'ready', 'not_ready', 'reserved', 'on_call', 'wrap_up', 'unknown']),
  reasonCode: z.string().nullable(),
  callId: z.string().nullable(),
  since: z.string().nullable(),
});

function agentView(siteId: string, status: siteApi.AgentStatus | undefined) {
  if (!status) throw new Error('the site answered without the agent’s status');
  return {
    agentId: status.agentId,
    siteId,
    state: STATE_NAMES[status.state] ?? 'unknown',
    reasonCode: status.reasonCode || null,
    callId: status.callId || null,
    since: status.stateSince ? status.stateSince.toISOString() : null,
  };
}

const loginBody = z.strictObject({
  contactUri: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe(
      "a desk phone's sip: URI; default the agent's address of record, where its browser softphone registers",
    ),
});

const stateBody = z.strictObject({
  state: z.enum(['ready', 'not_ready']),
  reason: z
    .string()
    .max(32)
    .optional()
    .describe("not_ready only, and then required: one of the topology's notReadyReasons"),
});

const SEVERITY = {
  none: ComplaintSeverity.COMPLAINT_SEVERITY_NONE,
  minor: ComplaintSeverity.COMPLAINT_SEVERITY_MINOR,
  major: ComplaintSeverity.COMPLAINT_SEVERITY_MAJOR,
  critical: ComplaintSeverity.COMPLAINT_SEVERITY_CRITICAL,
} as const;

const wrapUpBody = z.strictObject({
  disposition: z.string().min(1).max(32).describe("one of the topology's dispositions"),
  resolvedFirstContact: z.boolean(),
  complaintSeverity: z.enum(['none', 'minor', 'major', 'critical']),
  note: z
    .string()
    .max(MAX_WRAP_UP_NOTE)
    .default('')
    .describe('free text, stored with the call; no phone numbers (refused)'),
});

const supervisorQuery = z.strictObject({
  siteId: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a site id'),
});

export const liveAgentResponse = z.object({
  siteId: z.string(),
  agents: z.array(
    z.object({
      agentId: z.string(),
      tenantId: z.string().nullable(),
      state: z.string(),
      since: z.string(),
      timeInStateMs: z.number(),
      callId: z.string().nullable(),
    }),
  ),
});

const unavailable = () =>
  new HttpError(
    503,
    'this API cannot reach the sites: it needs the topology and its certificate (CCFED_TOPOLOGY, CCFED_TLS_CERT, CCFED_TLS_KEY)',
  );

const code = z.object({ code: z.string(), label: z.string() });
export const deskConfigResponse = z.object({
  notReadyReasons: z.array(code),
  dispositions: z.array(code),
  transferTargets: z.array(z.object({ siteId: z.string(), skill: z.string() })),
});

/**
 * The desktop's choices from the topology. A call may be transferred to a skill at a site where
 * some agent has that skill (where else could it be answered?); the site decides again.
 */
export function deskConfig(topology: Topology): z.infer<typeof deskConfigResponse> {
  const label = ({ code, name }: { code: string; name: string }) => ({ code, label: name });
  return {
    notReadyReasons: topology.notReadyReasons.map(label),
    dispositions: topology.dispositions.map(label),
    transferTargets: topology.sites.flatMap((site) =>
      topology.skills
        .filter((skill) => site.agents.some((a) => skill.id in a.skills))
        .map((skill) => ({ siteId: site.id, skill: skill.id })),
    ),
  };
}

export function desktopRoutes(deps: DesktopRouteDeps): Route[] {
  const { topology } = deps;
  const sites = (): SiteDesks => {
    if (!deps.sites) throw unavailable();
    return deps.sites;
  };
  return [
    route({
      method: 'GET',
      path: `${API}/desktop/config`,
      summary:
        "What the agent's desktop offers to choose from: the topology's not-ready reasons and dispositions, and the skills at each site a call may be transferred to.",
      auth: true,
      roles: ['agent'],
      response: deskConfigResponse,
      async handle() {
        return deskConfig(topology);
      },
    }),
    route({
      method: 'POST',
      path: `${API}/desktop/login`,
      summary:
        "The agent logs in, not ready, at its browser softphone's address of record (sip:<agentId>@<site SIP host>) or at the desk phone it names.",
      auth: true,
      roles: ['agent'],
      body: loginBody,
      response: deskAgentResponse,
      otherErrors: { '503': 'the API cannot reach the site' },
      async handle(ctx) {
        const desk = deskOf(ctx.claims!, topology);
        const contactUri =
          ctx.body.contactUri ?? agentAorOf(siteById(topology, desk.siteId), desk.agentId);
        const res = await sites().call(desk.siteId, agentPrincipal(desk), (c, o) =>
          c.login({ agentId: desk.agentId, contactUri }, o),
        );
        return agentView(desk.siteId, res.agent);
      },
    }),
    route({
      method: 'POST',
      path: `${API}/desktop/state`,
      summary:
        "The agent goes ready, or not ready with one of the topology's reasons (while on a call: after its wrap-up).",
      auth: true,
      roles: ['agent'],
      body: stateBody,
      response: deskAgentResponse,
      otherErrors: {
        '409': 'the agent cannot change so now (e.g. logged out)',
        '503': 'the API cannot reach the site',
      },
      async handle(ctx) {
        const desk = deskOf(ctx.claims!, topology);
        const { state, reason } = ctx.body;
        const person = agentPrincipal(desk);
        if (state === 'ready') {
          if (reason !== undefined) throw badRequest('reason', 'only not_ready takes a reason');
          const res = await sites().call(desk.siteId, person, (c, o) =>
            c.setReady({ agentId: desk.agentId }, o),
          );
          return agentView(desk.siteId, res.agent);
        }
        if (reason === undefined) throw badRequest('reason', 'not_ready needs a reason');
        const reasonCode = checkCode('reason', reason, topology.notReadyReasons);
        const res = await sites().call(desk.siteId, person, (c, o) =>
          c.setNotReady({ agentId: desk.agentId, reasonCode }, o),
        );
        return agentView(desk.siteId, res.agent);
      },
    }),
    route({
      method: 'POST',
      path: `${API}/desktop/logout`,
      summary: 'The agent logs out.',
      auth: true,
      roles: ['agent'],
      response: deskAgentResponse,
      otherErrors: { '409': 'the agent is on a call', '503': 'the API cannot reach the site' },
      async handle(ctx) {
        const desk = deskOf(ctx.claims!, topology);
        const res = await sites().call(desk.siteId, agentPrincipal(desk), (c, o) =>
          c.logout({ agentId: desk.agentId }, o),
        );
        return agentView(desk.siteId, res.agent);
      },
    }),
    route({
      method: 'POST',
      path: `${API}/desktop/calls/{callId}/wrap-up`,
      summary:
        "The agent ends the wrap-up of its call with a disposition (topology), first-contact resolution, complaint severity and a note; the call's WrapUpDone event carries them to ClickHouse.",
      auth: true,
      roles: ['agent'],
      body: wrapUpBody,
      response: deskAgentResponse,
      otherErrors: {
        '409':
          'the agent is not wrapping up this call (another agent’s, or its wrap-up time ran out)',
        '503': 'the API cannot reach the site',
      },
      async handle(ctx) {
        const desk = deskOf(ctx.claims!, topology);
        const callId = ctx.params.callId!;
        const body = ctx.body;
        const disposition = checkCode('disposition', body.disposition, topology.dispositions);
        const problem = wrapUpNoteProblem(body.note);
        if (problem) throw badRequest('note', problem);
        const res = await sites().call(desk.siteId, agentPrincipal(desk), (c, o) =>
          c.completeWrapUp(
            {
              agentId: desk.agentId,
              callId,
              disposition,
              resolvedFirstContact: body.resolvedFirstContact,
              complaintSeverity: SEVERITY[body.complaintSeverity],
              note: body.note,
            },
            o,
          ),
        );
        return agentView(desk.siteId, res.agent);
      },
    }),
    route({
      method: 'GET',
      path: `${API}/supervisor/agents`,
      summary:
        "A site's agents live: state, time in state, current call (a tenant supervisor: its tenant's seats only; agents may not).",
      auth: true,
      query: supervisorQuery,
      response: liveAgentResponse,
      otherErrors: { '503': 'the API runs without Kafka: no live states' },
      async handle(ctx) {
        const { siteId } = ctx.query;
        const visible = supervisedAgents(ctx.claims!, siteId, topology);
        if (!deps.live)
          throw new HttpError(503, 'the live agent states need Kafka (CCFED_KAFKA_BROKERS)');
        const now = deps.clock.now();
        const agents = deps.live.state
          .agentsAt(siteId)
          .filter(visible)
          .map((a) => ({
            agentId: a.agentId,
            tenantId: a.tenantId,
            state: a.state,
            since: new Date(a.since).toISOString(),
            timeInStateMs: Math.max(0, now - a.since),
            callId: a.callId,
          }));
        return { siteId, agents };
      },
    }),
  ];
}
