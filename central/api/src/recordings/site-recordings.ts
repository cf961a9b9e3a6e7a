// The API's client of the sites' recordings: SiteAgent.FetchRecording at the site that keeps a
// recording, over mutual TLS as service:api (the only principal a site streams recordings to),
// checking that the server is that site (sites/site-channels.ts).
import { site as siteApi } from '@ccfed/proto';
import { createClient } from 'nice-grpc';
import { SiteChannels, type SiteChannelDeps } from '../sites/site-channels.js';

export class SiteRecordings {
  private readonly channels: SiteChannels;

  constructor(deps: SiteChannelDeps) {
    this.channels = new SiteChannels(deps);
  }

  /**
   * The recording streamed from `siteId`: its info message, then the audio. Aborting `signal`
   * (the HTTP client went away) cancels the call at the site.
   */
  fetch(
    siteId: string,
    req: siteApi.FetchRecordingRequest,
    signal: AbortSignal,
  ): AsyncIterable<siteApi.FetchRecordingResponse> {
    return createClient(siteApi.SiteAgentDefinition, this.channels.of(siteId)).fetchRecording(req, {
      signal,
    });
  }

  close(): void {
    this.channels.close();
  }
}
