// What the API's routes that act at the sites on a person's behalf (callbacks, campaigns) share:
// the sites a request names, a site's gRPC refusal as the HTTP status the caller acts on, and
// asking every site the caller may see, with the ones that did not answer named.

import type { Topology } from '@ccfed/topology';
import { ClientError, Status } from 'nice-grpc';
import type { Claims } from '../auth/token.js';
import { badRequest, HttpError } from '../http/errors.js';

/** 400 unless `siteId` is a site of the topology. */
export function knownSite(topology: Topology, siteId: string): void {
  if (!topology.sites.some((s) => s.id === siteId))
    throw badRequest('siteId', `no site ${siteId} in the topology`);
}

/** The site's refusal as the HTTP status the caller acts on; its message is for people. */
export function siteRefusal(err: unknown): never {
  if (!(err instanceof ClientError)) throw err;
  const status: Partial<Record<Status, number>> = {
    [Status.INVALID_ARGUMENT]: 400,
    [Status.PERMISSION_DENIED]: 403,
    [Status.NOT_FOUND]: 404,
    [Status.ALREADY_EXISTS]: 409,
    [Status.FAILED_PRECONDITION]: 409,
    [Status.RESOURCE_EXHAUSTED]: 429,
  };
  throw new HttpError(status[err.code] ?? 502, err.details);
}

/**
 * Asks the site the query names, or every site the caller may see (a site's supervisor: its own),
 * at once. One site asked: its refusal is the answer. Several: those that did not answer are
 * listed as unreachable and the others' items returned.
 */
export async function askSites<T>(
  topology: Topology,
  claims: Claims,
  site: string | undefined,
  ask: (siteId: string) => Promise<readonly T[]>,
): Promise<{ items: T[]; unreachable: string[] }> {
  if (site !== undefined) knownSite(topology, site);
  const siteIds =
    site !== undefined
      ? [site]
      : claims.role === 'site'
        ? [claims.siteId]
        : topology.sites.map((s) => s.id);
  const answers = await Promise.allSettled(siteIds.map((id) => ask(id)));
  const items: T[] = [];
  const unreachable: string[] = [];
  answers.forEach((a, i) => {
    if (a.status === 'fulfilled') items.push(...a.value);
    else if (siteIds.length === 1) siteRefusal(a.reason);
    else unreachable.push(siteIds[i]!);
  });
  return { items, unreachable };
}
