// Who is asking, and what rows that lets them see. Every analytics query takes a Scope and puts
// scopeCondition() into its WHERE clause, so a tenant client or a site supervisor can never read
// another's rows, whatever filters the request carries: the server enforces it, not the console.
import { ident, raw, sql, type Sql } from '@ccfed/common';

export type Scope =
  /** An HQ manager: every site, every tenant. */
  | { readonly role: 'hq' }
  /** A site supervisor: the calls, agents and status of one site. */
  | { readonly role: 'site'; readonly siteId: string }
  /** An outsourcing client: the calls and seats of its own tenant only, at every site. */
  | { readonly role: 'tenant'; readonly tenantId: string };

/** The columns that carry site and tenant in the table a query reads. */
export interface ScopedColumns {
  readonly site: string;
  readonly tenant: string;
}

/**
 * The SQL condition that restricts rows to what the scope may see. For a call overflowed from A
 * to B, a site supervisor sees the rows each site wrote itself (pass the column of the site that
 * wrote the row, e.g. site_id or handling_site_id).
 */
export function scopeCondition(scope: Scope, columns: ScopedColumns): Sql {
  switch (scope.role) {
    case 'hq':
      return raw('1');
    case 'site':
      return sql`${ident(columns.site)} = ${scope.siteId}`;
    case 'tenant':
      return sql`${ident(columns.tenant)} = ${scope.tenantId}`;
  }
}
