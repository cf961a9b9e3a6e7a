// Which generated benchmark data a later run may reuse: data under an earlier schema is upgraded
// by the migrations added since; data under a schema whose applied migrations changed is not.
import { readMigrations } from '@ccfed/services';
import { describe, expect, it } from 'vitest';
import { schemaDigest, upgradableFrom } from './load.js';

describe('upgradableFrom', () => {
  const all = readMigrations();

  it('accepts data generated under today’s migrations, or under the first few of them', () => {
    expect(upgradableFrom(schemaDigest(), all)).toBe(true);
    expect(upgradableFrom(schemaDigest(all.slice(0, all.length - 2)), all)).toBe(true);
  });

  it('refuses data generated under a migration that has since changed, or another schema', () => {
    const edited = all.map((m, i) =>
      i === 3 ? { ...m, statements: [...m.statements, 'SELECT 1'] } : m,
    );
    expect(upgradableFrom(schemaDigest(edited.slice(0, 5)), all)).toBe(false);
    expect(upgradableFrom('0000000000000000', all)).toBe(false);
  });
});
