// react-admin's data access over the API. Each list resource is one GET route answering
// { rows }; the filter becomes its query string. The server already cut the rows to the caller's
// scope: the console shows what it gets and nothing else. The one editable record is the routing
// policy (routing-policy-page.tsx): getOne and update of resource "routing-policy", id "current".
import {
  HttpError,
  type DataProvider,
  type GetListResult,
  type GetOneResult,
  type RaRecord,
  type UpdateParams,
  type UpdateResult,
} from 'react-admin';
import { ApiError, apiGet, apiPut, type FieldProblem } from './session.js';

/** The routing policy's resource name, and the id of its one record. */
export const ROUTING_POLICY = { resource: 'routing-policy', id: 'current' } as const;

/** Resource name → API path. */
export const RESOURCE_PATHS: Readonly<Record<string, string>> = {
  kpis: '/kpis',
  callbacks: '/churn/callbacks',
  'cross-sell': '/cross-sell/rules',
  satisfaction: '/satisfaction',
  decisions: '/routing/decisions',
  recordings: '/recordings',
  staffing: '/staffing',
  'churn-models': '/churn/models',
  retention: '/retention/uplift',
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

async function getPolicy(resource: string): Promise<GetOneResult> {
  if (resource !== ROUTING_POLICY.resource) readOnly();
  const doc = await apiGet<Record<string, unknown>>('/routing-policy');
  return { data: { ...doc, id: ROUTING_POLICY.id } };
}

/**
 * PUT the edited policy, based on the version the form was loaded with. A 400's problems become
 * react-admin's submission errors, so each shows under its field (`skills.sales.thresholdSeconds`);
 * the page shows the whole message above the form.
 */
async function updatePolicy(resource: string, params: UpdateParams): Promise<UpdateResult> {
  if (resource !== ROUTING_POLICY.resource) readOnly();
  const d = params.data as Record<string, unknown>;
  const edit = {
    version: d.version,
    skills: withoutEmptyAskAfter(d.skills),
    sites: d.sites,
    staleAfterSeconds: d.staleAfterSeconds,
    reservationTimeoutSeconds: d.reservationTimeoutSeconds,
    tenantExclusions: d.tenantExclusions,
  };
  try {
    const doc = await apiPut<Record<string, unknown>>('/routing-policy', edit);
    return { data: { ...doc, id: ROUTING_POLICY.id } };
  } catch (err) {
    if (err instanceof ApiError && err.details.length > 0)
      throw new HttpError(err.message, err.status, { errors: submissionErrors(err) });
    throw err;
  }
}

/** An emptied "ask after waiting" field means the skill has none (the field is optional). */
function withoutEmptyAskAfter(skills: unknown): unknown {
  if (typeof skills !== 'object' || skills === null) return skills;
  return Object.fromEntries(
    Object.entries(skills as Record<string, Record<string, unknown>>).map(([id, s]) => {
      if (typeof s !== 'object' || s === null) return [id, s];
      const { askAfterWaitingSeconds, ...rest } = s;
      return [
        id,
        askAfterWaitingSeconds === null || askAfterWaitingSeconds === undefined
          ? rest
          : { ...rest, askAfterWaitingSeconds },
      ];
    }),
  );
}

/** `a.b.c: message` problems as the nested object react-admin's setSubmissionErrors expects. */
function submissionErrors(err: ApiError): Record<string, unknown> {
  const errors: Record<string, unknown> = {};
  for (const { field, message } of err.details as FieldProblem[])
    place(errors, field.split('.'), message);
  return errors;
}

/** Puts `message` at `path`; where a message already sits on the way, the first one stays. */
function place(into: Record<string, unknown>, path: readonly string[], message: string): void {
  const [key, ...rest] = path;
  if (key === undefined) return;
  const here = into[key];
  if (rest.length === 0) {
    if (here === undefined) into[key] = message;
    return;
  }
  if (typeof here === 'string') return;
  place((into[key] ??= {}) as Record<string, unknown>, rest, message);
}

export const dataProvider: DataProvider = {
  getList: (resource, params) => list(resource, params.filter ?? {}),
  getOne: (resource) => getPolicy(resource),
  getMany: readOnly,
  getManyReference: readOnly,
  create: readOnly,
  update: (resource, params) => updatePolicy(resource, params),
  updateMany: readOnly,
  delete: readOnly,
  deleteMany: readOnly,
};
