// GET and PUT /api/v1/routing-policy: the routing policy in force (per skill overflow threshold
// and minimum improvement, per site handicap, staleness, reservation timeout, tenant exclusions)
// and HQ's edits of it. HQ and site supervisors read it; tenant clients may not (their exclusions
// are a contract matter, shown on the topology page). Only HQ edits it: an edit names the version
// it was based on, is checked whole against the topology (400 listing every problem, nothing
// published), refused with 409 when another edit came first, and answered once the broker has it.
import {
  checkPolicyEdit,
  describeProblems,
  policyDocumentSchema,
  policyEditSchema,
  type PolicyDocument,
  type Topology,
} from '@ccfed/topology';
import type { Clock } from '@ccfed/common';
import { HttpError } from '../http/errors.js';
import { route, type Route } from '../http/route.js';
import type { PolicySource } from '../routing-policy/policy-store.js';
import { API } from './deps.js';

export interface RoutingPolicyRouteDeps {
  readonly policy: PolicySource;
  readonly topology: Topology;
  readonly clock: Clock;
}

const PATH = `${API}/routing-policy`;

export function routingPolicyRoutes(deps: RoutingPolicyRouteDeps): Route[] {
  return [
    route({
      method: 'GET',
      path: PATH,
      summary:
        'The routing policy in force: version, who changed it and when, per-skill thresholds, per-site handicaps, staleness, reservation timeout and tenant exclusions (HQ and site supervisors).',
      auth: true,
      roles: ['hq', 'site'],
      response: policyDocumentSchema,
      handle: async () => deps.policy.current,
    }),
    route({
      method: 'PUT',
      path: PATH,
      summary:
        'Replaces the routing policy (HQ only). `version` is the version the edit was based on; the answer is the new document, already with the router and the site agents.',
      auth: true,
      roles: ['hq'],
      body: policyEditSchema,
      bodyCheckedByHandler: true,
      otherErrors: {
        '409': 'the policy changed since the version the edit was based on: reload and edit again',
      },
      response: policyDocumentSchema,
      handle: (ctx) =>
        deps.policy.exclusive(async (): Promise<PolicyDocument> => {
          const checked = checkPolicyEdit(ctx.body, deps.topology);
          if (!checked.ok)
            throw new HttpError(
              400,
              `invalid routing policy: ${describeProblems(checked.problems)}`,
              checked.problems.map((p) => ({ field: p.path || 'body', message: p.message })),
            );
          const held = deps.policy.current;
          const { version, ...settings } = checked.value;
          if (version !== held.version)
            throw new HttpError(
              409,
              `the routing policy is at version ${held.version} (changed by ${held.changedBy} at ${held.changedAt}), not ${version}: reload it and apply your change again`,
            );
          const next: PolicyDocument = {
            ...settings,
            version: held.version + 1,
            changedBy: ctx.claims!.sub,
            changedAt: new Date(deps.clock.now()).toISOString(),
          };
          await deps.policy.publish(next);
          return next;
        }),
    }),
  ];
}
