// The ClickHouse users on the real 18.16 server, each tried at what it must not do: the API's and
// Grafana's users cannot write or change the schema, the ingester's cannot change the schema, no
// one gets in without a password. What 18.16 still lets each do is pinned here too, so that
// docs/security.md ("ClickHouse") stays true: when the server changes, these fail first.
import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseRole } from '@ccfed/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clickhouseAs,
  clickhouseClient,
  clickhouseUrl,
  freshDatabase,
  rows,
} from '../support/engines.js';

let database: string;
let admin: ClickHouseClient;
const clients = new Map<ClickHouseRole, ClickHouseClient>();
const as = (role: ClickHouseRole) => clients.get(role)!;

/** The error ClickHouse answered `statement` with, or 'ok'. */
async function attempt(
  role: ClickHouseRole,
  statement: string,
  settings: Record<string, number> = {},
): Promise<string> {
  try {
    await as(role).command({ query: statement, clickhouse_settings: settings });
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

const count = async () =>
  Number((await rows<{ n: string }>(admin, 'SELECT count() AS n FROM surveys'))[0]!.n);
const tableExists = async (table: string) =>
  (
    await rows(
      admin,
      `SELECT name FROM system.tables WHERE database = currentDatabase() AND name = '${table}'`,
    )
  ).length === 1;

const SURVEY = `INSERT INTO surveys (event_id, tenant_id, site_id, call_id, event_time, event_date)
  VALUES ('users-test', 't', 's', 'c', now(), today())`;

beforeAll(async () => {
  ({ database, client: admin } = await freshDatabase());
  for (const role of ['api', 'grafana', 'ingester', 'analytics'] as const) {
    clients.set(role, clickhouseClient(role, database));
  }
});

afterAll(async () => {
  for (const c of clients.values()) await c.close();
  await admin?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin?.close();
});

describe('ClickHouse users', () => {
  it('lets nobody in without the password: no default user, no empty or wrong password', async () => {
    const ask = (headers: Record<string, string>) =>
      fetch(`${clickhouseUrl()}/?query=SELECT%201`, { headers }).then(async (r) => ({
        status: r.status,
        text: await r.text(),
      }));
    expect((await ask({})).text).toMatch(/Unknown user default/);
    const basic = (user: string, password: string) => ({
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    });
    expect((await ask(basic('default', ''))).text).toMatch(/Unknown user default/);
    const { username, password } = clickhouseAs('api');
    expect((await ask(basic(username, ''))).text).toMatch(/Password required/);
    expect((await ask(basic(username, `${password}x`))).text).toMatch(/Wrong password/);
    expect(await ask(basic(username, password))).toEqual({ status: 200, text: '1\n' });
  });

  it("every user starts from the server's default profile (its memory cap)", async () => {
    for (const role of ['api', 'grafana', 'ingester', 'analytics'] as const) {
      expect(
        await rows(as(role), "SELECT value FROM system.settings WHERE name = 'max_memory_usage'"),
      ).toEqual([{ value: '4000000000' }]);
    }
  });

  it("the API's user reads, and cannot INSERT, ALTER, DROP, TRUNCATE or change a setting", async () => {
    expect(await rows(as('api'), 'SELECT count() AS n FROM surveys')).toEqual([{ n: '0' }]);
    expect(await attempt('api', SURVEY)).toMatch(/Cannot insert into table in readonly mode/);
    expect(await attempt('api', 'ALTER TABLE surveys ADD COLUMN evil UInt8')).toMatch(
      /readonly mode/,
    );
    expect(await attempt('api', 'ALTER TABLE surveys DELETE WHERE 1')).toMatch(/readonly mode/);
    expect(await attempt('api', 'DROP TABLE surveys')).toMatch(/readonly mode/);
    expect(await attempt('api', 'TRUNCATE TABLE surveys')).toMatch(/readonly mode/);
    expect(await attempt('api', 'CREATE TABLE evil (x UInt8) ENGINE = Memory')).toMatch(
      /readonly mode/,
    );
    // Nor win the rights back with a setting of its own, or reach out through a table function.
    expect(await attempt('api', 'SELECT 1', { readonly: 0 })).toMatch(/readonly/);
    expect(await attempt('api', 'SELECT 1', { max_execution_time: 5 })).toMatch(/readonly mode/);
    expect(await attempt('api', 'SELECT * FROM numbers(1)')).toMatch(
      /Table functions are forbidden in readonly mode/,
    );
    expect(await count()).toBe(0);
    expect(await tableExists('surveys')).toBe(true);
  });

  it("Grafana's user reads with the plugin's max_execution_time, and cannot write or change the schema", async () => {
    expect(
      await as('grafana')
        .query({
          query: 'SELECT count() AS n FROM surveys',
          format: 'JSONEachRow',
          clickhouse_settings: { max_execution_time: 60 },
        })
        .then((r) => r.json()),
    ).toEqual([{ n: '0' }]);
    expect(await attempt('grafana', SURVEY)).toMatch(/readonly mode/);
    expect(await attempt('grafana', 'DROP TABLE surveys')).toMatch(/readonly mode/);
    expect(await attempt('grafana', 'ALTER TABLE surveys DROP COLUMN nps')).toMatch(
      /readonly mode/,
    );
    expect(await attempt('grafana', 'SELECT 1', { readonly: 0 })).toMatch(/readonly/);
    // What readonly=2 still allows on 18.16 (docs/security.md): table functions.
    expect(await attempt('grafana', 'SELECT * FROM numbers(1)')).toBe('ok');
    expect(await count()).toBe(0);
  });

  it("the ingester's user inserts and reads, and cannot DROP, ALTER, TRUNCATE or turn DDL on with SET", async () => {
    expect(await attempt('ingester', SURVEY)).toBe('ok');
    expect(await count()).toBe(1);
    await expect(
      rows(as('ingester'), 'SELECT query_id FROM system.processes'),
    ).resolves.not.toHaveLength(0);
    expect(await attempt('ingester', 'DROP TABLE surveys')).toMatch(
      /DDL queries are prohibited for the user/,
    );
    expect(await attempt('ingester', 'ALTER TABLE surveys ADD COLUMN evil UInt8')).toMatch(
      /DDL queries are prohibited/,
    );
    expect(await attempt('ingester', 'ALTER TABLE surveys DELETE WHERE 1')).toMatch(
      /DDL queries are prohibited/,
    );
    expect(await attempt('ingester', 'TRUNCATE TABLE surveys')).toMatch(
      /DDL queries are prohibited/,
    );
    expect(await attempt('ingester', 'CREATE TABLE evil (x UInt8) ENGINE = Memory')).toMatch(
      /DDL queries are prohibited/,
    );
    expect(await attempt('ingester', 'RENAME TABLE surveys TO gone')).toMatch(
      /DDL queries are prohibited/,
    );
    expect(await attempt('ingester', 'SET allow_ddl = 1')).toMatch(/Cannot modify 'allow_ddl'/);
    expect(await tableExists('surveys')).toBe(true);
    expect(await count()).toBe(1);
  });

  it('18.16 still lets the ingester turn DDL back on for one query with a query-level setting', async () => {
    // Not a ccfed choice: 18.16 checks allow_ddl in SET only, and has no settings constraints
    // (docs/security.md says so; on a current server, GRANT INSERT, SELECT instead).
    await admin.command({ query: 'CREATE TABLE scratch (x UInt8) ENGINE = Memory' });
    expect(await attempt('ingester', 'DROP TABLE scratch', { allow_ddl: 1 })).toBe('ok');
    expect(await tableExists('scratch')).toBe(false);
  });

  it("the analytics jobs' user stores results and drops old partitions", async () => {
    expect(
      await attempt('analytics', "ALTER TABLE churn_score_runs DROP PARTITION ID '1700000000'"),
    ).toBe('ok');
  });
});
