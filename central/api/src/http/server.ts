// The HTTP server: plain node:http dispatching on the route table. Per request: find the route
// (404/405), authenticate (401, always the same generic message; the reason goes to the log),
// check the role (403), validate query and body with the route's schemas (400 naming the field),
// run the handler, answer JSON with the security headers. Handler failures that are not
// HttpErrors (ClickHouse down, a bug) are logged with their detail and answered with a generic 500.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, BlockList } from 'node:net';
import type { Clock, Logger } from '@ccfed/common';
import { z } from 'zod';
import { bearerClaims } from '../auth/bearer.js';
import { TokenError, type Claims } from '../auth/token.js';
import { scopeFor } from '../access.js';
import { clientAddress, throttleKey, trustedProxies } from './client-address.js';
import { HttpError, unauthorized, forbidden, UNAUTHORIZED } from './errors.js';
import { queryObject } from './query-string.js';
import { SUPERVISOR_ROLES, type Route } from './route.js';
import { setSecurityHeaders } from './security-headers.js';
import { applyTimeouts, DEFAULT_TIMEOUTS, SERVER_OPTIONS, type HttpTimeouts } from './timeouts.js';

export interface HttpServerDeps {
  readonly routes: readonly Route[];
  readonly secret: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Proxies whose X-Forwarded-For names the client (the Ingress); none by default. */
  readonly trustedProxies?: BlockList;
  /** Default DEFAULT_TIMEOUTS. */
  readonly timeouts?: HttpTimeouts;
}

/** Starts `server` listening; resolves with the bound port (useful with port 0). */
export async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** A path segment's value: printable ASCII without slashes or spaces, as call ids are. */
const PARAM_VALUE = /^[\x21-\x2e\x30-\x7e]{1,128}$/;

/**
 * Request bodies are small JSON objects (a login); anything bigger is refused unread, unless its
 * route says it takes more (Route.maxBodyBytes: a campaign's contact list).
 */
export const MAX_BODY_BYTES = 16 * 1024;

export class ApiHttpServer {
  private readonly server: Server;
  private readonly byPath = new Map<string, Map<string, Route>>();
  private readonly proxies: BlockList;

  constructor(private readonly deps: HttpServerDeps) {
    for (const r of deps.routes) {
      const methods = this.byPath.get(r.path) ?? new Map<string, Route>();
      if (methods.has(r.method)) throw new Error(`route ${r.method} ${r.path} defined twice`);
      methods.set(r.method, r);
      this.byPath.set(r.path, methods);
    }
    this.server = createServer(SERVER_OPTIONS, (req, res) => void this.serve(req, res));
    applyTimeouts(this.server, deps.timeouts ?? DEFAULT_TIMEOUTS);
    this.proxies = deps.trustedProxies ?? trustedProxies([]);
  }

  /**
   * The routes of `pathname` and its {name} segments: an exact path first, else a path with
   * {name} segments, each matching one segment of safe characters (ids, never a slash).
   */
  private match(pathname: string): {
    methods: Map<string, Route> | undefined;
    params: Record<string, string>;
  } {
    const exact = this.byPath.get(pathname);
    if (exact) return { methods: exact, params: {} };
    const given = pathname.split('/');
    for (const [path, methods] of this.byPath) {
      if (!path.includes('{')) continue;
      const parts = path.split('/');
      if (parts.length !== given.length) continue;
      const params: Record<string, string> = {};
      const fits = parts.every((part, i) => {
        const name = /^\{(\w+)\}$/.exec(part)?.[1];
        if (name === undefined) return part === given[i];
        let value: string;
        try {
          value = decodeURIComponent(given[i]!);
        } catch {
          return false;
        }
        if (!PARAM_VALUE.test(value)) return false;
        params[name] = value;
        return true;
      });
      if (fits) return { methods, params };
    }
    return { methods: undefined, params: {} };
  }

  /** The throttle key of the client on the other end of `req` (client-address.ts). */
  sourceOf(req: IncomingMessage): string {
    return throttleKey(
      clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.proxies),
    );
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host: string): Promise<number> {
    return listenOn(this.server, port, host);
  }

  /** Stops accepting connections and waits for requests in flight; idle keep-alives are closed. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((err) => (err ? reject(err) : resolve()));
      this.server.closeIdleConnections();
    });
  }

  /**
   * Answers one request from the route table. Public so that a server in front of it (the
   * console server) sends the JSON routes through this one dispatch, authentication and error path.
   */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = this.deps.clock.now();
    setSecurityHeaders(res, 'api');
    const source = this.sourceOf(req);
    let claims: Claims | undefined;
    let status = 500;
    let body: unknown;
    try {
      const url = new URL(req.url ?? '/', 'http://api.invalid');
      const { methods, params } = this.match(url.pathname);
      if (!methods) throw new HttpError(404, `no route ${url.pathname}`);
      const route = methods.get(req.method ?? '');
      if (!route) {
        res.setHeader('allow', [...methods.keys()].join(', '));
        throw new HttpError(405, `${url.pathname} accepts ${[...methods.keys()].join(', ')}`);
      }
      if (route.auth) {
        claims = this.authenticate(req, source);
        if (!(route.roles ?? SUPERVISOR_ROLES).includes(claims.role)) {
          throw forbidden(`role ${claims.role} may not call ${route.method} ${route.path}`);
        }
      }
      const query = validate(
        'query',
        route.query ?? z.strictObject({}),
        queryObject(url.searchParams),
      );
      const requestBody = !route.body
        ? undefined
        : route.bodyCheckedByHandler
          ? await readJson(req, route.maxBodyBytes ?? MAX_BODY_BYTES)
          : validate('body', route.body, await readJson(req, route.maxBodyBytes ?? MAX_BODY_BYTES));
      body = await route.handle({
        query,
        body: requestBody,
        claims,
        scope: claims && claims.role !== 'agent' ? scopeFor(claims) : undefined,
        source,
        params,
      });
      status = 200;
    } catch (err) {
      if (err instanceof HttpError) {
        status = err.status;
        body = { error: err.message, ...(err.details ? { details: err.details } : {}) };
        for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
        if (status === 401) res.setHeader('www-authenticate', 'Bearer');
      } else {
        status = 500;
        body = { error: 'internal error' };
        this.deps.log.error(
          { event: 'api_request_failed', method: req.method, path: req.url, sub: claims?.sub, err },
          'request failed',
        );
      }
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    this.deps.log.info({
      event: 'api_request',
      method: req.method,
      path: req.url?.split('?')[0],
      status,
      sub: claims?.sub,
      ms: this.deps.clock.now() - started,
    });
  }

  private authenticate(req: IncomingMessage, source: string): Claims {
    try {
      return bearerClaims(req.headers.authorization, {
        secret: this.deps.secret,
        now: this.deps.clock.now(),
      });
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      this.deps.log.info(
        { event: 'api_token_refused', path: req.url?.split('?')[0], source, reason: err.message },
        'bearer token refused',
      );
      throw unauthorized(UNAUTHORIZED.token);
    }
  }
}

function validate<T>(where: 'query' | 'body', schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => {
    const field =
      i.code === 'unrecognized_keys'
        ? i.keys.join(', ')
        : i.path.length > 0
          ? i.path.join('.')
          : where;
    const message = i.code === 'unrecognized_keys' ? `unknown ${where} parameter` : i.message;
    return { field, message };
  });
  throw new HttpError(
    400,
    `invalid ${where}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`,
    details,
  );
}

/**
 * The request's JSON body, refused with 413 as soon as it is known to exceed `limit`: from its
 * declared length before a byte is read, else while it streams in (chunked, or a length that
 * lies), so that no more than `limit` bytes are ever held.
 */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(415, 'body must be application/json');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body: not valid JSON', [
      { field: 'body', message: 'not valid JSON' },
    ]);
  }
}

/**
 * A 413 that closes the connection once answered: the rest of the body is not read, and the
 * connection cannot carry another request behind it.
 */
function tooLarge(limit: number): HttpError {
  return new HttpError(413, `body over ${limit} bytes`, undefined, { connection: 'close' });
}
