// A route of the API: method, path, who may call it, the zod schemas of its query, body and
// response, and its handler. The server dispatches on this table and the OpenAPI document is
// built from it, so a route cannot be served without being documented, nor documented without
// being served.
import type { Scope } from '@ccfed/analytics/scope';
import type { z } from 'zod';
import type { Claims } from '../auth/token.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a handler gets: the validated query and body, and the caller when authenticated. */
export interface RouteContext<Q, B> {
  readonly query: Q;
  readonly body: B;
  /** The path's {name} segments, as matched (http/server.ts checks their characters). */
  readonly params: Readonly<Record<string, string>>;
  /** The caller's token claims; undefined only on routes with `auth: false`. */
  readonly claims: Claims | undefined;
  /** The rows the caller may see; undefined only on routes with `auth: false`. */
  readonly scope: Scope | undefined;
  /** Where the request comes from, as the log-in throttle counts it (client-address.ts). */
  readonly source: string;
}

export interface Route<Q = unknown, B = unknown> {
  readonly method: Method;
  /** Full path, e.g. /api/v1/kpis; a segment {name} matches one segment, given as params.name. */
  readonly path: string;
  readonly summary: string;
  /** False only for opening a session and for the OpenAPI document. */
  readonly auth: boolean;
  /**
   * The roles that may call an authenticated route; any other gets 403. Default SUPERVISOR_ROLES:
   * an agent may call only the routes that name it.
   */
  readonly roles?: readonly Claims['role'][];
  readonly query?: z.ZodType<Q>;
  readonly body?: z.ZodType<B>;
  /**
   * The handler checks the body itself (against more than its shape, e.g. the topology, so that
   * every problem is reported at once); `body` then only documents it and B is what arrived.
   */
  readonly bodyCheckedByHandler?: boolean;
  /**
   * The largest body the route takes, in bytes; default MAX_BODY_BYTES (16 KB, http/server.ts).
   * Only a route whose body is a list (a campaign's contacts) takes more: a bigger body is a 413.
   */
  readonly maxBodyBytes?: number;
  /** Statuses other than the common ones (400, 401, 403, 500) the route answers, and when. */
  readonly otherErrors?: Readonly<Record<string, string>>;
  readonly response: z.ZodType;
  handle(ctx: RouteContext<Q, B>): Promise<unknown>;
}

/** Who may call a route that does not say: everyone but agents (they read no analytics). */
export const SUPERVISOR_ROLES: readonly Claims['role'][] = ['hq', 'site', 'tenant'];

/** Erases a route's parameter types so routes of different shapes fit one table. */
export function route<Q, B = undefined>(r: Route<Q, B>): Route {
  return r as unknown as Route;
}

/** An authenticated route's scope; its absence is a bug in the route table, not a client error. */
export function scopeOf(ctx: RouteContext<unknown, unknown>): Scope {
  if (!ctx.scope)
    throw new Error('route needs auth: true, and not the agent role, to read the scope');
  return ctx.scope;
}
