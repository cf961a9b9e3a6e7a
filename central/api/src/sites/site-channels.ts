// The API's gRPC channels to the site agents: mutual TLS as service:api (the API's certificate
// and the federation CA), each channel checking that the server is the site it was opened for,
// one per site opened on first use. The sites' recordings, desks and monitors are clients over
// these; when the API acts for a person it names them in ON_BEHALF_OF, which a site honours from
// service:api alone (site-agent/src/grpc/authorise.ts).
import {
  MAX_SITE_MESSAGE_BYTES,
  principalUri,
  secureChannel,
  type Principal,
  type TlsMaterial,
} from '@ccfed/common';
import type { Topology } from '@ccfed/topology';
import { Metadata, type Channel } from 'nice-grpc';

/** The metadata a site reads the person the API acts for from. */
export const ON_BEHALF_OF = 'x-ccfed-on-behalf-of';

/** A site the topology the API was given does not have. */
export class UnknownSiteError extends Error {
  constructor(readonly siteId: string) {
    super(`site ${siteId} is not in the topology this API was given`);
    this.name = 'UnknownSiteError';
  }
}

export interface SiteChannelDeps {
  readonly topology: Topology;
  /** The API's certificate (service:api) and the federation CA. */
  readonly tls: TlsMaterial;
}

export class SiteChannels {
  private readonly channels = new Map<string, Channel>();

  constructor(private readonly deps: SiteChannelDeps) {}

  /** The channel to `siteId`'s site agent; throws UnknownSiteError for a site not in the topology. */
  of(siteId: string): Channel {
    let channel = this.channels.get(siteId);
    if (!channel) {
      const site = this.deps.topology.sites.find((s) => s.id === siteId);
      if (!site) throw new UnknownSiteError(siteId);
      channel = secureChannel(
        `${site.grpc.host}:${site.grpc.port}`,
        this.deps.tls,
        (server) => server.kind === 'site' && server.site === siteId,
        `site:${siteId}`,
        // A campaign's list goes in one message; say the limit the site receives rather than
        // rely on grpc-js sending anything (its default) for the site to refuse.
        { 'grpc.max_send_message_length': MAX_SITE_MESSAGE_BYTES },
      );
      this.channels.set(siteId, channel);
    }
    return channel;
  }

  close(): void {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }
}

/** Call options acting for `person`, with a deadline. */
export function actingFor(person: Principal, deadlineMs: number) {
  return {
    metadata: Metadata({ [ON_BEHALF_OF]: principalUri(person) }),
    signal: AbortSignal.timeout(deadlineMs),
  };
}
