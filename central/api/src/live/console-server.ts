// What the API process serves on its port: the JSON routes, the live stream and the console's
// files. The JSON route table stays with ApiHttpServer; this only sends each request to the one
// of the three that owns its path, so the console and its API share one origin (no CORS). Every
// answer carries the security headers, and every request the deadlines of http/timeouts.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@ccfed/common';
import { desktopCsp, setSecurityHeaders } from '../http/security-headers.js';
import { listenOn, type ApiHttpServer } from '../http/server.js';
import {
  applyTimeouts,
  DEFAULT_TIMEOUTS,
  SERVER_OPTIONS,
  type HttpTimeouts,
} from '../http/timeouts.js';
import { RECORDING_AUDIO_PATH, type RecordingAudio } from '../recordings/recording-audio.js';
import { LIVE_PATH, type LiveStreams } from './live-stream.js';
import { DESK_STREAM_PATH, type DeskStreams } from '../desktop/desk-stream.js';
import type { StaticFiles } from './static-files.js';

export interface ConsoleServerDeps {
  readonly api: ApiHttpServer;
  readonly streams: LiveStreams;
  /** The agents' desktop streams (desktop/desk-stream.ts). */
  readonly desks: DeskStreams;
  /** Recordings' audio, streamed from the sites (not JSON, so not a route of the table). */
  readonly recordingAudio: RecordingAudio;
  /** Undefined: no console files are served (the JSON API alone). */
  readonly files: StaticFiles | undefined;
  /** The agents' and supervisors' desktop under /desktop/; undefined: not served. */
  readonly desktopFiles?: StaticFiles | undefined;
  /** The sites' SIP-over-WebSocket origins the desktop's softphone may connect to. */
  readonly sipWebSocketOrigins?: readonly string[];
  readonly log: Logger;
  /** Default DEFAULT_TIMEOUTS. */
  readonly timeouts?: HttpTimeouts;
}

export class ConsoleServer {
  private readonly server: Server;

  constructor(private readonly deps: ConsoleServerDeps) {
    this.server = createServer(SERVER_OPTIONS, (req, res) => void this.route(req, res));
    // The live stream stays open under these: they bound receiving a request (timeouts.ts).
    applyTimeouts(this.server, deps.timeouts ?? DEFAULT_TIMEOUTS);
  }

  listen(port: number, host: string): Promise<number> {
    return listenOn(this.server, port, host);
  }

  /** Ends the live streams, stops accepting connections and waits for requests in flight. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((err) => (err ? reject(err) : resolve()));
      this.deps.streams.endAll();
      this.deps.desks.endAll();
      this.server.closeIdleConnections();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      if (path === LIVE_PATH) {
        setSecurityHeaders(res, 'api');
        return this.deps.streams.serve(req, res, this.deps.api.sourceOf(req));
      }
      if (path === DESK_STREAM_PATH) {
        setSecurityHeaders(res, 'api');
        return this.deps.desks.serve(req, res, this.deps.api.sourceOf(req));
      }
      if (path === RECORDING_AUDIO_PATH) {
        setSecurityHeaders(res, 'api');
        return await this.deps.recordingAudio.serve(req, res, this.deps.api.sourceOf(req));
      }
      if (this.deps.desktopFiles?.owns(path)) {
        setSecurityHeaders(res, { csp: desktopCsp(this.deps.sipWebSocketOrigins ?? []) });
        return await this.deps.desktopFiles.serve(req, res);
      }
      if (path === '/api' || path.startsWith('/api/') || !this.deps.files) {
        return await this.deps.api.serve(req, res);
      }
      setSecurityHeaders(res, 'page');
      return await this.deps.files.serve(req, res);
    } catch (err) {
      this.deps.log.error(
        { event: 'api_request_failed', method: req.method, path, err },
        'request failed',
      );
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal error"}');
    }
  }
}
