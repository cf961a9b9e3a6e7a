import type { Clock } from '@ccfed/common';
import type { User } from '../auth/users.js';
import type { RunQuery } from '../clickhouse.js';

/** What the routes need, handed in by whoever starts the server (the process or a test). */
export interface RouteDeps {
  readonly runQuery: RunQuery;
  readonly users: ReadonlyMap<string, User>;
  readonly secret: string;
  readonly tokenTtlSeconds: number;
  readonly clock: Clock;
}

/** The path prefix of every route. */
export const API = '/api/v1';
