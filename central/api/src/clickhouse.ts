import type { ClickHouseClient } from '@clickhouse/client';
import type { Sql } from '@ccfed/common';

/** Runs one query built with `sql` and returns its rows; what every data route reads through. */
export type RunQuery = (query: Sql) => Promise<unknown[]>;

/** RunQuery over a ClickHouse client, JSONEachRow (UInt64 may arrive as strings). */
export function clickhouseRunner(client: ClickHouseClient): RunQuery {
  return async (query) => {
    const result = await client.query({ query: query.text, format: 'JSONEachRow' });
    return result.json<unknown>();
  };
}
