// The API's client of the sites' AgentControl, acting for a person: every call carries the
// person's principal in x-ccfed-on-behalf-of and goes over mutual TLS as service:api, the one
// certificate a site agent honours that header from (site-agent/src/grpc/authorise.ts). The site
// then decides as if the person had called. One channel per site, opened on first use; deadlines
// on every call. A site's refusal becomes the HTTP status the caller should see.
import type { Principal } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import { ClientError, createClient, Status, type Metadata } from 'nice-grpc';
import { HttpError } from '../http/errors.js';
import {
  actingFor,
  SiteChannels,
  UnknownSiteError,
  type SiteChannelDeps,
} from '../sites/site-channels.js';

const DEADLINE_MS = 5_000;

export class SiteDesks {
  private readonly channels: SiteChannels;

  constructor(deps: SiteChannelDeps) {
    this.channels = new SiteChannels(deps);
  }

  /**
   * Calls `rpc` of `siteId`'s AgentControl as `person`; a gRPC refusal is thrown as the HTTP
   * error that says the same (400, 403, 404, 409, 503).
   */
  async call<T>(
    siteId: string,
    person: Principal,
    rpc: (client: siteApi.AgentControlClient, options: CallOptions) => Promise<T>,
  ): Promise<T> {
    try {
      const client = createClient(siteApi.AgentControlDefinition, this.channels.of(siteId));
      return await rpc(client, actingFor(person, DEADLINE_MS));
    } catch (err) {
      throw httpErrorOf(err, siteId);
    }
  }

  close(): void {
    this.channels.close();
  }
}

export interface CallOptions {
  readonly metadata: Metadata;
  readonly signal: AbortSignal;
}

const STATUS_TO_HTTP: Partial<Record<Status, number>> = {
  [Status.INVALID_ARGUMENT]: 400,
  [Status.PERMISSION_DENIED]: 403,
  [Status.NOT_FOUND]: 404,
  [Status.FAILED_PRECONDITION]: 409,
  [Status.UNAVAILABLE]: 503,
  [Status.DEADLINE_EXCEEDED]: 503,
  [Status.CANCELLED]: 503,
};

/** The HTTP answer for a site agent's gRPC refusal; anything unexpected is rethrown (a 500). */
function httpErrorOf(err: unknown, siteId: string): unknown {
  if (err instanceof HttpError) return err;
  if (err instanceof UnknownSiteError) return new HttpError(400, err.message);
  if (err instanceof ClientError) {
    const status = STATUS_TO_HTTP[err.code];
    if (status === 503)
      return new HttpError(503, `site ${siteId} did not answer: ${err.details}`, undefined, {
        'retry-after': '5',
      });
    if (status !== undefined) return new HttpError(status, `site ${siteId}: ${err.details}`);
  }
  if (err instanceof Error && err.name === 'AbortError')
    return new HttpError(503, `site ${siteId} did not answer within ${DEADLINE_MS} ms`);
  return err;
}
