// The routing policy as a versioned document: the part of the topology that HQ may change while
// the federation runs (each skill's overflow threshold and minimum improvement, each site's
// handicap, staleness, reservation timeout, tenant exclusions). Version 0 is what the topology
// file says; every edit through the API publishes version n + 1 to the compacted
// `routing-policy` topic, which the API, the router and the site agents follow.
//
// This is the one definition of the document and of what makes it valid. Validation is pure and
// reports every problem at once, each with its path (`skills.sales.thresholdSeconds: ...`), so a
// form can show each next to its field.
import { z } from 'zod';
import type { Topology } from './schema.js';

/** Allowed range of each number in the policy, both ends included. */
export const POLICY_BOUNDS = {
  /** A call asks the router after waiting (expected) this long: 1 s .. 1 h. */
  thresholdSeconds: { min: 1, max: 3600 },
  /** A call that has waited this long asks whatever its forecast (optional): 1 s .. 1 h. */
  askAfterWaitingSeconds: { min: 1, max: 3600 },
  /** How much sooner another site must answer: 0 (any gain) .. 1 h. */
  minImprovementSeconds: { min: 0, max: 3600 },
  /** Added to a site's expected wait as a target; negative favours the site: -10 .. +10 min. */
  handicapSeconds: { min: -600, max: 600 },
  /** Site figures older than this are not trusted: 1 s .. 5 min. */
  staleAfterSeconds: { min: 1, max: 300 },
  /** Capacity reserved for an overflowed call is freed after this: 1 s .. 10 min. */
  reservationTimeoutSeconds: { min: 1, max: 600 },
} as const;

type Bounded = keyof typeof POLICY_BOUNDS;

function bounded(name: Bounded) {
  const { min, max } = POLICY_BOUNDS[name];
  const range = `must be between ${min} and ${max}`;
  return z
    .number({ error: (i) => (i.input == null ? 'is required' : 'must be a number') })
    .min(min, range)
    .max(max, range);
}

const skillPolicy = z.strictObject({
  thresholdSeconds: bounded('thresholdSeconds'),
  minImprovementSeconds: bounded('minImprovementSeconds'),
  askAfterWaitingSeconds: bounded('askAfterWaitingSeconds').optional(),
});
const sitePolicy = z.strictObject({ handicapSeconds: bounded('handicapSeconds') });
const version = z
  .number({ error: (i) => (i.input == null ? 'is required' : 'must be a number') })
  .int('must be a whole number')
  .min(0, 'must be 0 or more');

const settingsShape = {
  /** Skill id → its overflow policy; a skill not listed never overflows. */
  skills: z.record(z.string(), skillPolicy),
  /** Site id → its handicap; every site of the topology is listed. */
  sites: z.record(z.string(), sitePolicy),
  staleAfterSeconds: bounded('staleAfterSeconds'),
  reservationTimeoutSeconds: bounded('reservationTimeoutSeconds'),
  /** Tenant id → sites that must never receive its calls; a tenant not listed may go anywhere. */
  tenantExclusions: z.record(z.string(), z.array(z.string())),
};

/** An edit as the API receives it: the settings and the version they were based on. */
export const policyEditSchema = z.strictObject({ version, ...settingsShape });

/** The document on the topic: the settings, their version, who changed them and when. */
export const policyDocumentSchema = z.strictObject({
  version,
  changedBy: z.string().min(1, 'is required'),
  changedAt: z.iso.datetime({ message: 'must be an ISO 8601 UTC time' }),
  ...settingsShape,
});

export type PolicyEdit = z.output<typeof policyEditSchema>;
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
export type PolicySettings = Omit<PolicyEdit, 'version'>;

/** One thing wrong with a policy: where (`sites.beijing.handicapSeconds`) and what. */
export interface PolicyProblem {
  readonly path: string;
  readonly message: string;
}

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly PolicyProblem[] };

/** Who "changed" version 0. */
export const TOPOLOGY_FILE_AUTHOR = 'topology file';

/** Version 0: the policy the topology file describes. */
export function policyFromTopology(topology: Topology): PolicyDocument {
  return {
    version: 0,
    changedBy: TOPOLOGY_FILE_AUTHOR,
    changedAt: new Date(0).toISOString(),
    skills: Object.fromEntries(
      topology.skills.flatMap((s) =>
        s.overflow
          ? [
              [
                s.id,
                {
                  thresholdSeconds: s.overflow.expectedWaitThresholdSeconds,
                  minImprovementSeconds: s.overflow.minImprovementSeconds,
                  ...(s.overflow.askAfterWaitingSeconds === undefined
                    ? {}
                    : { askAfterWaitingSeconds: s.overflow.askAfterWaitingSeconds }),
                },
              ],
            ]
          : [],
      ),
    ),
    sites: Object.fromEntries(
      topology.sites.map((s) => [s.id, { handicapSeconds: s.handicapSeconds }]),
    ),
    staleAfterSeconds: topology.routing.staleAfterSeconds,
    reservationTimeoutSeconds: topology.routing.reservationTimeoutSeconds,
    tenantExclusions: Object.fromEntries(
      topology.routing.tenantRestrictions.map((r) => [r.tenant, [...r.excludedSites]]),
    ),
  };
}

/** An edit checked against the topology: every problem of shape, range and reference at once. */
export function checkPolicyEdit(input: unknown, topology: Topology): Checked<PolicyEdit> {
  return check(policyEditSchema, input, topology);
}

/** A document (from the topic) checked against this process's topology. */
export function checkPolicyDocument(input: unknown, topology: Topology): Checked<PolicyDocument> {
  return check(policyDocumentSchema, input, topology);
}

/** The bytes of a document on the topic (UTF-8 JSON). */
export function encodePolicyDocument(doc: PolicyDocument): Buffer {
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** A message of the topic back to a document, checked against the topology. */
export function decodePolicyDocument(
  value: Buffer | null,
  topology: Topology,
): Checked<PolicyDocument> {
  if (!value || value.length === 0)
    return { ok: false, problems: [{ path: '', message: 'empty message' }] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, problems: [{ path: '', message: 'not JSON' }] };
  }
  return checkPolicyDocument(parsed, topology);
}

/**
 * Whether a process holding `held` takes `next`. Equal versions are taken too: the topic has one
 * partition, so every reader sees the same order and ends on the same document as compaction.
 */
export function supersedes(held: PolicyDocument, next: PolicyDocument): boolean {
  return next.version >= held.version;
}

/** "path: message" lines, one per problem, for logs and error messages. */
export function describeProblems(problems: readonly PolicyProblem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
}

function check<T>(schema: z.ZodType<T>, input: unknown, topology: Topology): Checked<T> {
  const parsed = schema.safeParse(input);
  const problems: PolicyProblem[] = parsed.success
    ? []
    : parsed.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((k) => ({ path: dotted([...issue.path, k]), message: 'unknown field' }))
          : [{ path: dotted(issue.path), message: issue.message }],
      );
  // References are checked on whatever of the input has the right shape, so that a form with a
  // bad number and an unknown site hears about both at once.
  problems.push(...referenceProblems(input, topology));
  return problems.length === 0
    ? { ok: true, value: (parsed as { data: T }).data }
    : { ok: false, problems };
}

function referenceProblems(input: unknown, topology: Topology): PolicyProblem[] {
  if (!isObject(input)) return [];
  const problems: PolicyProblem[] = [];
  const fail = (path: string, message: string) => problems.push({ path, message });
  const skillIds = topology.skills.map((s) => s.id);
  const siteIds = topology.sites.map((s) => s.id);
  const tenantIds = topology.tenants.map((t) => t.id);
  const known = (ids: readonly string[]) => `known: ${ids.join(', ')}`;

  if (isObject(input.skills)) {
    for (const id of Object.keys(input.skills))
      if (!skillIds.includes(id))
        fail(`skills.${id}`, `unknown skill "${id}" (${known(skillIds)})`);
  }
  if (isObject(input.sites)) {
    for (const id of Object.keys(input.sites))
      if (!siteIds.includes(id)) fail(`sites.${id}`, `unknown site "${id}" (${known(siteIds)})`);
    for (const id of siteIds)
      if (!(id in input.sites)) fail(`sites.${id}`, 'is required: every site has a handicap');
  }
  if (isObject(input.tenantExclusions)) {
    for (const [tenant, sites] of Object.entries(input.tenantExclusions)) {
      const at = `tenantExclusions.${tenant}`;
      if (!tenantIds.includes(tenant)) fail(at, `unknown tenant "${tenant}" (${known(tenantIds)})`);
      if (!Array.isArray(sites)) continue;
      const seen = new Set<unknown>();
      sites.forEach((site: unknown, i) => {
        if (typeof site !== 'string') return;
        if (!siteIds.includes(site))
          fail(`${at}.${i}`, `unknown site "${site}" (${known(siteIds)})`);
        else if (seen.has(site)) fail(`${at}.${i}`, `site "${site}" is listed twice`);
        seen.add(site);
      });
      if (siteIds.every((s) => seen.has(s)))
        fail(at, `excludes every site: the tenant's calls could not be answered anywhere`);
    }
  }
  return problems;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function dotted(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** What one message of the topic did to a PolicyHolder. */
export type PolicyOffer =
  | { readonly outcome: 'applied'; readonly document: PolicyDocument }
  | { readonly outcome: 'older'; readonly document: PolicyDocument }
  | { readonly outcome: 'rejected'; readonly reason: string };

/**
 * The policy a process goes by: the topology's until the topic says otherwise, then the latest
 * valid document read from it. A message that is not a valid document for this process's
 * topology is rejected and the held policy stays, so a bad message never half-applies.
 */
export class PolicyHolder {
  private held: PolicyDocument;

  constructor(private readonly topology: Topology) {
    this.held = policyFromTopology(topology);
  }

  get current(): PolicyDocument {
    return this.held;
  }

  /** Takes one message of the routing-policy topic. */
  offer(value: Buffer | null): PolicyOffer {
    const r = decodePolicyDocument(value, this.topology);
    if (!r.ok) return { outcome: 'rejected', reason: describeProblems(r.problems) };
    return this.take(r.value);
  }

  /** Takes a document this process published itself (already checked). */
  take(document: PolicyDocument): PolicyOffer {
    if (!supersedes(this.held, document)) return { outcome: 'older', document };
    this.held = document;
    return { outcome: 'applied', document };
  }
}
