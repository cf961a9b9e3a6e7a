// The derived-table check and repair (services/src/clickhouse/derived-tables.ts) on the real 18.16
// server, against the failure they exist for: a server killed mid-INSERT keeps the raw rows and
// loses some views' rows. That is reproduced deterministically by inserting a batch with those
// views detached (18.16 then writes the raw table and the remaining views only), which leaves
// call_rollup_15m, call_facts and contacts short exactly as the crash does. The figures the
// console reads (KPIs, FCR, the calls view) are compared with a control database that took the
// same rows with every view in place. The new SQL is also run on current ClickHouse (chdb).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { type ClickHouseClient } from '@clickhouse/client';
import { formatDateTime } from '@ccfed/common';
import { fcrQuery } from '@ccfed/analytics/kpi-fcr';
import { kpiQuery, validateKpiFilter } from '@ccfed/analytics/kpi';
import {
  DerivedTableError,
  assertRunsOnCurrentClickHouse,
  checkDerivedTables,
  createStagingSql,
  derivedTables,
  dropPartitionSql,
  dropStagingSql,
  fingerprintSql,
  migratedDatabaseSetup,
  parseMaterializedView,
  runOnCurrentClickHouse,
  partsQuery,
  readMigrations,
  READONLY_QUERY,
  rebuildSql,
  repairDerivedTables,
  replacePartitionSql,
  tablesQuery,
  columnsQuery,
  viewPartitionsSql,
  type PartitionCheck,
} from '@ccfed/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseAs, clickhouseEnv, freshDatabase, rows } from '../support/engines.js';

const CCFED = join(new URL('../..', import.meta.url).pathname, 'cli/src/main.ts');

/** `ccfed <args>` as an operator runs it, logged in as the admin to `database`. */
function ccfed(database: string, ...args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CCFED, ...args],
      { env: { ...process.env, ...clickhouseEnv('admin', database) } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
    );
  });
}

const HQ = { role: 'hq' } as const;
const SPAN = { from: '2026-10-01T00:00:00Z', to: '2026-12-01T00:00:00Z' };
/** The views a crash left without this batch's rows. */
const LOST_VIEWS = ['call_rollup_15m_mv', 'call_facts_mv', 'contacts_mv'];

let seq = 0;
/** One call_events row as the ingester writes it (kind-specific columns 0 or '' elsewhere). */
function ev(
  call: { id: string; site: string; customer: string },
  kind: string,
  time: Date,
  arrival: Date,
  extra: Record<string, string | number> = {},
): Record<string, string | number> {
  seq += 1;
  return {
    event_id: `e${seq}`,
    tenant_id: 't1',
    site_id: call.site,
    call_id: call.id,
    kind,
    event_time: formatDateTime(time),
    event_date: formatDateTime(time).slice(0, 10),
    event_ms: 0,
    skill: 'billing',
    tier: 1,
    customer_id: call.customer,
    arrival_time: formatDateTime(arrival),
    service_level_ms: 20_000,
    short_abandon_ms: 5_000,
    payload: '{}',
    kafka_partition: 0,
    kafka_offset: seq,
    ...extra,
  };
}

/** Call i: on 2026-10-30 (even) or 2026-11-03 (odd), answered or (every fourth) abandoned. */
function call(i: number, arrivalAt?: Date): Record<string, string | number>[] {
  // The cut batch's callers call once (first contacts FCR counts); the others call again.
  const customer = i % 2 === 1 && i >= 30 ? `once-${i}` : `cust-${i % 7}`;
  const c = { id: `c${i}`, site: i % 3 === 0 ? 'site-b' : 'site-a', customer };
  const arrival =
    arrivalAt ?? new Date(Date.UTC(2026, i % 2 === 0 ? 9 : 10, i % 2 === 0 ? 30 : 3, 9, i, 0));
  const wait = ((i * 7_000) % 45_000) + 1_000;
  const t = (ms: number) => new Date(arrival.getTime() + ms);
  if (i % 4 === 3)
    return [
      ev(c, 'offered', arrival, arrival),
      ev(c, 'abandoned', t(wait), arrival, { wait_ms: wait, by_caller: 1 }),
    ];
  return [
    ev(c, 'offered', arrival, arrival),
    ev(c, 'answered', t(wait), arrival, { agent_id: `a${i % 5}`, wait_ms: wait }),
    ev(c, 'ended', t(wait + 120_000), arrival, { agent_id: `a${i % 5}`, talk_ms: 120_000 }),
    ev(c, 'wrap_up_done', t(wait + 150_000), arrival, {
      agent_id: `a${i % 5}`,
      wrap_up_ms: 30_000,
    }),
  ];
}

const CALLS = Array.from({ length: 60 }, (_, i) => i);
/** Stored whole: every October call and November's first half. */
const BATCH_A = CALLS.filter((i) => i % 2 === 0 || i < 30).flatMap((i) => call(i));
/** Stored by the INSERT the crash cut: November's second half. */
const BATCH_B = CALLS.filter((i) => i % 2 === 1 && i >= 30).flatMap((i) => call(i));
/**
 * Calls answered just before midnight on 2026-11-03 whose end and wrap-up fall on the 4th and
 * come in a later INSERT, as the ingester's batches cut calls: one call, two event_dates.
 */
const NIGHT = [60, 61, 62].map((i) => call(i, new Date(Date.UTC(2026, 10, 3, 23, 58, 0))));
const BEFORE_MIDNIGHT = NIGHT.flatMap((c) => c.filter((e) => e.event_date === '2026-11-03'));
const AFTER_MIDNIGHT = NIGHT.flatMap((c) => c.filter((e) => e.event_date === '2026-11-04'));

/** What the console and dashboards read. */
async function figures(client: ClickHouseClient) {
  return {
    kpis: await rows(
      client,
      kpiQuery(HQ, validateKpiFilter({ ...SPAN, groupBy: ['day', 'site'] })).text,
    ),
    fcr: await rows(client, fcrQuery(HQ, validateKpiFilter({ ...SPAN, groupBy: ['site'] })).text),
    calls: await rows(
      client,
      'SELECT call_id, origin_site_id, handling_site_id, answered, abandoned, wait_ms, talk_ms, wrap_up_ms, agent_id FROM calls ORDER BY call_id',
    ),
  };
}

const differing = (checks: readonly PartitionCheck[]) =>
  checks.filter((c) => !c.matches).map((c) => `${c.table} ${c.partition}`);

describe('derived tables: check and repair after a crash mid-INSERT', () => {
  let damaged: { database: string; client: ClickHouseClient };
  let control: { database: string; client: ClickHouseClient };
  let expected: Awaited<ReturnType<typeof figures>>;

  beforeAll(async () => {
    [damaged, control] = await Promise.all([freshDatabase(), freshDatabase()]);
    await control.client.insert({
      table: 'call_events',
      values: [...BATCH_A, ...BEFORE_MIDNIGHT, ...AFTER_MIDNIGHT, ...BATCH_B],
      format: 'JSONEachRow',
    });
    expected = await figures(control.client);

    for (const batch of [[...BATCH_A, ...BEFORE_MIDNIGHT], AFTER_MIDNIGHT])
      await damaged.client.insert({ table: 'call_events', values: batch, format: 'JSONEachRow' });
    for (const v of LOST_VIEWS) await damaged.client.command({ query: `DETACH TABLE ${v}` });
    await damaged.client.insert({ table: 'call_events', values: BATCH_B, format: 'JSONEachRow' });
    for (const v of LOST_VIEWS) await damaged.client.command({ query: `ATTACH TABLE ${v}` });
  });

  afterAll(async () => {
    await damaged?.client.close();
    await control?.client.close();
  });

  it('the crash is reproduced: raw rows whole, the figures short', async () => {
    const raw = await rows<{ n: string }>(damaged.client, 'SELECT count() AS n FROM call_events');
    expect(Number(raw[0]!.n)).toBe(BATCH_A.length + NIGHT.flat().length + BATCH_B.length);
    const now = await figures(damaged.client);
    expect(now.calls.length).toBe(48);
    expect(expected.calls.length).toBe(63);
    expect(now.kpis).not.toEqual(expected.kpis);
    expect(now.fcr).not.toEqual(expected.fcr);
  });

  it('the check names exactly the short partitions', async () => {
    const checks = await checkDerivedTables(clickhouseAs('admin'), damaged.database);
    expect(differing(checks)).toEqual([
      'call_facts 202611',
      'call_rollup_15m 202611',
      'contacts 202611',
    ]);
    // Every table a view fills is known; each one holding rows or fed rows was looked at.
    const tables = (await derivedTables(damaged.client, damaged.database)).map((t) => t.name);
    expect(tables.sort()).toEqual(
      [
        'agent_rollup_15m',
        'agent_state_intervals',
        'call_facts',
        'call_rollup_15m',
        'callback_rollup_15m',
        'campaign_attempts',
        'campaign_previews',
        'contacts',
        'customer_holdings',
        'customer_story',
        'dial_attempts',
        'wrap_up_verdicts',
      ].sort(),
    );
    expect(checks.map((c) => `${c.table} ${c.partition}`)).toEqual([
      'call_facts 202610',
      'call_facts 202611',
      'call_rollup_15m 202610',
      'call_rollup_15m 202611',
      'contacts 202610',
      'contacts 202611',
      'customer_holdings all',
      'customer_story 2026',
    ]);
    const rollup = checks.find((c) => c.table === 'call_rollup_15m' && c.partition === '202611')!;
    expect(rollup.stored.rows).toBeLessThan(rollup.computed.rows);
    // The control database, which lost nothing, has nothing to repair.
    expect(differing(await checkDerivedTables(clickhouseAs('admin'), control.database))).toEqual(
      [],
    );
  });

  it('ccfed derived check names them too, with exit 1', async () => {
    const r = await ccfed(damaged.database, 'derived', 'check');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(
        / {2}call_facts {2}partition 202611 {2}\d+ rows stored, \d+ computed by its views$/,
      ),
      expect.stringMatching(/ {2}call_rollup_15m {2}partition 202611 {2}/),
      expect.stringMatching(/ {2}contacts {2}partition 202611 {2}/),
    ]);
    expect(r.stderr).toContain('8 partitions looked at, 3 differ from what their views compute');
  });

  it('refuses an unknown table or partition, and a read-only user', async () => {
    const admin = clickhouseAs('admin');
    await expect(
      checkDerivedTables(admin, damaged.database, { table: 'call_events' }),
    ).rejects.toThrow(
      /call_events is not a table that materialized views fill; those are: .*call_rollup_15m/,
    );
    await expect(
      repairDerivedTables(admin, damaged.database, {
        table: 'call_rollup_15m',
        partition: '202512',
      }),
    ).rejects.toThrow(/has no partition "202512".*202610, 202611/);
    await expect(
      repairDerivedTables(admin, damaged.database, { partition: '202611' }),
    ).rejects.toBeInstanceOf(DerivedTableError);
    await expect(
      repairDerivedTables(admin, damaged.database, { table: 'x; DROP TABLE call_events' }),
    ).rejects.toBeInstanceOf(DerivedTableError);
    await expect(repairDerivedTables(clickhouseAs('api'), damaged.database)).rejects.toThrow(
      /is read-only .*admin/,
    );
  });

  it('repairs exactly those partitions; every figure is exact after; a second run changes nothing', async () => {
    const stagingLeft = () =>
      rows(
        damaged.client,
        `SELECT name FROM system.tables WHERE database = '${damaged.database}' AND name LIKE '%_rebuild_%'`,
      );
    const repairs = await repairDerivedTables(clickhouseAs('admin'), damaged.database);
    expect(
      repairs
        .filter((r) => r.action !== 'kept')
        .map((r) => `${r.table} ${r.partition} ${r.action}`),
    ).toEqual([
      'call_facts 202611 replaced',
      'call_rollup_15m 202611 replaced',
      'contacts 202611 replaced',
    ]);
    expect(await figures(damaged.client)).toEqual(expected);
    expect(differing(await checkDerivedTables(clickhouseAs('admin'), damaged.database))).toEqual(
      [],
    );

    const again = await ccfed(damaged.database, 'derived', 'repair', '--json');
    expect(again.code, again.stderr).toBe(0);
    const actions = again.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { action: string }).action);
    expect(actions).toEqual(Array(8).fill('kept'));
    expect(again.stderr).toContain('8 partitions looked at, 0 repaired');
    expect(await figures(damaged.client)).toEqual(expected);
    expect(await stagingLeft()).toEqual([]);
  });

  it('a partition the views compute nothing for is dropped', async () => {
    // A rollup row no event accounts for (e.g. written by hand): the check sees it, the repair
    // drops the partition it sits alone in.
    await damaged.client.insert({
      table: 'call_rollup_15m',
      values: [
        {
          bucket: '2025-01-01 00:00:00',
          tenant_id: 't1',
          site_id: 'site-a',
          skill: 'billing',
          offered: 3,
        },
      ],
      format: 'JSONEachRow',
    });
    const scope = { table: 'call_rollup_15m', partition: '202501' };
    expect(
      differing(await checkDerivedTables(clickhouseAs('admin'), damaged.database, scope)),
    ).toEqual(['call_rollup_15m 202501']);
    const [repair] = await repairDerivedTables(clickhouseAs('admin'), damaged.database, scope);
    expect(repair).toMatchObject({ action: 'dropped', computed: { rows: 0 } });
    expect(await figures(damaged.client)).toEqual(expected);
  });

  it('its SQL runs on current ClickHouse too (chdb)', async () => {
    // The statements built from what 18.16 reports about the schema, run on a current server
    // holding the same schema (same database name) and a few rows.
    const tables = await derivedTables(damaged.client, damaged.database);
    const HAS_ROWS = new Set(['call_facts', 'call_rollup_15m', 'contacts', 'customer_story']);
    const db = damaged.database;
    const statements = tables.flatMap((t) => {
      const staging = `${t.name}_rebuild_chdb`;
      const p = t.partitionKey === '' ? 'all' : t.name === 'customer_story' ? '2026' : '202611';
      return [
        partsQuery(t),
        ...t.views.map((v) => viewPartitionsSql(t, v)),
        createStagingSql(t, staging),
        ...rebuildSql(t, staging, p),
        fingerprintSql(t, staging, p),
        fingerprintSql(t, t.name, p),
        // Current ClickHouse refuses REPLACE PARTITION from an empty one (18.16 takes it);
        // repairDerivedTables drops a partition the views compute nothing for instead.
        HAS_ROWS.has(t.name) ? replacePartitionSql(t, staging, p) : dropPartitionSql(t, t.name, p),
        dropPartitionSql(t, staging, p),
        dropStagingSql(t, staging),
      ].map((sql, i) => ({ name: `${t.name} #${i + 1}`, sql }));
    });
    await assertRunsOnCurrentClickHouse(
      [
        `CREATE DATABASE ${db}`,
        `USE ${db}`,
        ...readMigrations().flatMap((m) => m.statements),
        `INSERT INTO call_events FORMAT JSONEachRow ${BATCH_A.slice(0, 8)
          .map((r) => JSON.stringify(r))
          .join(' ')}`,
      ],
      [
        { name: 'tables', sql: tablesQuery(db) },
        { name: 'columns', sql: columnsQuery(db) },
        { name: 'readonly', sql: READONLY_QUERY },
        ...statements,
      ],
    );

    // Current ClickHouse writes a view's definition over several lines: the same parse finds
    // its target and SELECT.
    const results = await runOnCurrentClickHouse([
      ...migratedDatabaseSetup(),
      "SELECT name, create_table_query FROM system.tables WHERE database = 'ccfed' AND engine = 'MaterializedView' ORDER BY name",
    ]);
    const last = results.at(-1)!;
    if (!last.ok) throw new Error(last.error);
    const parsed = last.rows.map((r) => {
      const mv = parseMaterializedView(String(r.create_table_query));
      return `${String(r.name)} → ${mv?.database}.${mv?.table} ${mv?.select.slice(0, 7)}`;
    });
    expect(parsed).toContain('call_rollup_15m_mv → ccfed.call_rollup_15m SELECT ');
    expect(parsed).toHaveLength(14);
    expect(parsed.every((p) => / → ccfed\.\w+ SELECT $/.test(p))).toBe(true);
  });
});
