// The site agents' SiteAgent gRPC service as the CLI uses it: one channel per call over mutual
// TLS (the operator's certificate; the server's must name the site asked for), every call with a
// deadline, and failures turned into one line an operator can act on.
import { errorMessage, secureChannel, type TlsMaterial } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import type { Site } from '@ccfed/topology';
import { ClientError, createClient, Status } from 'nice-grpc';
import { formatDuration } from './format/duration.js';
import type { SiteReport } from './format/status.js';

/** How long `status` waits for each site. */
export const STATUS_DEADLINE_MS = 2_000;

/** Where the site agent's gRPC server listens, from the topology. */
export function grpcAddress(site: Site): string {
  return `${site.grpc.host}:${site.grpc.port}`;
}

/** Runs `fn` against the site's SiteAgent service as `tls`'s principal, then closes the channel. */
export async function withSiteAgent<T>(
  site: Site,
  tls: TlsMaterial,
  fn: (client: siteApi.SiteAgentClient) => Promise<T>,
): Promise<T> {
  const channel = secureChannel(
    grpcAddress(site),
    tls,
    (server) => server.kind === 'site' && server.site === site.id,
    `site:${site.id}`,
  );
  try {
    return await fn(createClient(siteApi.SiteAgentDefinition, channel));
  } finally {
    channel.close();
  }
}

/** Asks one site for its status within the deadline; never throws. */
export async function siteReport(
  site: Site,
  tls: TlsMaterial,
  deadlineMs = STATUS_DEADLINE_MS,
): Promise<SiteReport> {
  const address = grpcAddress(site);
  try {
    const status = await withSiteAgent(site, tls, (c) =>
      c.getStatus({}, { signal: AbortSignal.timeout(deadlineMs) }),
    );
    return { siteId: site.id, address, reachable: true, status };
  } catch (err) {
    return {
      siteId: site.id,
      address,
      reachable: false,
      error: describeGrpcError(err, deadlineMs),
    };
  }
}

/** One line for a failed call: the gRPC status and its message, or the deadline that passed. */
export function describeGrpcError(err: unknown, deadlineMs: number): string {
  if (err instanceof ClientError) return `${Status[err.code]}: ${shortDetails(err.details)}`;
  // AbortSignal.timeout() rejects with a TimeoutError; a plain abort with an AbortError.
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${formatDuration(deadlineMs)}`;
  }
  return errorMessage(err);
}

/**
 * grpc-js wraps a failed connect in "No connection established. Last error: Error: connect
 * ECONNREFUSED 127.0.0.1:50062. Resolution note: "; the operator needs the last error only.
 */
export function shortDetails(details: string): string {
  const last = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/s.exec(details);
  return (last?.[1] ?? details).trim();
}
