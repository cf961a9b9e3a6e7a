// What the API process serves on its port: the JSON routes, the live stream and the console's
// files. The JSON route table stays with ApiHttpServer; this only sends each request to the one
// of the three that owns its path, so the console and its API share one origin (no CORS).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@ccfed/common';
import { listenOn, type ApiHttpServer } from '../http/server.js';
import { LIVE_PATH, type LiveStreams } from './live-stream.js';
import type { StaticFiles } from './static-files.js';

export interface ConsoleServerDeps {
  readonly api: ApiHttpServer;
  readonly streams: LiveStreams;
  /** Undefined: no console files are served (the JSON API alone). */
  readonly files: StaticFiles | undefined;
  readonly log: Logger;
}

export class ConsoleServer {
  private readonly server: Server;

  constructor(private readonly deps: ConsoleServerDeps) {
    this.server = createServer((req, res) => void this.route(req, res));
    this.server.headersTimeout = 10_000;
    // No request timeout: a live stream stays open for as long as its token is valid.
    this.server.requestTimeout = 0;
  }

  listen(port: number, host: string): Promise<number> {
    return listenOn(this.server, port, host);
  }

  /** Ends the live streams, stops accepting connections and waits for requests in flight. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((err) => (err ? reject(err) : resolve()));
      this.deps.streams.endAll();
      this.server.closeIdleConnections();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      if (path === LIVE_PATH) return this.deps.streams.serve(req, res);
      if (path === '/api' || path.startsWith('/api/') || !this.deps.files) {
        return await this.deps.api.serve(req, res);
      }
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
