// The API acting on a live call at its site for a person (docs/transfer.md): AgentControl over the
// channel the API keeps to each site (mutual TLS as service:api), with the person named in the
// gRPC metadata `x-ccfed-on-behalf-of` (their principal's URI, common/src/principal.ts). The site
// agent honours that header only from the API's certificate and then authorises the request as
// that person (site-agent/src/grpc/authorise.ts).
import { principalUri, type Principal } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import { createClient, Metadata, type Channel } from 'nice-grpc';

/** The metadata key that names the person the API acts for. */
export const ON_BEHALF_OF = 'x-ccfed-on-behalf-of';
/** A transfer is one request to the site; it should answer well within this (then 503). */
const DEADLINE_MS = 5_000;

export class SiteCalls {
  constructor(private readonly channelOf: (siteId: string) => Channel) {}

  /** AgentControl.TransferCall at `siteId` on behalf of `person`. */
  transfer(
    siteId: string,
    person: Principal,
    req: siteApi.TransferCallRequest,
  ): Promise<siteApi.TransferCallResponse> {
    return createClient(siteApi.AgentControlDefinition, this.channelOf(siteId)).transferCall(req, {
      metadata: Metadata({ [ON_BEHALF_OF]: principalUri(person) }),
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
  }
}
