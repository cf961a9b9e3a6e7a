// The API's client of the sites' recordings: SiteAgent.FetchRecording at the site that keeps a
// recording, over mutual TLS as service:api (the only principal a site streams recordings to),
// checking that the server is that site. One channel per site, opened on first use.
import { secureChannel, type TlsMaterial } from '@ccfed/common';
import { site as siteApi } from '@ccfed/proto';
import type { Topology } from '@ccfed/topology';
import { createClient, type Channel } from 'nice-grpc';

export class SiteRecordings {
  private readonly channels = new Map<string, Channel>();

  constructor(
    private readonly deps: {
      readonly topology: Topology;
      /** The API's certificate (service:api) and the federation CA. */
      readonly tls: TlsMaterial;
    },
  ) {}

  /**
   * The recording streamed from `siteId`: its info message, then the audio. Aborting `signal`
   * (the HTTP client went away) cancels the call at the site.
   */
  fetch(
    siteId: string,
    req: siteApi.FetchRecordingRequest,
    signal: AbortSignal,
  ): AsyncIterable<siteApi.FetchRecordingResponse> {
    return createClient(siteApi.SiteAgentDefinition, this.channel(siteId)).fetchRecording(req, {
      signal,
    });
  }

  close(): void {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }

  /** The channel to `siteId`'s site agent, opened on first use (SiteCalls shares it). */
  channel(siteId: string): Channel {
    let channel = this.channels.get(siteId);
    if (!channel) {
      const site = this.deps.topology.sites.find((s) => s.id === siteId);
      if (!site) throw new Error(`site ${siteId} is not in the topology this API was given`);
      channel = secureChannel(
        `${site.grpc.host}:${site.grpc.port}`,
        this.deps.tls,
        (server) => server.kind === 'site' && server.site === siteId,
        `site:${siteId}`,
      );
      this.channels.set(siteId, channel);
    }
    return channel;
  }
}
