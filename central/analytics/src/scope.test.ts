import { describe, expect, it } from 'vitest';
import { scopeCondition } from './scope.js';

const columns = { site: 'site_id', tenant: 'tenant_id' };

describe('scopeCondition', () => {
  it('lets HQ see everything and pins a site supervisor or a tenant client to their own rows', () => {
    expect(scopeCondition({ role: 'hq' }, columns).text).toBe('1');
    expect(scopeCondition({ role: 'site', siteId: 'beijing' }, columns).text).toBe(
      "`site_id` = 'beijing'",
    );
    expect(scopeCondition({ role: 'tenant', tenantId: 'acme-bank' }, columns).text).toBe(
      "`tenant_id` = 'acme-bank'",
    );
  });

  it('escapes a hostile id instead of letting it out of the literal', () => {
    const text = scopeCondition({ role: 'tenant', tenantId: "x' OR 1=1 --" }, columns).text;
    expect(text).toBe("`tenant_id` = 'x\\' OR 1=1 --'");
  });

  it('refuses a column name that is not a plain identifier', () => {
    expect(() => scopeCondition({ role: 'hq' }, { site: 'a;b', tenant: 't' })).not.toThrow();
    expect(() =>
      scopeCondition({ role: 'site', siteId: 'bj' }, { site: 'site_id); DROP', tenant: 't' }),
    ).toThrow(/not a valid ClickHouse identifier/);
  });
});
