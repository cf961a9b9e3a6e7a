import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { topologySchema, type Topology } from './schema.js';

/** One thing wrong with a topology file: where (a path like `sites[1].agents[0].skills`) and what. */
export interface TopologyIssue {
  readonly path: string;
  readonly message: string;
}

/** A topology file that cannot be used. The message names the file and every problem in it. */
export class TopologyError extends Error {
  constructor(
    readonly file: string,
    readonly issues: readonly TopologyIssue[],
  ) {
    const lines = issues.map((i) => `  ${file}: ${i.path ? `${i.path}: ` : ''}${i.message}`);
    super(`invalid topology file ${file}:\n${lines.join('\n')}`);
    this.name = 'TopologyError';
  }
}

/** Reads and validates a topology file; throws TopologyError naming the file and each path. */
export function loadTopology(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TopologyError(file, [{ path: '', message: `cannot read the file (${reason})` }]);
  }
  return parseTopology(text, file);
}

/** Validates topology YAML text; `file` is only used to name the source in errors. */
export function parseTopology(text: string, file: string): Topology {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new TopologyError(
      file,
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        const where = at ? `line ${at.line}, column ${at.col}` : '';
        return { path: where, message: `YAML syntax error: ${firstLine(e.message)}` };
      }),
    );
  }
  const result = topologySchema.safeParse(doc.toJS(), { reportInput: true });
  if (!result.success) {
    throw new TopologyError(file, result.error.issues.map(describeIssue));
  }
  return deepFreeze(result.data);
}

function describeIssue(issue: z.core.$ZodIssue): TopologyIssue {
  const path = formatPath(issue.path);
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) {
      return { path, message: `required field is missing (expected ${issue.expected})` };
    }
    return { path, message: `expected ${issue.expected}, got ${describeValue(issue.input)}` };
  }
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return { path, message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}` };
  }
  if (
    issue.code === 'invalid_union' &&
    'note' in issue &&
    issue.note === 'No matching discriminator'
  ) {
    return { path, message: `${issue.message}` };
  }
  return { path, message: issue.message };
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
