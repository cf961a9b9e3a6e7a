// A released migration must never change: migrate() refuses a database that applied it with other
// SQL. Comments may be reworded (they are not part of the SQL), but a line added inside a
// statement changes it. This pins every migration's checksum to services/clickhouse/migrations.sums.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readMigrations } from './migrate.js';

const SUMS = new URL('../../clickhouse/migrations.sums', import.meta.url).pathname;

function released(): Map<number, { name: string; checksum: string }> {
  const sums = new Map<number, { name: string; checksum: string }>();
  for (const line of readFileSync(SUMS, 'utf8').split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [version, name, checksum] = line.split(' ');
    sums.set(Number(version), { name: name!, checksum: checksum! });
  }
  return sums;
}

describe('released migrations', () => {
  it('keep the SQL they were released with, and every migration is listed', () => {
    const sums = released();
    const changed = readMigrations()
      .filter((m) => sums.get(m.version)?.checksum !== m.checksum)
      .map(
        (m) =>
          `${m.version} (${m.name}): ${sums.has(m.version) ? 'its SQL changed since it was released' : `not in migrations.sums; add "${String(m.version).padStart(3, '0')} ${m.name} ${m.checksum}"`}`,
      );
    expect(changed).toEqual([]);
  });
});
