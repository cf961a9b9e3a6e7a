// The migration runner on the real 18.16 server: applies what is missing, in order, once; and
// refuses a database whose applied migrations no longer match the files.
import { createClient } from '@clickhouse/client';
import { migrate, readMigrations, type Migration } from '@ccfed/services';
import { describe, expect, it } from 'vitest';
import { clickhouseUrl, rows, uniqueName } from '../support/engines.js';

describe('migrate', () => {
  it('applies every migration once; running it again applies nothing', async () => {
    const database = uniqueName('db');
    const all = readMigrations();
    expect(await migrate(clickhouseUrl(), database)).toEqual(all.map((m) => m.version));
    expect(await migrate(clickhouseUrl(), database)).toEqual([]);
    const client = createClient({ url: clickhouseUrl(), database });
    try {
      const tables = await rows<{ name: string }>(client, 'SHOW TABLES');
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['call_events', 'calls', 'call_rollup_15m', 'agent_rollup_15m']),
      );
    } finally {
      await client.close();
    }
  });

  it('refuses a database where an applied migration has since changed, naming it', async () => {
    const database = uniqueName('db');
    const original = readMigrations();
    await migrate(clickhouseUrl(), database, original);
    const edited: Migration[] = original.map((m) =>
      m.version === 1 ? { ...m, checksum: 'something-else' } : m,
    );
    await expect(migrate(clickhouseUrl(), database, edited)).rejects.toThrow(
      /migration 1 \(call_events\) was applied with different SQL/,
    );
  });
});
