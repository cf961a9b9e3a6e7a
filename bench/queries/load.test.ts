// Which generated benchmark data a later run may reuse: data under an earlier schema is upgraded
// by the migrations added since; data under a schema whose applied migrations changed is not.
import { readMigrations } from '@ccfed/services';
import { describe, expect, it } from 'vitest';
import { schemaDigest, upgradableDigests } from './load.js';

describe('upgradableDigests', () => {
  const all = readMigrations();

  it('accepts data generated under today’s migrations, or under the first few of them', () => {
    expect(upgradableDigests(all).has(schemaDigest())).toBe(true);
    expect(upgradableDigests(all).has(schemaDigest(all.slice(0, all.length - 2)))).toBe(true);
  });

  it('refuses data generated under a migration that has since changed, or another schema', () => {
    const edited = all.map((m, i) =>
      i === 3 ? { ...m, statements: [...m.statements, 'SELECT 1'] } : m,
    );
    expect(upgradableDigests(all).has(schemaDigest(edited.slice(0, 5)))).toBe(false);
    expect(upgradableDigests(all).has('0000000000000000')).toBe(false);
  });
});
