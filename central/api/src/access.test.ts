import { describe, expect, it } from 'vitest';
import {
  supervisorPrincipal,
  monitorPrincipal,
  refuseForeign,
  refuseRecordingOutOfScope,
  scopeFor,
} from './access.js';
import { HttpError } from './http/errors.js';

describe('access', () => {
  it('maps each role to its Scope', () => {
    expect(scopeFor({ sub: 'a', role: 'hq', exp: 1 })).toEqual({ role: 'hq' });
    expect(scopeFor({ sub: 'a', role: 'site', siteId: 'gz', exp: 1 })).toEqual({
      role: 'site',
      siteId: 'gz',
    });
    expect(scopeFor({ sub: 'a', role: 'tenant', tenantId: 'acme', exp: 1 })).toEqual({
      role: 'tenant',
      tenantId: 'acme',
    });
  });

  const refusal = (f: () => void) => {
    try {
      f();
    } catch (err) {
      return err as HttpError;
    }
    return undefined;
  };

  it('refuses a site supervisor naming another site, and names it', () => {
    const err = refusal(() =>
      refuseForeign({ role: 'site', siteId: 'gz' }, { sites: ['gz', 'cd', 'sz'] }),
    );
    expect(err).toBeInstanceOf(HttpError);
    expect(err?.status).toBe(403);
    expect(err?.message).toBe('the supervisor of site gz may not read site cd, sz');
  });

  it('refuses a tenant naming another tenant, but lets it name any site', () => {
    const err = refusal(() =>
      refuseForeign({ role: 'tenant', tenantId: 'acme' }, { tenants: ['globex'] }),
    );
    expect(err?.status).toBe(403);
    expect(err?.message).toBe('tenant acme may not read tenant globex');
    expect(
      refusal(() => refuseForeign({ role: 'tenant', tenantId: 'acme' }, { sites: ['gz', 'cd'] })),
    ).toBeUndefined();
  });

  it('lets each role name its own, a site supervisor any tenant, and HQ anything', () => {
    expect(
      refusal(() =>
        refuseForeign({ role: 'site', siteId: 'gz' }, { sites: ['gz'], tenants: ['x', 'y'] }),
      ),
    ).toBeUndefined();
    expect(
      refusal(() => refuseForeign({ role: 'tenant', tenantId: 'acme' }, { tenants: ['acme'] })),
    ).toBeUndefined();
    expect(
      refusal(() => refuseForeign({ role: 'hq' }, { sites: ['a', 'b'], tenants: ['c'] })),
    ).toBeUndefined();
  });

  it('lets HQ hear every recording, a site supervisor its site’s, a tenant client its own', () => {
    const rec = { recordingId: 'r1', siteId: 'gz', tenantId: 'acme' };
    const hear = (scope: Parameters<typeof refuseRecordingOutOfScope>[0]) =>
      refusal(() => refuseRecordingOutOfScope(scope, rec));
    expect(hear({ role: 'hq' })).toBeUndefined();
    expect(hear({ role: 'site', siteId: 'gz' })).toBeUndefined();
    expect(hear({ role: 'tenant', tenantId: 'acme' })).toBeUndefined();
    expect(hear({ role: 'site', siteId: 'sh' })?.message).toBe(
      'the supervisor of site sh may not hear recording r1, kept at site gz',
    );
    const foreign = hear({ role: 'tenant', tenantId: 'globex' });
    expect(foreign?.status).toBe(403);
    expect(foreign?.message).toBe('tenant globex may not hear recording r1 of another tenant');
  });
});

describe('monitorPrincipal', () => {
  const exp = 0;
  it('makes a site supervisor its site supervisor there only, a tenant client its tenant supervisor anywhere', () => {
    expect(monitorPrincipal({ sub: 's', role: 'site', siteId: 'beijing', exp }, 'beijing')).toEqual(
      { kind: 'supervisor', site: 'beijing' },
    );
    expect(() =>
      monitorPrincipal({ sub: 's', role: 'site', siteId: 'beijing', exp }, 'shanghai'),
    ).toThrow(/may not listen to calls at site shanghai/);
    expect(
      monitorPrincipal({ sub: 't', role: 'tenant', tenantId: 'acme-bank', exp }, 'shanghai'),
    ).toEqual({ kind: 'supervisor', site: 'shanghai', tenant: 'acme-bank' });
    expect(() => monitorPrincipal({ sub: 'h', role: 'hq', exp }, 'beijing')).toThrow(
      /role hq may not listen/,
    );
  });
});

describe('supervisorPrincipal', () => {
  const exp = 0;
  it("asks as the site's supervisor for HQ and that site's own, as the tenant's supervisor for a tenant, never for an agent", () => {
    expect(supervisorPrincipal({ sub: 'h', role: 'hq', exp }, 'beijing', 'callbacks')).toEqual({
      kind: 'supervisor',
      site: 'beijing',
    });
    expect(
      supervisorPrincipal(
        { sub: 's', role: 'site', siteId: 'beijing', exp },
        'beijing',
        'callbacks',
      ),
    ).toEqual({ kind: 'supervisor', site: 'beijing' });
    expect(() =>
      supervisorPrincipal(
        { sub: 's', role: 'site', siteId: 'beijing', exp },
        'shanghai',
        'callbacks',
      ),
    ).toThrow(/may not manage callbacks at site shanghai/);
    expect(
      supervisorPrincipal(
        { sub: 't', role: 'tenant', tenantId: 'acme-bank', exp },
        'shanghai',
        'callbacks',
      ),
    ).toEqual({ kind: 'supervisor', site: 'shanghai', tenant: 'acme-bank' });
    expect(() =>
      supervisorPrincipal(
        { sub: 'a', role: 'agent', siteId: 'beijing', agentId: 'bj-001', exp },
        'beijing',
        'campaigns',
      ),
    ).toThrow(/agent bj-001 may not manage campaigns: supervisors do/);
  });
});
