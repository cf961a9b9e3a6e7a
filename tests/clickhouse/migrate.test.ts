// The migration runner on the real 18.16 server: applies what is missing, in order, once; and
// refuses a database whose applied migrations no longer match the files.
import { migrate, readMigrations, type Migration } from '@ccfed/services';
import { describe, expect, it } from 'vitest';
import { clickhouseAs, clickhouseClient, rows, uniqueName } from '../support/engines.js';

describe('migrate', () => {
  it('applies every migration once; running it again applies nothing', async () => {
    const database = uniqueName('db');
    const all = readMigrations();
    expect(await migrate(clickhouseAs('admin'), database)).toEqual(all.map((m) => m.version));
    expect(await migrate(clickhouseAs('admin'), database)).toEqual([]);
    const client = clickhouseClient('admin', database);
    try {
      const tables = await rows<{ name: string }>(client, 'SHOW TABLES');
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['call_events', 'calls', 'call_rollup_15m', 'agent_rollup_15m']),
      );
    } finally {
      await client.close();
    }
  });

  it('fills contacts (migration 023) with the calls stored before it, once however often it runs', async () => {
    const database = uniqueName('db');
    const all = readMigrations();
    await migrate(
      clickhouseAs('admin'),
      database,
      all.filter((m) => m.version < 23),
    );
    const client = clickhouseClient('admin', database);
    // Rows as the ingester wrote them before CallEvent named the caller on every event: the
    // customer and the arrival on the offered event only.
    const row = (callId: string, kind: string, time: string, extra: Record<string, unknown>) => ({
      event_id: `${callId}-${kind}`,
      tenant_id: 't1',
      site_id: 'site-a',
      call_id: callId,
      kind,
      event_time: time,
      event_date: time.slice(0, 10),
      skill: 'billing',
      arrival_time: '1970-01-01 00:00:00',
      ...extra,
    });
    try {
      await client.insert({
        table: 'call_events',
        format: 'JSONEachRow',
        values: [
          row('old-1', 'offered', '2026-03-09 10:00:00', {
            customer_id: 'cust-1',
            arrival_time: '2026-03-09 10:00:00',
          }),
          row('old-1', 'answered', '2026-03-09 10:00:12', { wait_ms: 12_000 }),
          row('old-2', 'offered', '2026-03-10 10:00:00', {
            caller_hash: 'h-2',
            arrival_time: '2026-03-10 10:00:00',
          }),
          row('old-2', 'abandoned', '2026-03-10 10:00:02', {
            wait_ms: 2_000,
            by_caller: 1,
            short_abandon_ms: 5_000,
          }),
          // Still queued: not a contact yet. Anonymous: never one.
          row('old-3', 'offered', '2026-03-10 11:00:00', { customer_id: 'cust-3' }),
          row('old-4', 'offered', '2026-03-10 12:00:00', {}),
          row('old-4', 'answered', '2026-03-10 12:00:05', { wait_ms: 5_000 }),
        ],
      });
      const contacts = () =>
        rows<Record<string, unknown>>(
          client,
          `SELECT arrival_time, site_id, answered, short_abandon,
                  contact_key = cityHash64('t1', 'billing', 'c:cust-1') AS by_customer,
                  contact_key = cityHash64('t1', 'billing', 'h:h-2') AS by_hash
           FROM contacts ORDER BY arrival_time`,
        );
      expect(await migrate(clickhouseAs('admin'), database)).toEqual([
        23,
        ...all.filter((m) => m.version > 23).map((m) => m.version),
      ]);
      const expected = [
        {
          arrival_time: '2026-03-09 10:00:00',
          site_id: 'site-a',
          answered: 1,
          short_abandon: 0,
          by_customer: 1,
          by_hash: 0,
        },
        {
          arrival_time: '2026-03-10 10:00:00',
          site_id: 'site-a',
          answered: 0,
          short_abandon: 1,
          by_customer: 0,
          by_hash: 1,
        },
      ];
      expect(await contacts()).toEqual(expected);
      // Run again (as after a migration cut short): the calls already there are skipped.
      const backfill = all
        .find((m) => m.version === 23)!
        .statements.filter((st) => st.startsWith('INSERT'));
      for (const statement of backfill) await client.command({ query: statement });
      expect(await contacts()).toEqual(expected);
    } finally {
      await client.close();
    }
  });

  it('refuses a database where an applied migration has since changed, naming it', async () => {
    const database = uniqueName('db');
    const original = readMigrations();
    await migrate(clickhouseAs('admin'), database, original);
    const edited: Migration[] = original.map((m) =>
      m.version === 1 ? { ...m, checksum: 'something-else' } : m,
    );
    await expect(migrate(clickhouseAs('admin'), database, edited)).rejects.toThrow(
      /migration 1 \(call_events\) was applied with different SQL/,
    );
  });
});
