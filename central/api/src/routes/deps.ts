import type { Clock, Logger } from '@ccfed/common';
import type { LoginLimits } from '../auth/login-throttle.js';
import type { User } from '../auth/users.js';
import type { WorkGateLimits } from '../auth/work-gate.js';
import type { RunQuery } from '../clickhouse.js';

/** What the routes need, handed in by whoever starts the server (the process or a test). */
export interface RouteDeps {
  readonly runQuery: RunQuery;
  readonly users: ReadonlyMap<string, User>;
  readonly secret: string;
  readonly tokenTtlSeconds: number;
  readonly clock: Clock;
  /** Log-in limits (routes/session.ts); production's defaults when absent. */
  readonly login?: { readonly limits?: LoginLimits; readonly scrypt?: WorkGateLimits };
  /** Where the routes log what the caller is not told (refused log-ins); silent when absent. */
  readonly log?: Logger;
}

/** The path prefix of every route. */
export const API = '/api/v1';
