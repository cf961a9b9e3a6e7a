// react-admin's data access over the API's GET routes. Each resource is one route answering
// { rows }; the filter becomes its query string. The server already cut the rows to the caller's
// scope: the console shows what it gets and nothing else. Everything is read only for now.
import type { DataProvider, GetListResult, RaRecord } from 'react-admin';
import { apiGet } from './session.js';

/** Resource name → API path. */
export const RESOURCE_PATHS: Readonly<Record<string, string>> = {
  kpis: '/kpis',
  callbacks: '/churn/callbacks',
  'cross-sell': '/cross-sell/rules',
  satisfaction: '/satisfaction',
  decisions: '/routing/decisions',
};

function readOnly(): never {
  throw new Error('the console is read only');
}

async function list(resource: string, filter: Record<string, unknown>): Promise<GetListResult> {
  const path = RESOURCE_PATHS[resource];
  if (!path) throw new Error(`unknown resource ${resource}`);
  const params = Object.fromEntries(
    Object.entries(filter)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => [k, String(v)]),
  );
  const { rows } = await apiGet<{ rows: Record<string, unknown>[] }>(path, params);
  const data: RaRecord[] = rows.map((row, i) => ({ id: i, ...row }));
  return { data, total: data.length };
}

export const dataProvider: DataProvider = {
  getList: (resource, params) => list(resource, params.filter ?? {}),
  getOne: readOnly,
  getMany: readOnly,
  getManyReference: readOnly,
  create: readOnly,
  update: readOnly,
  updateMany: readOnly,
  delete: readOnly,
  deleteMany: readOnly,
};
