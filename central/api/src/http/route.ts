// A route of the API: method, path, who may call it, the zod schemas of its query, body and
// response, and its handler. The server dispatches on this table and the OpenAPI document is
// built from it, so a route cannot be served without being documented, nor documented without
// being served.
import type { Scope } from '@ccfed/analytics/scope';
import type { z } from 'zod';
import type { Claims } from '../auth/token.js';

export type Method = 'GET' | 'POST' | 'PUT';

/** What a handler gets: the validated query and body, and the caller when authenticated. */
export interface RouteContext<Q, B> {
  readonly query: Q;
  readonly body: B;
  /** The caller's token claims; undefined only on routes with `auth: false`. */
  readonly claims: Claims | undefined;
  /** The rows the caller may see; undefined only on routes with `auth: false`. */
  readonly scope: Scope | undefined;
  /** Where the request comes from, as the log-in throttle counts it (client-address.ts). */
  readonly source: string;
  /** The path's `:name` segments (e.g. /desktop/calls/:callId/transfer), decoded. */
  readonly params: Readonly<Record<string, string>>;
}

export interface Route<Q = unknown, B = unknown> {
  readonly method: Method;
  /** Full path, e.g. /api/v1/kpis; a `:name` segment matches one segment into `params`. */
  readonly path: string;
  readonly summary: string;
  /** False only for opening a session and for the OpenAPI document. */
  readonly auth: boolean;
  /** The roles that may call an authenticated route; any other gets 403. */
  readonly roles?: readonly Claims['role'][];
  readonly query?: z.ZodType<Q>;
  readonly body?: z.ZodType<B>;
  /**
   * The handler checks the body itself (against more than its shape, e.g. the topology, so that
   * every problem is reported at once); `body` then only documents it and B is what arrived.
   */
  readonly bodyCheckedByHandler?: boolean;
  /** Statuses other than the common ones (400, 401, 403, 500) the route answers, and when. */
  readonly otherErrors?: Readonly<Record<string, string>>;
  readonly response: z.ZodType;
  handle(ctx: RouteContext<Q, B>): Promise<unknown>;
}

/** Erases a route's parameter types so routes of different shapes fit one table. */
export function route<Q, B = undefined>(r: Route<Q, B>): Route {
  return r as unknown as Route;
}

/** An authenticated route's scope; its absence is a bug in the route table, not a client error. */
export function scopeOf(ctx: RouteContext<unknown, unknown>): Scope {
  if (!ctx.scope) throw new Error('route needs auth: true to read the scope');
  return ctx.scope;
}
